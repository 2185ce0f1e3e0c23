package local_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	"github.com/streamtest/streamtest/stream/local"
	"github.com/streamtest/streamtest/stream/proctree"
)

// treeEnv selects the nested test binary of TestGuardCleansUpAfterSIGKILL:
// its value is the directory it reports in.
const treeEnv = "LOCAL_TEST_TREE_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(treeEnv); dir != "" {
		os.Exit(startTree(dir))
	}
	os.Exit(m.Run())
}

// startTree plays a test binary that is killed: it starts a process tree on
// a local stream, reports it in dir and waits to be killed.
func startTree(dir string) int {
	env, err := local.New(stream.Config{ID: "1", Type: "local"})
	if err == nil {
		err = env.Setup(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.WriteFile(filepath.Join(dir, "workdir"), []byte(env.WorkDir()), 0o600)
	script := fmt.Sprintf(`sleep 100 & a=$!; setsid sleep 100 & b=$!; echo $$ $a $b > %s/pids.tmp; mv %s/pids.tmp %s/pids; wait`, dir, dir, dir)
	if _, err := env.Start(context.Background(), &stream.Command{Args: []string{"/bin/sh", "-c", script}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	select {}
}

func newEnv(t *testing.T, params stream.Values) stream.Environment {
	t.Helper()
	env, err := local.New(stream.Config{ID: "1", Type: "local", Params: params, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env
}

// waitGone polls until none of pids is alive, or fails after d.
func waitGone(t *testing.T, d time.Duration, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var left []int
		for _, pid := range pids {
			if proctree.Alive(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v still alive after %v", left, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readPids waits for file to hold a line of whitespace-separated pids.
func readPids(t *testing.T, file string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(file)
		f := strings.Fields(string(data))
		if len(f) >= n {
			var pids []int
			for _, s := range f[:n] {
				pid, err := strconv.Atoi(s)
				if err != nil {
					t.Fatal(err)
				}
				pids = append(pids, pid)
			}
			return pids
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %d pids in %s", n, file)
	return nil
}

func TestRunExitStatusAndOutput(t *testing.T) {
	env := newEnv(t, nil)
	var out, errb bytes.Buffer
	p, err := env.Start(t.Context(), &stream.Command{
		Args:   []string{"/bin/sh", "-c", `echo "out $FOO"; pwd; echo err >&2; exit 3`},
		Env:    []string{"FOO=bar"},
		Stdout: &out, Stderr: &errb,
	})
	if err != nil {
		t.Fatal(err)
	}
	exit, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if exit.Code != 3 || exit.Success() {
		t.Errorf("exit = %+v, want code 3", exit)
	}
	want := "out bar\n" + env.WorkDir() + "\n"
	if out.String() != want || errb.String() != "err\n" {
		t.Errorf("stdout %q stderr %q, want %q and %q", out.String(), errb.String(), want, "err\n")
	}
	fi, err := os.Stat(env.WorkDir())
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("work dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
}

func TestStartMissingProgramIsAnError(t *testing.T) {
	env := newEnv(t, nil)
	_, err := env.Start(t.Context(), &stream.Command{Args: []string{"no-such-program-xyz"}})
	if err == nil || !strings.Contains(err.Error(), "no-such-program-xyz") {
		t.Fatalf("err = %v, want a not-found error naming the program", err)
	}
}

func TestStopKillsWholeTree(t *testing.T) {
	env := newEnv(t, nil)
	pidfile := filepath.Join(t.TempDir(), "pids")
	// A child in the group, and a grandchild that makes a group of its own.
	script := fmt.Sprintf(`sleep 100 & a=$!; setsid sleep 100 & b=$!; echo $$ $a $b > %s; wait`, pidfile)
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"/bin/sh", "-c", script}})
	if err != nil {
		t.Fatal(err)
	}
	pids := readPids(t, pidfile, 3)
	if err := stream.Stop(p, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 2*time.Second, pids...)
	exit, _ := p.Wait()
	if exit.Signal != syscall.SIGTERM && exit.Signal != syscall.SIGKILL {
		t.Errorf("exit = %+v, want killed by a signal", exit)
	}
}

func TestCloseKillsBackgroundProcessesAndRemovesWorkDir(t *testing.T) {
	env := newEnv(t, nil)
	pidfile := filepath.Join(t.TempDir(), "pids")
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"/bin/sh", "-c", "sleep 100 >/dev/null 2>&1 & echo $! > " + pidfile}})
	if err != nil {
		t.Fatal(err)
	}
	if exit, err := p.Wait(); err != nil || exit.Code != 0 {
		t.Fatalf("exit %+v, %v", exit, err)
	}
	pids := readPids(t, pidfile, 1)
	if !proctree.Alive(pids[0]) {
		t.Fatal("background process ended with its block; it should live until the stream ends")
	}
	dir := env.WorkDir()
	if err := env.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 2*time.Second, pids...)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("work dir %s still there after Close: %v", dir, err)
	}
}

func TestGatedStartWaitsForRelease(t *testing.T) {
	env := newEnv(t, nil)
	marker := filepath.Join(t.TempDir(), "ran")
	// The program writes when it ran: after Release, that instant proves
	// that it did not run before.
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"/bin/sh", "-c", "date +%s%N > " + marker}, Gated: true})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := p.Release(); err != nil {
		t.Fatal(err)
	}
	exit, err := p.Wait()
	if err != nil || exit.Code != 0 {
		t.Fatalf("exit %+v, %v", exit, err)
	}
	data, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("program did not run after Release: %v", err)
	}
	ran, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if time.Unix(0, ran).Before(before) {
		t.Fatalf("the gated program ran at %v, before Release at %v", time.Unix(0, ran), before)
	}
	if exit.Started.Before(before) || exit.Started.After(exit.Ended) {
		t.Errorf("Started %v is not between Release %v and the end %v", exit.Started, before, exit.Ended)
	}
	if err := p.Release(); err == nil {
		t.Error("a second Release succeeded")
	}
}

