package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/proctree"
	"github.com/streamtest/streamtest/stream/sandbox"
)

// killedEnv selects the nested test binary of TestKilledTestBinaryLeavesNothing:
// its value is the directory it reports in.
const killedEnv = "SANDBOX_TEST_KILLED_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(killedEnv); dir != "" {
		os.Exit(killedMain(dir))
	}
	os.Exit(m.Run())
}

// needBwrap skips the test where bubblewrap is missing, or fails it in CI
// (CI=true), where a missing bwrap is a broken set-up.
func needBwrap(t testing.TB) {
	t.Helper()
	_, err := exec.LookPath("bwrap")
	testenv.Need(t, err == nil, "bubblewrap (bwrap)", "apt-get install bubblewrap")
}

func newEnv(t *testing.T, params stream.Values) stream.Environment {
	t.Helper()
	needBwrap(t)
	env, err := sandbox.New(stream.Config{ID: "1", Type: "sandbox", Params: params, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env
}

// run runs a shell line on env and returns its exit and output.
func run(t *testing.T, env stream.Environment, line string, extraEnv ...string) (stream.Exit, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"/bin/sh", "-c", line}, Env: extraEnv, Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	exit, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return exit, out.String(), errb.String()
}

// marked returns the pids of the processes of this machine whose
// environment holds mark.
func marked(mark string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(env, []byte("\x00"+mark+"\x00")) || bytes.HasPrefix(env, []byte(mark+"\x00")) {
			if proctree.Alive(pid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// waitMarked waits until at least n processes are marked with mark, or,
// for n = 0, until none is left; it fails after 10s.
func waitMarked(t *testing.T, mark string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := marked(mark)
		if n == 0 && len(pids) == 0 || n > 0 && len(pids) >= n {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d processes marked %s, want %d (0: none, else at least): %v", len(pids), mark, n, pids)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExitStatusOutputAndWorkDir(t *testing.T) {
	env := newEnv(t, stream.Values{"env": map[string]string{"FROM_PARAM": "p"}})
	exit, out, errs := run(t, env, `echo "out $FOO $FROM_PARAM"; pwd; echo err >&2; exit 3`, "FOO=bar")
	if exit.Code != 3 || exit.Signal != 0 {
		t.Errorf("exit = %+v, want code 3", exit)
	}
	if want := "out bar p\n" + env.WorkDir() + "\n"; out != want || errs != "err\n" {
		t.Errorf("stdout %q stderr %q, want %q and %q", out, errs, want, "err\n")
	}
	fi, err := os.Stat(env.WorkDir())
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("work dir: %v, %v; want mode 0700", fi, err)
	}
	if env.Host() != "127.0.0.1" {
		t.Errorf("Host = %q", env.Host())
	}
	exit, _, _ = run(t, env, `kill -USR1 $$`)
	if exit.Signal != syscall.SIGUSR1 || exit.Code != -1 {
		t.Errorf("exit = %+v, want killed by SIGUSR1", exit)
	}
}

func TestReadOnlySystemPrivateTmp(t *testing.T) {
	env := newEnv(t, nil)
	exit, _, errs := run(t, env, `mount -o remount,rw / 2>/dev/null; touch /usr/streamtest-sandbox-test`)
	if exit.Success() || !strings.Contains(errs, "Read-only") {
		t.Errorf("writing /usr: %v %q, want a read-only file system", exit, errs)
	}
	if _, err := os.Stat("/usr/streamtest-sandbox-test"); err == nil {
		os.Remove("/usr/streamtest-sandbox-test")
		t.Error("a block wrote into this machine's /usr")
	}
	name := "streamtest-sandbox-" + proctree.NewTag()
	if exit, _, errs := run(t, env, `echo x > /tmp/`+name+` && cat /tmp/`+name); !exit.Success() {
		t.Fatalf("writing /tmp in the sandbox: %v %s", exit, errs)
	}
	if _, err := os.Stat("/tmp/" + name); err == nil {
		t.Error("the sandbox's /tmp is this machine's")
	}
}

func TestOwnPIDNamespace(t *testing.T) {
	a, b := newEnv(t, nil), newEnv(t, nil)
	mark := "SANDBOX_TEST_MARK=" + proctree.NewTag()
	_, out, _ := run(t, a, `sleep 100 >/dev/null 2>&1 & echo $$ $(readlink /proc/1/exe)`, mark)
	f := strings.Fields(out)
	self, _ := os.Executable()
	if len(f) != 2 || f[1] != self {
		t.Errorf("in the sandbox, pid 1 runs %q; want this executable (the sandbox's init), not this machine's init", out)
	}
	if pid, _ := strconv.Atoi(f[0]); pid > 10 {
		t.Errorf("the block's pid is %d: not in a PID namespace of its own", pid)
	}
	waitMarked(t, mark, 1)
	// The background process of a runs (seen from this machine); in b, it
	// is out of sight, and so is every process of this machine.
	_, out, _ = run(t, b, `cat /proc/[0-9]*/environ | tr '\0' '\n'; echo; ls -d /proc/[0-9]* | wc -l`)
	if strings.Contains(out, mark) {
		t.Error("a process of another stream is visible in the sandbox")
	}
	_, out, _ = run(t, a, `cat /proc/[0-9]*/environ | tr '\0' '\n'`)
	if !strings.Contains(out, mark) {
		t.Error("the stream's own background process is not visible in it")
	}
}

func TestSendAndRun(t *testing.T) {
	env := newEnv(t, nil)
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "run.sh"), []byte("#!/bin/sh\necho hi from $0\n"), 0o755)
	if err := env.Send(t.Context(), src, "assets"); err != nil {
		t.Fatal(err)
	}
	if err := env.Send(t.Context(), filepath.Join(src, "sub", "run.sh"), "/tmp/bin/run.sh"); err != nil {
		t.Fatalf("Send to the sandbox's /tmp: %v", err)
	}
	exit, out, errs := run(t, env, `./assets/sub/run.sh && /tmp/bin/run.sh`)
	if !exit.Success() || out != "hi from ./assets/sub/run.sh\nhi from /tmp/bin/run.sh\n" {
		t.Errorf("exit %v out %q err %q", exit, out, errs)
	}
	if err := env.Send(t.Context(), src, "/usr/streamtest-sandbox-send"); err == nil {
		t.Error("Send into the read-only system succeeded")
	}
}

func TestStdinStreamed(t *testing.T) {
	env := newEnv(t, nil)
	pr, pw := io.Pipe()
	outR, outW := io.Pipe()
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"/bin/sh", "-c", `while read l; do echo "got $l"; done`}, Stdin: pr, Stdout: outW})
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewReader(outR)
	for _, w := range []string{"ping", "pong"} {
		fmt.Fprintln(pw, w)
		l, err := lines.ReadString('\n')
		if err != nil || l != "got "+w+"\n" {
			t.Fatalf("read %q, %v; want %q before the input ended", l, err, "got "+w)
		}
	}
	pw.Close()
	go io.Copy(io.Discard, outR)
	if exit, err := p.Wait(); err != nil || !exit.Success() {
		t.Errorf("exit %v, %v", exit, err)
	}
}

