package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

func run(t *testing.T, e *Env, cmd *stream.Command) (stream.Exit, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	p, err := e.Start(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	x, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return x, out.String(), errb.String()
}

func TestLabRun(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 1)
	if !strings.HasPrefix(e.WorkDir(), "/") {
		t.Fatalf("WorkDir = %q", e.WorkDir())
	}
	// the work dir's parent is the mktemp -d directory
	if fi, err := os.Stat(filepath.Dir(e.WorkDir())); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("base directory: %v, mode %v; want 0700", err, fi.Mode())
	}

	type testCase struct {
		name           string
		cmd            stream.Command
		code           int
		signal         string
		stdout, stderr string
	}
	tests := []testCase{
		{name: "true", cmd: stream.Command{Args: []string{"true"}}},
		{name: "exit", cmd: stream.Command{Args: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}, code: 3, stdout: "out\n", stderr: "err\n"},
		{name: "signal", cmd: stream.Command{Args: []string{"sh", "-c", "kill -TERM $$"}}, code: -1, signal: "TERM"},
		{name: "env quoted", cmd: stream.Command{Args: []string{"sh", "-c", `printf %s "$A|$B"`}, Env: []string{"A=it's $HOME `x`", "B=two words"}},
			stdout: "it's $HOME `x`|two words"},
		{name: "args quoted", cmd: stream.Command{Args: []string{"printf", "%s|", "a b", "'q'", "$X", ""}}, stdout: "a b|'q'|$X||"},
		{name: "workdir", cmd: stream.Command{Args: []string{"pwd"}}, stdout: e.WorkDir() + "\n"},
		{name: "dir", cmd: stream.Command{Args: []string{"pwd"}, Dir: "/"}, stdout: "/\n"},
		{name: "stdin", cmd: stream.Command{Args: []string{"cat"}, Stdin: strings.NewReader("hello\nworld\n")}, stdout: "hello\nworld\n"},
		{name: "no stdin", cmd: stream.Command{Args: []string{"cat"}}},
		{name: "user", cmd: stream.Command{Args: []string{"id", "-un"}}, stdout: "streamtest\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, out, errs := run(t, e, &tc.cmd)
			if x.Code != tc.code || stream.SignalName(x.Signal) != "SIG"+tc.signal && !(tc.signal == "" && x.Signal == 0) {
				t.Errorf("exit = %+v, want code %d signal %q; stderr %q", x, tc.code, tc.signal, errs)
			}
			if out != tc.stdout {
				t.Errorf("stdout = %q, want %q", out, tc.stdout)
			}
			if tc.stderr != "" && errs != tc.stderr {
				t.Errorf("stderr = %q, want %q", errs, tc.stderr)
			}
			if x.Started.IsZero() || x.Ended.Before(x.Started) {
				t.Errorf("times: %v .. %v", x.Started, x.Ended)
			}
		})
	}
}

func TestLabSend(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 2)
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub", "deep"), 0o755)
	os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\necho ran\n"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "deep", "data"), []byte("data"), 0o640)
	os.Chmod(filepath.Join(src, "sub"), 0o750)
	ctx := context.Background()
	if err := e.Send(ctx, src, "tree"); err != nil {
		t.Fatal(err)
	}
	if err := e.Send(ctx, filepath.Join(src, "run.sh"), "a/b/single.sh"); err != nil {
		t.Fatal(err)
	}
	x, out, errs := run(t, e, &stream.Command{Args: []string{"sh", "-c",
		"./tree/run.sh && ./a/b/single.sh && cat tree/sub/deep/data && stat -c %a tree/run.sh tree/sub/deep/data a/b/single.sh tree/sub"}})
	if !x.Success() || out != "ran\nran\ndata755\n640\n755\n750\n" {
		t.Fatalf("exit %+v stdout %q stderr %q (modes kept?)", x, out, errs)
	}
}