func TestGatedStartNotFound(t *testing.T) {
	env := newEnv(t, nil)
	_, err := env.Start(t.Context(), &stream.Command{Args: []string{"no-such-program-xyz"}, Gated: true})
	if err == nil || !strings.Contains(err.Error(), "no-such-program-xyz") {
		t.Fatalf("err = %v, want a not-found error naming the program", err)
	}
}

func TestGatedStopBeforeRelease(t *testing.T) {
	env := newEnv(t, nil)
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"sleep", "100"}, Gated: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Stop(p, time.Second); err != nil {
		t.Fatal(err)
	}
	exit, err := p.Wait()
	if err != nil || exit.Signal != syscall.SIGTERM || !exit.Started.IsZero() {
		t.Errorf("exit = %+v, %v; want killed by SIGTERM, never started", exit, err)
	}
	if err := p.Release(); err == nil {
		t.Error("Release after the gate was closed succeeded")
	}
}

func TestGatedSignalBeforeRelease(t *testing.T) {
	env := newEnv(t, nil)
	marker := filepath.Join(t.TempDir(), "ran")
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"touch", marker}, Gated: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	exit, err := p.Wait()
	if err != nil || exit.Signal != syscall.SIGUSR1 || exit.Code != -1 || !exit.Started.IsZero() {
		t.Errorf("exit = %+v, %v; want killed by SIGUSR1, never started", exit, err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the program ran although its gate was closed")
	}
}

func TestReleaseOfAProcessNotGated(t *testing.T) {
	env := newEnv(t, nil)
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Release(); err == nil {
		t.Error("Release of a process that was not gated succeeded")
	}
	p.Wait()
}

func TestStartErrors(t *testing.T) {
	env := newEnv(t, nil)
	os.WriteFile(filepath.Join(env.WorkDir(), "plain"), []byte("data"), 0o644)
	for _, c := range []struct {
		name  string
		cmd   stream.Command
		wants string
	}{
		{"missing dir", stream.Command{Args: []string{"true"}, Dir: "no-such-dir"}, "no-such-dir"},
		{"not executable", stream.Command{Args: []string{"./plain"}}, "plain"},
		{"missing relative", stream.Command{Args: []string{"./none"}}, "none"},
		{"gated missing dir", stream.Command{Args: []string{"true"}, Dir: "no-such-dir", Gated: true}, "no-such-dir"},
		{"gated missing program", stream.Command{Args: []string{"no-such-program-xyz"}, Gated: true}, "no-such-program-xyz"},
	} {
		p, err := env.Start(t.Context(), &c.cmd)
		if err == nil || !strings.Contains(err.Error(), c.wants) {
			t.Errorf("%s: Start = %v, want an error naming %q", c.name, err, c.wants)
		}
		if p != nil {
			t.Errorf("%s: Start returned a process with its error", c.name)
		}
	}
}

