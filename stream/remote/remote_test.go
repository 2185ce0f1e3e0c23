package remote

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/streamtest/streamtest/stream"
)

func unitParams(s *testServer) stream.Values {
	return stream.Values{
		"host":        "127.0.0.1",
		"port":        s.port(),
		"user":        "tester",
		"key":         []string{s.clientKey},
		"known_hosts": []string{s.knownHosts},
		"ssh_config":  "",
	}
}

func newUnitEnv(t *testing.T, p stream.Values) (*Env, *logBuf) {
	t.Helper()
	var log logBuf
	env, err := New(stream.Config{ID: "1", Type: "remote", Params: p, Logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	e := env.(*Env)
	t.Cleanup(func() { e.Close() })
	return e, &log
}

func TestRegistered(t *testing.T) {
	for _, name := range []string{"remote", "ssh"} {
		r, ok := stream.Lookup(name)
		if !ok || r.Name != "remote" {
			t.Fatalf("type %s: %v %q", name, ok, r.Name)
		}
	}
	r, _ := stream.Lookup("remote")
	want := map[string]stream.Kind{
		"host": stream.String, "port": stream.Int, "user": stream.String, "key": stream.Strings,
		"password": stream.Secret, "agent": stream.Bool, "known_hosts": stream.Strings,
		"insecure_ignore_host_key": stream.Bool, "connect_timeout": stream.Duration,
		"keepalive": stream.Duration, "ssh_config": stream.Path, "net_admin": stream.String,
		"max_sessions": stream.Int,
	}
	for name, kind := range want {
		p, ok := r.Param(name)
		if !ok || p.Kind != kind || p.Doc == "" {
			t.Errorf("param %s: %v, kind %v, doc %q; want kind %v", name, ok, p.Kind, p.Doc, kind)
		}
	}
	if len(r.Params) != len(want) {
		t.Errorf("%d params declared, want %d", len(r.Params), len(want))
	}
}

func TestNewErrors(t *testing.T) {
	_, err := New(stream.Config{ID: "db", Type: "remote", Params: stream.Values{}})
	var se *stream.Error
	if err == nil || errors.As(err, &se) || err.Error() != "parameter host is required" {
		t.Errorf("no host: %#v; want the cause alone", err)
	}
}

func TestUnitRun(t *testing.T) {
	srv := newTestServer(t)
	e, _ := newUnitEnv(t, unitParams(srv))
	ctx := context.Background()
	if err := e.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if e.Host() != "127.0.0.1" {
		t.Errorf("Host() = %q", e.Host())
	}
	var out bytes.Buffer
	p, err := e.Start(ctx, &stream.Command{Args: []string{"sh", "-c", `printf '%s' "$X"; pwd; exit 4`}, Env: []string{"X=a 'b' $c"}, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	x, err := p.Wait()
	if err != nil || x.Code != 4 || out.String() != "a 'b' $c"+e.WorkDir()+"\n" {
		t.Errorf("exit %+v, %v, stdout %q", x, err, out.String())
	}

	// Send, then a gated run of what was sent.
	src := filepath.Join(t.TempDir(), "s.sh")
	os.WriteFile(src, []byte("#!/bin/sh\necho sent\n"), 0o750)
	if err := e.Send(ctx, src, "sub/s.sh"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(e.WorkDir(), "sub", "s.sh"))
	if err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("sent file: %v, %v", fi, err)
	}
	out.Reset()
	p, err = e.Start(ctx, &stream.Command{Args: []string{"./sub/s.sh"}, Gated: true, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Release(); err != nil {
		t.Fatal(err)
	}
	if x, err := p.Wait(); err != nil || !x.Success() || out.String() != "sent\n" {
		t.Errorf("gated: %+v, %v, %q", x, err, out.String())
	}

	// Stop kills the tree.
	m := marker()
	p = sleeper(t, e, m)
	if err := stream.Stop(p, time.Second); err != nil {
		t.Fatal(err)
	}
	if x, _ := p.Wait(); x.Signal != syscall.SIGTERM {
		t.Errorf("stopped: %+v", x)
	}
	waitGone(t, "sleep "+m, 2*time.Second, "after Stop")

	// Close kills what runs and removes the work directory.
	m = marker()
	sleeper(t, e, m)
	base := filepath.Dir(e.WorkDir())
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "sleep "+m, 2*time.Second, "after Close")
	if remoteExists(base) {
		t.Errorf("%s left behind", base)
	}
}

func TestUnitConnectionDrop(t *testing.T) {
	srv := newTestServer(t)
	p := unitParams(srv)
	p["keepalive"] = 200 * time.Millisecond
	e, _ := newUnitEnv(t, p)
	if err := e.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := marker()
	proc := sleeper(t, e, m)
	base := filepath.Dir(e.WorkDir())
	srv.dropAll()
	_, err := proc.Wait()
	if err == nil || !strings.HasPrefix(err.Error(), "connection lost to 127.0.0.1:") {
		t.Errorf("Wait: %v", err)
	}
	waitGone(t, "sleep "+m, 5*time.Second, "after the connection dropped")
	deadline := time.Now().Add(5 * time.Second)
	for remoteExists(base) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if remoteExists(base) {
		t.Errorf("%s left behind", base)
	}
}

func TestUnitAuth(t *testing.T) {
	srv := newTestServer(t)
	const wrong = "Wrong-Secret-41c9"
	type testCase struct {
		name string
		set  func(stream.Values)
		ok   bool
	}
	tests := []testCase{
		{"key", func(stream.Values) {}, true},
		{"password", func(v stream.Values) { delete(v, "key"); v["password"] = srv.password }, true},
		{"wrong password", func(v stream.Values) { delete(v, "key"); v["password"] = wrong }, false},
		{"missing key file", func(v stream.Values) { v["key"] = []string{"/nonexistent/id"} }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := unitParams(srv)
			tc.set(p)
			e, log := newUnitEnv(t, p)
			err := e.Setup(context.Background())
			if (err == nil) != tc.ok {
				t.Fatalf("Setup: %v", err)
			}
			if err != nil {
				var se *stream.Error
				if errors.As(err, &se) || strings.HasPrefix(err.Error(), "stream ") {
					t.Errorf("not a cause: %#v", err)
				}
				for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), log.String()} {
					if strings.Contains(s, wrong) || strings.Contains(s, srv.password) {
						t.Errorf("a password shows: %s", s)
					}
				}
			}
		})
	}
}

func TestUnitHostKey(t *testing.T) {
	srv := newTestServer(t)
	dir := t.TempDir()
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := ssh.NewSignerFromKey(other)
	changed := filepath.Join(dir, "changed")
	os.WriteFile(changed, []byte(knownhosts.Line([]string{srv.addr}, otherSigner.PublicKey())+"\n"), 0o644)
	fp := ssh.FingerprintSHA256(srv.hostKey.PublicKey())
	hostport := "[127.0.0.1]:" + fmt.Sprint(srv.port())

	p := unitParams(srv)
	p["known_hosts"] = []string{changed}
	e, _ := newUnitEnv(t, p)
	err := e.Setup(context.Background())
	var he *HostKeyError
	if !errors.As(err, &he) || !he.Changed {
		t.Fatalf("changed key: %v", err)
	}
	for _, w := range []string{"HOST KEY CHANGED", fp, "ssh-keygen -R " + hostport, fmt.Sprintf("ssh-keyscan -p %d -t ed25519 127.0.0.1", srv.port())} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("changed: no %q in %v", w, err)
		}
	}

	p = unitParams(srv)
	p["known_hosts"] = []string{filepath.Join(dir, "absent")}
	e, _ = newUnitEnv(t, p)
	err = e.Setup(context.Background())
	if !errors.As(err, &he) || he.Changed || !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), "is not known") {
		t.Fatalf("unknown key: %v", err)
	}

	p["insecure_ignore_host_key"] = true
	e, log := newUnitEnv(t, p)
	if err := e.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "WARNING") {
		t.Errorf("no warning: %q", log)
	}
	// A second stream shares the first one's connection: it dials nothing,
	// and warns all the same.
	e2, log2 := newUnitEnv(t, p)
	if err := e2.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log2.String(), "WARNING") {
		t.Errorf("a stream on a shared insecure connection did not warn: %q", log2)
	}
}

