package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/netns"
	"github.com/streamtest/streamtest/stream"
)

// scratchHost adds a host to the lab for a test that breaks it (kills its
// sshd, cuts its link), so that the tests of other packages, which use the
// lab's hosts at the same time, are not disturbed.
func scratchHost(t *testing.T, l *netns.Lab) (netns.Host, stream.Values) {
	t.Helper()
	testenv.NeedRoot(t, "to add a scratch host to the lab")
	h, known, err := l.AddHost(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.RemoveHost(h) })
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(known), 0o644); err != nil {
		t.Fatal(err)
	}
	p := labParams(l, 1)
	p["host"] = h.Addr
	p["known_hosts"] = []string{kh}
	return h, p
}

// checkCause checks that err is a cause, as the manager wants it (no
// *stream.Error, no "stream 1" prefix), that it says want and names host,
// and that it came within bound of start.
func checkCause(t *testing.T, err error, host string, start time.Time, bound time.Duration, want string) {
	t.Helper()
	if d := time.Since(start); d > bound {
		t.Errorf("the error took %v, more than %v", d, bound)
	}
	if err == nil {
		t.Fatalf("no error; want one saying %q", want)
	}
	var se *stream.Error
	if errors.As(err, &se) {
		t.Errorf("error %v is a *stream.Error: the manager wraps, the type returns causes", err)
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "stream ") || strings.Contains(msg, "(remote") {
		t.Errorf("error %q carries the stream's prefix", msg)
	}
	if !strings.Contains(msg, want) || !strings.Contains(msg, host) {
		t.Errorf("error %q does not say %q and name the host %s", msg, want, host)
	}
	t.Logf("error: %v", err)
}

func TestLabFaultSSHDKilled(t *testing.T) {
	l := needLab(t)
	h, p := scratchHost(t, l)
	p["keepalive"] = time.Second
	e, _ := newLabEnv(t, p)
	if err := e.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := marker()
	proc := sleeper(t, e, m)
	start := time.Now()
	for _, pid := range netns.SSHDPids(h) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	_, err := proc.Wait()
	checkCause(t, err, h.Addr, start, 5*time.Second, "connection lost")
	waitGone(t, "sleep "+m, 5*time.Second, "after sshd was killed")

	// The stream says so on its next use too.
	_, err = e.Start(context.Background(), &stream.Command{Args: []string{"true"}})
	checkCause(t, err, h.Addr, start, 5*time.Second, "connection lost")
	if err := e.Close(); err != nil {
		t.Logf("Close after the loss: %v", err)
	}
}