func TestSignalReachesLeftoversAfterTheLeaderEnded(t *testing.T) {
	env := newEnv(t, nil)
	pidfile := filepath.Join(t.TempDir(), "pid")
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"/bin/sh", "-c", "sleep 100 >/dev/null 2>&1 & echo $! > " + pidfile}})
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	pids := readPids(t, pidfile, 1)
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 2*time.Second, pids...)
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("Signal to a gone tree: %v", err)
	}
}

func TestUseAfterClose(t *testing.T) {
	env := newEnv(t, nil)
	if err := env.Close(); err != nil {
		t.Fatal(err)
	}
	if err := env.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := env.Start(t.Context(), &stream.Command{Args: []string{"true"}}); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	if err := env.Send(t.Context(), t.TempDir(), "x"); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if err := env.Setup(t.Context()); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Setup after Close = %v, want ErrClosed", err)
	}
}

func TestNoKillGraceParameter(t *testing.T) {
	r, ok := stream.Lookup("local")
	if !ok {
		t.Fatal("local is not registered")
	}
	if _, ok := r.Param("kill_grace"); ok {
		t.Error("local still has kill_grace: the one grace setting is the manager's")
	}
}

func TestSendDirectoryKeepsModes(t *testing.T) {
	env := newEnv(t, nil)
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	os.WriteFile(filepath.Join(src, "data"), []byte("x"), 0o600)
	if err := env.Send(t.Context(), src, "assets"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(env.WorkDir(), "assets", "sub", "run.sh"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("run.sh: %v %v, want mode 0755", fi, err)
	}
	var out bytes.Buffer
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"./assets/sub/run.sh"}, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if exit, err := p.Wait(); err != nil || exit.Code != 0 || out.String() != "hi\n" {
		t.Fatalf("exit %+v %v out %q", exit, err, out.String())
	}
}

func TestNetworkNone(t *testing.T) {
	_, err := exec.LookPath("ping")
	testenv.Need(t, err == nil, "ping", "apt-get install iputils-ping")
	env := newEnv(t, stream.Values{"network": "none"})
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"ping", "-c", "1", "-W", "1", "127.0.0.1"}})
	if err != nil {
		if os.Geteuid() != 0 {
			testenv.Need(t, false, "unprivileged network namespaces", err.Error())
		}
		t.Fatal(err)
	}
	exit, _ := p.Wait()
	if exit.Success() {
		t.Error("ping from a stream with network: none reached 127.0.0.1")
	}
}

// TestGuardCleansUpAfterSIGKILL runs a real nested test binary that starts a
// process tree on a local stream, kills the binary with SIGKILL, and looks for
// survivors.
func TestGuardCleansUpAfterSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), treeEnv+"="+dir)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pids := readPids(t, filepath.Join(dir, "pids"), 3)
	workDir := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "workdir"))))
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitGone(t, 5*time.Second, pids...)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(workDir); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("work dir %s survived the killed test binary", workDir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(name)
		if err == nil && len(data) > 0 {
			return data
		}
		if time.Now().After(deadline) {
			t.Fatalf("reading %s: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCloseKillsDetachedDaemon(t *testing.T) {
	env := newEnv(t, nil)
	pidfile := filepath.Join(t.TempDir(), "pid")
	// Double fork and a session of its own: no ancestry, no group left to
	// find it by; only the stream's tag in its environment.
	script := fmt.Sprintf(`(setsid sh -c 'echo $$ > %s; exec sleep 100' </dev/null >/dev/null 2>&1 &) ; exit 0`, pidfile)
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"/bin/sh", "-c", script}})
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	pids := readPids(t, pidfile, 1)
	if !proctree.Alive(pids[0]) {
		t.Fatal("the daemon did not start")
	}
	if err := env.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 2*time.Second, pids...)
}