func TestUnitSSHConfig(t *testing.T) {
	srv := newTestServer(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "config")
	os.WriteFile(conf, []byte(fmt.Sprintf(`Host jump
  HostName 127.0.0.1
  Port %[1]d
  User jumper
  IdentityFile %[2]s
  UserKnownHostsFile %[3]s

Host db direct
  HostName 127.0.0.1
  Port %[1]d
  User tester
  IdentityFile %[2]s
  UserKnownHostsFile %[3]s

Host db
  ProxyJump jump
`, srv.port(), srv.clientKey, srv.knownHosts)), 0o644)

	for _, alias := range []string{"direct", "db"} {
		t.Run(alias, func(t *testing.T) {
			before := srv.logins
			e, _ := newUnitEnv(t, stream.Values{"host": alias, "ssh_config": conf})
			if err := e.Setup(context.Background()); err != nil {
				t.Fatal(err)
			}
			if e.Host() != alias {
				t.Errorf("Host() = %q, want the alias %q", e.Host(), alias)
			}
			var out bytes.Buffer
			p, err := e.Start(context.Background(), &stream.Command{Args: []string{"echo", "ok"}, Stdout: &out})
			if err != nil {
				t.Fatal(err)
			}
			if x, err := p.Wait(); err != nil || !x.Success() || out.String() != "ok\n" {
				t.Errorf("%+v %v %q", x, err, out.String())
			}
			want := 1
			if alias == "db" {
				want = 2 // the jump host, then the target through it
			}
			srv.mu.Lock()
			got := srv.logins - before
			srv.mu.Unlock()
			if got != want {
				t.Errorf("%d logins, want %d", got, want)
			}
		})
	}
}

