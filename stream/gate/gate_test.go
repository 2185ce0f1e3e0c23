package gate_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/gate"
)

// start wraps and starts args in dir and waits for the gate to be ready.
func start(t *testing.T, dir string, args ...string) (*exec.Cmd, *gate.Gate) {
	t.Helper()
	cmd := &exec.Cmd{Path: args[0], Args: args, Dir: dir}
	g, err := gate.Wrap(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	if err := g.AwaitReady(t.Context()); err != nil {
		t.Fatalf("AwaitReady: %v", err)
	}
	return cmd, g
}

// exe returns what pid runs now.
func exe(t *testing.T, pid int) string {
	t.Helper()
	p, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParkedUntilRelease(t *testing.T) {
	dir := t.TempDir()
	cmd, g := start(t, dir, "touch", "ran")
	self, _ := os.Executable()
	// Ready means parked in the gate, which exec's only after the release:
	// the process still runs this executable, and nothing ran.
	if got := exe(t, cmd.Process.Pid); got != self {
		t.Fatalf("a ready gated process runs %s, want the gate (%s)", got, self)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("the program ran before Release")
	}
	before := time.Now()
	if err := g.Release(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the released program failed: %v", err)
	}
	started, err := g.Started()
	if err != nil {
		t.Fatal(err)
	}
	if started.Before(before) || started.After(time.Now()) {
		t.Errorf("Started %v is not between Release (%v) and the end", started, before)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err != nil {
		t.Errorf("the program did not run after Release: %v", err)
	}
	if err := g.Release(); err == nil {
		t.Error("a second Release succeeded")
	}
	if g.Close() {
		t.Error("Close after Release reported an abort")
	}
}

func TestCloseAborts(t *testing.T) {
	dir := t.TempDir()
	cmd, g := start(t, dir, "touch", "ran")
	if !g.Close() {
		t.Fatal("Close of a parked gate did not report an abort")
	}
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("an aborted gate ended with %v, want exit status 1", err)
	}
	if started, err := g.Started(); !started.IsZero() || err != nil {
		t.Errorf("Started = %v, %v; want zero: the program never ran", started, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the program of an aborted gate ran")
	}
	if err := g.Release(); err == nil {
		t.Error("Release after Close succeeded")
	}
}

func TestProgramNotFoundBeforeReady(t *testing.T) {
	cmd := &exec.Cmd{Path: "no-such-program-xyz", Args: []string{"no-such-program-xyz"}}
	g, err := gate.Wrap(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = g.AwaitReady(t.Context())
	if err == nil || !strings.Contains(err.Error(), "no-such-program-xyz") {
		t.Errorf("AwaitReady = %v, want an error naming the program", err)
	}
	cmd.Wait()
	if cmd.ProcessState.ExitCode() != 127 {
		t.Errorf("the gate exited with %v, want 127", cmd.ProcessState)
	}
	if started, _ := g.Started(); !started.IsZero() {
		t.Errorf("Started = %v, want zero", started)
	}
}

func TestRelativeProgramAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "prog"), []byte("#!/bin/sh\necho \"$GREETING\" > out\n"), 0o755)
	cmd := &exec.Cmd{Path: "./prog", Args: []string{"./prog"}, Dir: dir, Env: append(os.Environ(), "GREETING=hello")}
	g, err := gate.Wrap(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := g.AwaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	g.Release()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "out"))
	if string(data) != "hello\n" {
		t.Errorf("out = %q, want %q: the gate ran the program in its directory and environment", data, "hello\n")
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "STREAMTEST_HELPER=") {
			t.Errorf("the helper variable leaked: %s", kv)
		}
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "bin"), 0o755)
	os.WriteFile(filepath.Join(dir, "bin", "x"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "bin", "plain"), []byte("data"), 0o644)
	for _, c := range []struct {
		name, path string
		want       string
		err        error
	}{
		{"x", filepath.Join(dir, "bin"), filepath.Join(dir, "bin", "x"), nil},
		{"x", "/nowhere:" + filepath.Join(dir, "bin"), filepath.Join(dir, "bin", "x"), nil},
		{"x", "bin", "./bin/x", nil},
		{"plain", filepath.Join(dir, "bin"), "", exec.ErrNotFound},
		{"x", "/nowhere", "", exec.ErrNotFound},
		{"./bin/x", "", "./bin/x", nil},
		{"bin/x", "", "bin/x", nil},
		{"./bin/plain", "", "", os.ErrPermission},
		{"./bin/none", "", "", os.ErrNotExist},
		{"./bin", "", "", syscall.EISDIR},
	} {
		got, err := gate.LookPath(c.name, dir, []string{"PATH=/first", "PATH=" + c.path})
		if got != c.want || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("LookPath(%q) with PATH=%s = %q, %v; want %q, %v", c.name, c.path, got, err, c.want, c.err)
		}
		if err != nil && !strings.Contains(err.Error(), c.name) {
			t.Errorf("LookPath(%q): error %q does not name the program", c.name, err)
		}
	}
}

func TestCloseAfterAFailedStartFreesThePipes(t *testing.T) {
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	before := fds()
	cmd := &exec.Cmd{Path: "true", Args: []string{"true"}, Dir: filepath.Join(t.TempDir(), "missing")}
	g, err := gate.Wrap(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err == nil {
		cmd.Wait()
		t.Fatal("a start in a missing directory succeeded")
	}
	g.Close()
	if after := fds(); after != before {
		t.Errorf("%d open files before Wrap, %d after Close: the gate's pipes leaked", before, after)
	}
}

func TestAbortAndFinish(t *testing.T) {
	cmd, g := start(t, t.TempDir(), "sleep", "100")
	if !g.Abort(syscall.SIGUSR1) {
		t.Fatal("Abort of a parked gate reported no abort")
	}
	cmd.Wait()
	exit, err := g.Finish(stream.Exit{Code: cmd.ProcessState.ExitCode(), Ended: time.Now()})
	if err != nil || exit.Signal != syscall.SIGUSR1 || exit.Code != -1 || !exit.Started.IsZero() || exit.Ended.IsZero() {
		t.Errorf("Finish after Abort = %+v, %v; want killed by SIGUSR1, never started, Ended kept", exit, err)
	}

	cmd, g = start(t, t.TempDir(), "true")
	g.Release()
	if g.Abort(syscall.SIGTERM) {
		t.Error("Abort after Release reported an abort")
	}
	cmd.Wait()
	exit, err = g.Finish(stream.Exit{Code: 0, Ended: time.Now()})
	if err != nil || exit.Signal != 0 || exit.Code != 0 || exit.Started.IsZero() {
		t.Errorf("Finish after Release = %+v, %v; want exit 0 with the gate's start", exit, err)
	}
}