func TestLabFaultLinkCut(t *testing.T) {
	l := needLab(t)
	h, p := scratchHost(t, l)
	p["keepalive"] = 500 * time.Millisecond
	e, _ := newLabEnv(t, p)
	if err := e.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := marker()
	proc := sleeper(t, e, m)
	base := filepath.Dir(e.WorkDir())
	if out, err := exec.Command("ip", "link", "set", h.Veth(), "down").CombinedOutput(); err != nil {
		t.Fatalf("ip link set down: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "set", h.Veth(), "up").Run() })
	cut := time.Now()
	_, err := proc.Wait()
	checkCause(t, err, h.Addr, cut, 3*time.Second, "no answer to a keepalive")
	// The host's guard misses the heartbeats and cleans up, with the link
	// still down, within CutLinkBound of the cut (5 s for this keepalive);
	// the lab's sshd would notice only after ClientAliveInterval ×
	// ClientAliveCountMax (6 s).
	bound := CutLinkBound(p["keepalive"].(time.Duration))
	waitGone(t, "sleep "+m, time.Until(cut.Add(bound)), "after the link was cut")
	for remoteExists(base) && time.Since(cut) < bound {
		time.Sleep(50 * time.Millisecond)
	}
	if remoteExists(base) {
		t.Errorf("work directory %s left behind %v after the cut", base, bound)
	}
	t.Logf("the host was clean %v after the cut", time.Since(cut).Round(10*time.Millisecond))
}

func TestLabFaultUnreachable(t *testing.T) {
	l := needLab(t)
	p := labParams(l, 1)
	p["host"] = "10.199.1.250" // on the lab's subnet, no host there
	p["connect_timeout"] = 2 * time.Second
	e, _ := newLabEnv(t, p)
	start := time.Now()
	err := e.Setup(context.Background())
	checkCause(t, err, "10.199.1.250", start, 5*time.Second, "cannot connect to 10.199.1.250:22")
}

func TestLabFaultWrongCredentials(t *testing.T) {
	l := needLab(t)
	const secret = "pw-Never-Log-Me-7d1f"
	wrongKey := filepath.Join(t.TempDir(), "id_other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", wrongKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	h, _ := l.Host(1)
	type testCase struct {
		name   string
		params func(stream.Values)
	}
	tests := []testCase{
		{"wrong key", func(v stream.Values) { v["key"] = []string{wrongKey} }},
		{"wrong password", func(v stream.Values) { delete(v, "key"); v["password"] = secret }},
		{"wrong key and password", func(v stream.Values) { v["key"] = []string{wrongKey}; v["password"] = secret }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := labParams(l, 1)
			tc.params(p)
			e, log := newLabEnv(t, p)
			start := time.Now()
			err := e.Setup(context.Background())
			checkCause(t, err, h.Addr, start, 5*time.Second, "login as streamtest on "+h.Addr+":22 refused")
			e.Close()
			if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%#v", err), secret) || strings.Contains(log.String(), secret) {
				t.Errorf("the password shows in the error or the log:\n%v\n%s", err, log)
			}
		})
	}
}

func TestLabFaultHostKey(t *testing.T) {
	l := needLab(t)
	h, _ := l.Host(1)
	pub, err := os.ReadFile(filepath.Join(l.Dir, "hosts", "1", "ssh_host_ed25519_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	fp := ssh.FingerprintSHA256(key)
	other, err := os.ReadFile(filepath.Join(l.Dir, "hosts", "2", "ssh_host_ed25519_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	changed := filepath.Join(dir, "changed")
	os.WriteFile(changed, []byte(h.Addr+" "+string(other)), 0o644)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)

	type testCase struct {
		name  string
		known string
		want  []string
	}
	tests := []testCase{
		{"changed", changed, []string{"HOST KEY CHANGED", fp, "ssh-keygen -R " + h.Addr, changed + ":1", "ssh-keyscan -t ed25519 " + h.Addr}},
		{"unknown", empty, []string{"is not known", fp, "ssh-keyscan -t ed25519 " + h.Addr + " >> " + empty}},
		{"missing file", filepath.Join(dir, "none"), []string{"is not known", fp}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := labParams(l, 1)
			p["known_hosts"] = []string{tc.known}
			e, _ := newLabEnv(t, p)
			start := time.Now()
			err := e.Setup(context.Background())
			checkCause(t, err, h.Addr, start, 5*time.Second, tc.want[0])
			var he *HostKeyError
			if !errors.As(err, &he) {
				t.Errorf("not a *HostKeyError: %T", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}

	t.Run("insecure", func(t *testing.T) {
		p := labParams(l, 1)
		p["known_hosts"] = []string{changed}
		p["insecure_ignore_host_key"] = true
		e, log := newLabEnv(t, p)
		if err := e.Setup(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "WARNING") || !strings.Contains(log.String(), "NOT verified") {
			t.Errorf("no warning logged: %q", log)
		}
	})
}

func TestLabConnectionDrop(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 2)
	m := marker()
	proc := sleeper(t, e, m)
	base := filepath.Dir(e.WorkDir())
	// The connection goes away without a word to the guards.
	e.mu.Lock()
	c := e.client
	e.mu.Unlock()
	c.Close()
	_, err := proc.Wait()
	if err == nil || !strings.Contains(err.Error(), "connection lost") {
		t.Errorf("Wait after the connection dropped: %v", err)
	}
	waitGone(t, "sleep "+m, 5*time.Second, "after the connection dropped")
	deadline := time.Now().Add(5 * time.Second)
	for remoteExists(base) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if remoteExists(base) {
		t.Errorf("work directory %s left behind", base)
	}
}

// TestLabKilledTestBinary runs this test binary as a helper (see
// TestMain) that starts a tree on a lab host and parks, kills it with
// SIGKILL, and checks that the host is clean.
func TestLabKilledTestBinary(t *testing.T) {
	needLab(t)
	m := marker()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), parkedHelperEnv+"="+m)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if w, ok := strings.CutPrefix(sc.Text(), "PARKED "); ok {
				ready <- w
			}
		}
		close(ready)
	}()
	var base string
	select {
	case w, ok := <-ready:
		if !ok {
			t.Fatal("the helper ended before it parked")
		}
		base = filepath.Dir(w)
	case <-time.After(30 * time.Second):
		t.Fatal("the helper did not park within 30s")
	}
	if pgrep("sleep "+m) == "" {
		t.Fatal("the helper's processes are not there")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitGone(t, "sleep "+m, 5*time.Second, "after the test binary was killed")
	deadline := time.Now().Add(5 * time.Second)
	for remoteExists(base) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if remoteExists(base) {
		t.Errorf("work directory %s left behind", base)
	}
}

// parkedHelperEnv selects parkedHelper in TestMain: its value is the
// marker of the helper's sleeps.
const parkedHelperEnv = "STREAMTEST_REMOTE_PARKED"

// parkedHelper is the helper of TestLabKilledTestBinary: it starts a tree
// on lab host 2 (a background and a foreground sleep, and a gated sleep
// parked at its gate), prints "PARKED WORKDIR" and waits to be killed.
func parkedHelper(m string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "parked helper:", err)
		return 1
	}
	l, err := netns.Load(os.Getenv("STREAMTEST_LAB"))
	if err != nil {
		return fail(err)
	}
	env, err := New(stream.Config{ID: "1", Type: "remote", Params: labParams(l, 2)})
	if err != nil {
		return fail(err)
	}
	ctx := context.Background()
	if err := env.Setup(ctx); err != nil {
		return fail(err)
	}
	for _, c := range []*stream.Command{
		{Args: []string{"/bin/sh", "-c", "sleep " + m + " & sleep " + m + "; wait"}},
		{Args: []string{"sleep", m}, Gated: true},
	} {
		if _, err := env.Start(ctx, c); err != nil {
			return fail(err)
		}
	}
	for pgrep("sleep "+m) == "" {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("PARKED " + env.WorkDir())
	time.Sleep(time.Hour)
	return 0
}