func TestStartErrors(t *testing.T) {
	env := newEnv(t, nil)
	for _, c := range []struct {
		cmd   stream.Command
		wants string
	}{
		{stream.Command{Args: []string{"no-such-program-xyz"}}, "no-such-program-xyz"},
		{stream.Command{Args: []string{"./none"}}, "none"},
		{stream.Command{Args: []string{"true"}, Dir: "no-such-dir"}, "no-such-dir"},
		{stream.Command{Args: []string{"no-such-program-xyz"}, Gated: true}, "no-such-program-xyz"},
	} {
		p, err := env.Start(t.Context(), &c.cmd)
		if err == nil || !strings.Contains(err.Error(), c.wants) {
			t.Errorf("Start(%q, dir %q, gated %v) = %v, want an error naming %q", c.cmd.Args, c.cmd.Dir, c.cmd.Gated, err, c.wants)
		}
		if p != nil {
			t.Errorf("Start(%q) returned a process with its error", c.cmd.Args)
		}
	}
}

func TestGated(t *testing.T) {
	env := newEnv(t, nil)
	var out bytes.Buffer
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"/bin/sh", "-c", "date +%s%N"}, Stdout: &out, Gated: true})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := p.Release(); err != nil {
		t.Fatal(err)
	}
	exit, err := p.Wait()
	if err != nil || !exit.Success() {
		t.Fatalf("exit %v, %v", exit, err)
	}
	ran, err := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if time.Unix(0, ran).Before(before) {
		t.Errorf("the gated program ran at %v, before Release at %v", time.Unix(0, ran), before)
	}
	if exit.Started.Before(before) || exit.Started.After(exit.Ended) {
		t.Errorf("Started %v is not between Release %v and the end %v", exit.Started, before, exit.Ended)
	}
	if err := p.Release(); err == nil {
		t.Error("a second Release succeeded")
	}

	p, err = env.Start(t.Context(), &stream.Command{Args: []string{"sleep", "100"}, Gated: true})
	if err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGUSR1)
	exit, err = p.Wait()
	if err != nil || exit.Signal != syscall.SIGUSR1 || !exit.Started.IsZero() {
		t.Errorf("exit %+v, %v; want killed by SIGUSR1, never started", exit, err)
	}
}