func TestLabGated(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 1)
	var out bytes.Buffer
	p, err := e.Start(context.Background(), &stream.Command{Args: []string{"sh", "-c", "echo ran"}, Gated: true, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := p.Release(); err != nil {
		t.Fatal(err)
	}
	x, err := p.Wait()
	if err != nil || !x.Success() || out.String() != "ran\n" {
		t.Fatalf("exit %+v, %v, stdout %q", x, err, out.String())
	}
	// Started is the host's clock (the same clock here) when the gate opened.
	if x.Started.Before(before.Add(-time.Second)) || x.Started.After(x.Ended) {
		t.Errorf("Started %v, released at %v, ended %v", x.Started, before, x.Ended)
	}
	if err := p.Release(); err == nil {
		t.Error("second Release: no error")
	}

	// A gated process stopped before its release never runs.
	m := marker()
	p, err = e.Start(context.Background(), &stream.Command{Args: []string{"sleep", m}, Gated: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Stop(p, time.Second); err != nil {
		t.Fatal(err)
	}
	x, err = p.Wait()
	if err != nil || x.Signal != syscall.SIGTERM || !x.Started.IsZero() {
		t.Errorf("stopped gated process: %+v, %v; want killed by SIGTERM, never started", x, err)
	}
	if left := pgrep("sleep " + m); left != "" {
		t.Errorf("the gated program ran: %s", left)
	}
}

func TestLabStopKillsTree(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 1)
	for _, grace := range []time.Duration{0, 2 * time.Second} {
		m := marker()
		p := sleeper(t, e, m)
		if err := stream.Stop(p, grace); err != nil {
			t.Fatal(err)
		}
		x, err := p.Wait()
		if err != nil {
			t.Fatal(err)
		}
		want := "KILL"
		if grace > 0 {
			want = "TERM"
		}
		if stream.SignalName(x.Signal) != "SIG"+want {
			t.Errorf("Stop(%v): exit %+v, want signal %s", grace, x, want)
		}
		waitGone(t, "sleep "+m, 2*time.Second, "after Stop")
	}
	// Stop after the end is fine.
	p, err := e.Start(context.Background(), &stream.Command{Args: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	if err := stream.Stop(p, time.Second); err != nil {
		t.Errorf("Stop after the end: %v", err)
	}
}

func TestLabTermIgnored(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 1)
	m := marker()
	p, err := e.Start(context.Background(), &stream.Command{Args: []string{"sh", "-c", "trap '' TERM; sleep " + m + " & trap '' TERM; sleep " + m + "; wait"}})
	if err != nil {
		t.Fatal(err)
	}
	waitThere(t, "sleep "+m, 2)
	start := time.Now()
	if err := stream.Stop(p, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("Stop returned after %v, before its grace", d)
	}
	waitGone(t, "sleep "+m, 2*time.Second, "after Stop with TERM ignored")
}

func TestLabCloseCleansUp(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 3)
	m := marker()
	p := sleeper(t, e, m)
	// a block that is not running any more leaves nothing either
	base := filepath.Dir(e.WorkDir())
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "sleep "+m, 2*time.Second, "after Close")
	if remoteExists(base) {
		t.Errorf("work directory %s left behind", base)
	}
	if x, err := p.Wait(); err != nil || x.Signal == 0 {
		t.Errorf("Wait after Close: %+v, %v; want killed, no error", x, err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := e.Start(context.Background(), &stream.Command{Args: []string{"true"}}); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
}

// TestLabBackgroundOutlivesBlock: a block's background process lives on
// after the block (the next block can use it) until Close; it does not hold
// Wait, even holding stdout.
func TestLabBackgroundOutlivesBlock(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 1)
	m := marker()
	x, out, _ := run(t, e, &stream.Command{Args: []string{"sh", "-c", "sleep " + m + " & echo $!"}})
	returned := time.Now()
	if !x.Success() {
		t.Fatalf("exit %+v", x)
	}
	if d := returned.Sub(x.Ended); d > stream.OutputWait+300*time.Millisecond {
		t.Errorf("Wait returned %v after the program's end: its background child held it longer than OutputWait", d)
	}
	x, out2, _ := run(t, e, &stream.Command{Args: []string{"sh", "-c", "kill -0 " + strings.TrimSpace(out) + " && echo alive"}})
	if !x.Success() || out2 != "alive\n" {
		t.Errorf("the background process of the first block is not alive in the second: %+v %q", x, out2)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "sleep "+m, 5*time.Second, "after Close")
}

// TestLabEnvNotOnCommandLine: while a block with a secret in its
// environment runs, another session on the host lists every command line
// (ps -eo args; the lab's hosts share the machine's processes, so that is
// every user's) and finds no secret; the block itself sees it.
func TestLabEnvNotOnCommandLine(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 1)
	secret := fmt.Sprintf("secret-%016x", rand.Uint64())
	var out syncBuffer
	p, err := e.Start(context.Background(), &stream.Command{
		Args:   []string{"sh", "-c", `echo "$SECRET"; exec sleep 60`},
		Env:    []string{"SECRET=" + secret},
		Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return out.String() == secret+"\n" }, "the block to print its secret")
	x, ps, errs := run(t, e, &stream.Command{Args: []string{"ps", "-eo", "args"}})
	if !x.Success() || !strings.Contains(ps, "sleep 60") {
		t.Fatalf("ps: %+v %q %q", x, ps, errs)
	}
	if strings.Contains(ps, secret) {
		t.Errorf("the secret is on a command line:\n%s", ps)
	}
	if found := cmdlines(t, secret); len(found) > 0 {
		t.Errorf("the secret is on a command line:\n%s", strings.Join(found, "\n"))
	}
	if err := stream.Stop(p, 0); err != nil {
		t.Fatal(err)
	}
}

// TestLabStdinStreamed: the program reads what was written so far.
func TestLabStdinStreamed(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 1)
	pr, pw := io.Pipe()
	var out syncBuffer
	p, err := e.Start(context.Background(), &stream.Command{Args: []string{"cat"}, Stdin: pr, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	pw.Write([]byte("ping\n"))
	waitFor(t, func() bool { return out.String() == "ping\n" }, "ping echoed before the input ends")
	pw.Write([]byte("pong\n"))
	pw.Close()
	if x, err := p.Wait(); err != nil || !x.Success() || out.String() != "ping\npong\n" {
		t.Errorf("%+v %v %q", x, err, out.String())
	}
}

// TestLabStartErrors: a missing program, a program that is not executable
// and a missing directory are errors of Start.
func TestLabStartErrors(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 1)
	for _, tc := range []struct {
		cmd  stream.Command
		want string
	}{
		{stream.Command{Args: []string{"no-such-program-xyz"}}, "program no-such-program-xyz is not in PATH"},
		{stream.Command{Args: []string{"/etc/passwd"}}, "program /etc/passwd is not executable"},
		{stream.Command{Args: []string{"true"}, Dir: "missing"}, "directory " + e.WorkDir() + "/missing does not exist"},
	} {
		if _, err := e.Start(context.Background(), &tc.cmd); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Start(%q, dir %q): %v; want %q", tc.cmd.Args, tc.cmd.Dir, err, tc.want)
		}
	}
}

