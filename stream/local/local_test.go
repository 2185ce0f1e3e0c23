package local_test

import (
	"bytes"
	"context"
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
)

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

func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	return !strings.Contains(s[strings.LastIndexByte(s, ')'):], ") Z")
}

// waitGone polls until none of pids is alive, or fails after d.
func waitGone(t *testing.T, d time.Duration, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var left []int
		for _, pid := range pids {
			if alive(pid) {
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
	if !alive(pids[0]) {
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
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"touch", marker}, Gated: true})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("gated program ran before Release")
	}
	before := time.Now()
	if err := p.Release(); err != nil {
		t.Fatal(err)
	}
	exit, err := p.Wait()
	if err != nil || exit.Code != 0 {
		t.Fatalf("exit %+v, %v", exit, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("program did not run after Release: %v", err)
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
	exit, _ := p.Wait()
	if exit.Success() {
		t.Errorf("exit = %+v, want a failure: the program never ran", exit)
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
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStartTree$", "-test.v")
	cmd.Env = append(os.Environ(), "LOCAL_TEST_HELPER_DIR="+dir)
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

func TestHelperStartTree(t *testing.T) {
	dir := os.Getenv("LOCAL_TEST_HELPER_DIR")
	if dir == "" {
		t.Skip("helper for TestGuardCleansUpAfterSIGKILL")
	}
	env := newEnv(t, nil)
	os.WriteFile(filepath.Join(dir, "workdir"), []byte(env.WorkDir()), 0o600)
	script := fmt.Sprintf(`sleep 100 & a=$!; setsid sleep 100 & b=$!; echo $$ $a $b > %s/pids; wait`, dir)
	if _, err := env.Start(context.Background(), &stream.Command{Args: []string{"/bin/sh", "-c", script}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute)
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
	if !alive(pids[0]) {
		t.Fatal("the daemon did not start")
	}
	if err := env.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 2*time.Second, pids...)
}