func TestCloseKillsBackgroundProcesses(t *testing.T) {
	env := newEnv(t, nil)
	mark := "SANDBOX_TEST_MARK=" + proctree.NewTag()
	// A background process, and a daemon that left the block's tree.
	exit, _, _ := run(t, env, `sleep 100 >/dev/null 2>&1 & (setsid sleep 100 </dev/null >/dev/null 2>&1 &) ; exit 0`, mark)
	if !exit.Success() {
		t.Fatal(exit)
	}
	waitMarked(t, mark, 2) // they outlive their block
	running, err := env.Start(t.Context(), &stream.Command{Args: []string{"sleep", "100"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := env.WorkDir()
	if err := env.Close(); err != nil {
		t.Fatal(err)
	}
	exit, err = running.Wait()
	if err != nil || exit.Signal == 0 {
		t.Errorf("a block running at Close ended with %+v, %v; want killed by a signal", exit, err)
	}
	// Marked processes are found by their mark, not their pid: a pid may
	// be reused at once on a busy machine.
	waitMarked(t, mark, 0)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("work dir %s still there after Close: %v", dir, err)
	}
	if _, err := env.Start(t.Context(), &stream.Command{Args: []string{"true"}}); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	if err := env.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSetupHonoursContext(t *testing.T) {
	needBwrap(t)
	env, err := sandbox.New(stream.Config{ID: "1", Type: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := env.Setup(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Setup with a cancelled context = %v, want context.Canceled", err)
	}
	// Cancelled while bwrap starts: Setup returns, and leaves nothing.
	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(time.Millisecond, cancel)
	if err := env.Setup(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Setup cancelled on the way = %v, want nil or context.Canceled", err)
	}
}

func TestNetworkNone(t *testing.T) {
	_, err := exec.LookPath("ping")
	testenv.Need(t, err == nil, "ping", "apt-get install iputils-ping")
	env := newEnv(t, stream.Values{"network": "none"})
	_, out, _ := run(t, env, `cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '`)
	if strings.TrimSpace(out) != "lo" {
		t.Errorf("interfaces in a sandbox with network none: %q, want only lo", out)
	}
	// Not even its own loopback: 127.0.0.1, the host of other streams, is
	// out of reach, as from a local stream with network none.
	if exit, out, errs := run(t, env, `ping -c 1 -W 1 127.0.0.1`); exit.Success() {
		t.Errorf("ping 127.0.0.1 from a sandbox with network none succeeded: %s%s", out, errs)
	}
	if exit, out, errs := run(t, newEnv(t, nil), `ping -c 1 -W 1 127.0.0.1`); !exit.Success() {
		t.Errorf("ping 127.0.0.1 from a sandbox with network host failed: %v %s%s", exit, out, errs)
	}
}

func TestBinds(t *testing.T) {
	ro, rw := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(ro, "in"), []byte("from the host\n"), 0o644)
	env := newEnv(t, stream.Values{"binds": []string{ro + ":/mnt:ro", rw + ":/tmp/rw"}})
	exit, out, errs := run(t, env, `cat /mnt/in; echo out > /tmp/rw/out; touch /mnt/x 2>/dev/null && echo writable`)
	if out != "from the host\n" {
		t.Errorf("exit %v out %q err %q", exit, out, errs)
	}
	if data, _ := os.ReadFile(filepath.Join(rw, "out")); string(data) != "out\n" {
		t.Errorf("a write to the writable bind did not arrive: %q", data)
	}
	if _, err := sandbox.New(stream.Config{Params: stream.Values{"binds": []string{"/x:relative"}}}); err == nil {
		t.Error("a bind to a relative path was accepted")
	}
	bad, err := sandbox.New(stream.Config{Params: stream.Values{"binds": []string{ro + ":/no-such-mount-point"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Setup(t.Context()); err == nil || !strings.Contains(err.Error(), "no-such-mount-point") {
		t.Errorf("Setup with a bind onto a path the read-only system lacks = %v, want bwrap's error naming it", err)
	}
}

// killedMain plays a test binary that is killed: it starts a sandbox with
// a background process and a running block, reports the work directory
// and waits.
func killedMain(dir string) int {
	env, err := sandbox.New(stream.Config{ID: "1", Type: "sandbox"})
	if err == nil {
		err = env.Setup(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mark := os.Getenv("SANDBOX_TEST_MARK")
	for i, line := range []string{`sleep 100 >/dev/null 2>&1 & (setsid sleep 100 </dev/null >/dev/null 2>&1 &)`, `sleep 100`} {
		p, err := env.Start(context.Background(), &stream.Command{Args: []string{"/bin/sh", "-c", line}, Env: []string{mark}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if i == 0 {
			p.Wait() // its background processes were forked
		}
	}
	os.WriteFile(filepath.Join(dir, "workdir.tmp"), []byte(env.WorkDir()), 0o600)
	os.Rename(filepath.Join(dir, "workdir.tmp"), filepath.Join(dir, "workdir"))
	select {}
}

func TestKilledTestBinaryLeavesNothing(t *testing.T) {
	needBwrap(t)
	dir := t.TempDir()
	mark := "SANDBOX_TEST_MARK=" + proctree.NewTag()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), killedEnv+"="+dir, mark)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(20 * time.Second)
	var workDir []byte
	for {
		var err error
		if workDir, err = os.ReadFile(filepath.Join(dir, "workdir")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the nested test binary did not report within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Marked: the nested binary, its guard, bwrap, the init, and in the
	// sandbox the background process, the daemon and the running block.
	waitMarked(t, mark, 7)
	cmd.Process.Kill()
	cmd.Wait()
	waitMarked(t, mark, 0)
	deadline = time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(string(workDir)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("work dir %s survived the killed test binary", workDir)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