// TestLabSignals: any signal reaches the block's group.
func TestLabSignals(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 1)
	m := marker()
	p := sleeper(t, e, m)
	pid := p.(*process).pgid
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return procState(pid) == "T" }, "the block stopped")
	if err := p.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return procState(pid) != "T" }, "the block continued")
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if x, err := p.Wait(); err != nil || x.Signal != syscall.SIGUSR1 {
		t.Errorf("%+v, %v; want killed by SIGUSR1", x, err)
	}
	waitGone(t, "sleep "+m, 2*time.Second, "after SIGUSR1 to the group")
	x, _, _ := run(t, e, &stream.Command{Args: []string{"sh", "-c", "kill -USR1 $$"}})
	if x.Signal != syscall.SIGUSR1 || x.String() != "killed by SIGUSR1" {
		t.Errorf("kill -USR1 $$: %+v", x)
	}
}

// TestLabSSHConfigProxyJump reaches host 2 through host 1, as ~/.ssh/config
// would say, with OpenSSH's sshd forwarding the connection.
func TestLabSSHConfigProxyJump(t *testing.T) {
	l := needLab(t)
	h1, _ := l.Host(1)
	h2, _ := l.Host(2)
	conf := filepath.Join(t.TempDir(), "config")
	os.WriteFile(conf, []byte(`Host jumper target
  User `+l.User+`
  IdentityFile `+l.Key+`
  UserKnownHostsFile `+l.KnownHosts+`
Host jumper
  HostName `+h1.Addr+`
Host target
  HostName `+h2.Addr+`
  ProxyJump jumper
`), 0o644)
	e, _ := newLabEnv(t, stream.Values{"host": "target", "ssh_config": conf})
	if err := e.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.Host() != "target" {
		t.Errorf("Host() = %q", e.Host())
	}
	x, out, errs := run(t, e, &stream.Command{Args: []string{"sh", "-c", `echo "$SSH_CONNECTION"`}})
	f := strings.Fields(out)
	if !x.Success() || len(f) != 4 || f[0] != h1.Addr || f[2] != h2.Addr {
		t.Errorf("SSH_CONNECTION %q (exit %+v, %s): want from %s to %s", out, x, errs, h1.Addr, h2.Addr)
	}
}