func TestUnitUnreachable(t *testing.T) {
	// A port nobody listens on: refused at once.
	srv := newTestServer(t)
	p := unitParams(srv)
	srv.ln.Close()
	e, _ := newUnitEnv(t, p)
	err := e.Setup(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot connect to 127.0.0.1:") {
		t.Errorf("Setup: %v", err)
	}
	// A cancelled context ends a connect.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e, _ = newUnitEnv(t, unitParams(srv))
	if err := e.Setup(ctx); err == nil {
		t.Error("Setup with a cancelled context: no error")
	}
}

func TestQuote(t *testing.T) {
	for _, s := range []string{"", "a b", "it's", `"$x" \ `, "\n"} {
		var out bytes.Buffer
		cmd := execLocal("printf %s " + quote(s))
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil || out.String() != s {
			t.Errorf("quote(%q): %q %v", s, out.String(), err)
		}
	}
}

func execLocal(script string) *exec.Cmd { return exec.Command("/bin/sh", "-c", script) }

func TestParseGateTime(t *testing.T) {
	want := time.Unix(1732590000, 123456000)
	for _, s := range []string{"1732590000123456000", "1732590000.123456", "1732590000,123456"} {
		if got := parseGateTime(s); !got.Equal(want) {
			t.Errorf("parseGateTime(%q) = %v, want %v", s, got, want)
		}
	}
	if got := parseGateTime("%N"); time.Since(got) > time.Minute {
		t.Errorf("fallback: %v", got)
	}
}

func TestUnitAgent(t *testing.T) {
	srv := newTestServer(t)
	data, err := os.ReadFile(srv.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	for _, explicit := range []bool{true, false} {
		p := unitParams(srv)
		delete(p, "key")
		if explicit {
			p["agent"] = true
		}
		e, _ := newUnitEnv(t, p)
		if err := e.Setup(context.Background()); err != nil {
			t.Errorf("agent (explicit %v): %v", explicit, err)
		}
		e.Close()
	}
}
