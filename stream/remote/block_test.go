package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// unitEnv returns a set-up stream on a fresh in-process SSH server.
func unitEnv(t *testing.T) *Env {
	t.Helper()
	e, _ := newUnitEnv(t, unitParams(newTestServer(t)))
	if err := e.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestWrapperLine runs the wrapper's command line with the local /bin/sh,
// as the SSH server would, with a preamble on its input.
func TestWrapperLine(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"work/sub", "run"} {
		os.MkdirAll(filepath.Join(base, d), 0o755)
	}
	os.WriteFile(filepath.Join(base, "work", "plain"), []byte("#!/bin/sh\necho plain\n"), 0o644)
	os.WriteFile(filepath.Join(base, "work", "sub", "run.sh"), []byte("#!/bin/sh\necho run\n"), 0o755)
	type testCase struct {
		name   string
		gated  bool
		dir    string
		args   []string
		env    []string
		input  string // after the preamble
		none   bool   // no input: the program reads /dev/null
		code   int
		stdout string
		report string // the last control line
	}
	tests := []testCase{
		{name: "args", args: []string{"printf", "%s|", "a b", "it's", "$X", "", "\n"}, stdout: "a b|it's|$X||\n|", report: "ready"},
		{name: "env", args: []string{"sh", "-c", `printf '%s|%s' "$A" "$B"`}, env: []string{"A=first-value-9f2", "A=two\nlines\n", "B= $(id) 'q' \\"},
			stdout: "two\nlines\n| $(id) 'q' \\", report: "ready"},
		{name: "env lines like counts", args: []string{"sh", "-c", `printf '%s|%s' "$C" "$D"`}, env: []string{"C=0\n2\n0", "D=\n\n"}, stdout: "0\n2\n0|\n\n", report: "ready"},
		{name: "env changes PATH", args: []string{"run.sh"}, env: []string{"PATH=" + filepath.Join(base, "work", "sub")}, stdout: "run\n", report: "ready"},
		{name: "stdin after the preamble", args: []string{"cat"}, env: []string{"A=val-77c1"}, input: "in\nput", stdout: "in\nput", report: "ready"},
		{name: "dir", dir: "sub", args: []string{"./run.sh"}, stdout: "run\n", report: "ready"},
		{name: "absolute dir", dir: "/", args: []string{"pwd"}, stdout: "/\n", report: "ready"},
		{name: "exit status", args: []string{"sh", "-c", "exit 7"}, code: 7, report: "ready"},
		{name: "gated", gated: true, args: []string{"cat"}, input: "go\nafter", stdout: "after", report: "go"},
		{name: "no input", none: true, args: []string{"cat"}, input: "not for the program", stdout: "", report: "ready"},
		{name: "gated, no input", gated: true, none: true, env: []string{"A=v-8c1e"}, args: []string{"sh", "-c", `echo "$A"; cat`}, input: "go\nnot for the program", stdout: "v-8c1e\n", report: "go"},
		{name: "gate closed", gated: true, args: []string{"echo", "ran"}, input: "no\n", code: 125, report: "ready"},
		{name: "missing program", args: []string{"no-such-program-x"}, code: 125, report: "error program no-such-program-x is not in PATH"},
		{name: "missing path", args: []string{"./none"}, code: 125, report: "error program ./none does not exist"},
		{name: "not executable", args: []string{"./plain"}, code: 125, report: "error program ./plain is not executable"},
		{name: "a directory", args: []string{"./sub"}, code: 125, report: "error program ./sub is a directory"},
		{name: "missing dir", dir: "nope", args: []string{"true"}, code: 125, report: "error directory " + filepath.Join(base, "work", "nope") + " does not exist"},
		{name: "dir is a file", dir: "plain", args: []string{"true"}, code: 125, report: "error " + filepath.Join(base, "work", "plain") + " is not a directory"},
		{name: "no preamble end", args: []string{"true"}, env: nil, input: "\x00", code: 125},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pre, err := preamble(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "no preamble end" {
				pre = []byte("2\nA=1\n") // the input ends inside an entry
			}
			line := wrapperLine(base, wrapperFlags(tc.gated, len(pre) > 0, !tc.none), tc.dir, tc.args)
			for _, kv := range tc.env {
				_, v, _ := strings.Cut(kv, "=")
				if strings.Contains(line, v) {
					t.Errorf("the command line holds the value %q", v)
				}
			}
			var out, errb bytes.Buffer
			cmd := exec.Command("/bin/sh", "-c", line)
			cmd.Stdin = io.MultiReader(bytes.NewReader(pre), strings.NewReader(strings.TrimSuffix(tc.input, "\x00")))
			cmd.Stdout, cmd.Stderr = &out, &errb
			err = cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if code != tc.code || out.String() != tc.stdout {
				t.Errorf("exit %d (%v), stdout %q; want %d, %q; stderr %q", code, err, out.String(), tc.code, tc.stdout, errb.String())
			}
			var last string
			for _, l := range strings.Split(errb.String(), "\n") {
				if strings.HasPrefix(l, "\x1e") {
					last = l[1:]
				}
			}
			if !strings.HasPrefix(last, tc.report) || tc.report == "" && last != "" {
				t.Errorf("last report %q, want %q (stderr %q)", last, tc.report, errb.String())
			}
		})
	}
}

func TestPreamble(t *testing.T) {
	for _, env := range [][]string{{"1A=x-secret"}, {"A-B=x-secret"}, {"novalue"}, {"_st_b=x-secret"}, {"A=a\x00b-secret"}} {
		_, err := preamble(env)
		if err == nil {
			t.Errorf("preamble(%q): no error", env)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("preamble(%q): the error shows the value: %v", env, err)
		}
	}
	got, err := preamble([]string{"A=1", "B=two\nlines", "C=0\n0\n"})
	if want := "1\nA=1\n2\nB=two\nlines\n3\nC=0\n0\n\n0\n"; err != nil || string(got) != want {
		t.Errorf("preamble = %q, %v; want %q", got, err, want)
	}
	if got, err := preamble(nil); err != nil || len(got) != 0 {
		t.Errorf("preamble(nil) = %q, %v; want nothing", got, err)
	}
	for _, c := range []struct {
		gated, env, input bool
		want              string
	}{{false, false, true, "-"}, {false, false, false, "n"}, {true, true, false, "gen"}, {true, false, true, "g"}} {
		if got := wrapperFlags(c.gated, c.env, c.input); got != c.want {
			t.Errorf("wrapperFlags(%v, %v, %v) = %q, want %q", c.gated, c.env, c.input, got, c.want)
		}
	}
}

func TestUnitStartErrors(t *testing.T) {
	e := unitEnv(t)
	os.WriteFile(filepath.Join(e.WorkDir(), "plain"), []byte("#!/bin/sh\n"), 0o644)
	ctx := context.Background()
	type testCase struct {
		cmd  stream.Command
		want string
	}
	tests := []testCase{
		{stream.Command{Args: []string{"no-such-program-x"}}, "program no-such-program-x is not in PATH ("},
		{stream.Command{Args: []string{"./none"}}, "program ./none does not exist"},
		{stream.Command{Args: []string{"./plain"}}, "program ./plain is not executable"},
		{stream.Command{Args: []string{"true"}, Dir: "nope"}, "directory " + e.WorkDir() + "/nope does not exist"},
		{stream.Command{Args: []string{"true"}, Dir: "/nonexistent-dir"}, "directory /nonexistent-dir does not exist"},
		{stream.Command{Args: []string{"true"}, Gated: true, Dir: "nope"}, "does not exist"},
		{stream.Command{Args: []string{"true"}, Env: []string{"BAD NAME=1"}}, "not a shell variable name"},
		{stream.Command{}, "no program given"},
	}
	for _, tc := range tests {
		p, err := e.Start(ctx, &tc.cmd)
		if err == nil {
			p.Wait()
			t.Errorf("Start(%q, dir %q): no error", tc.cmd.Args, tc.cmd.Dir)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.HasPrefix(err.Error(), "stream") {
			t.Errorf("Start(%q, dir %q): %v; want %q", tc.cmd.Args, tc.cmd.Dir, err, tc.want)
		}
	}
	if n := e.procs.Len(); n != 0 {
		t.Errorf("%d processes left in the set", n)
	}
	// the wrappers that refused registered nothing
	if reg, err := os.ReadFile(filepath.Join(filepath.Dir(e.WorkDir()), "run", "blocks")); err != nil || len(reg) != 0 {
		t.Errorf("registered: %q, %v", reg, err)
	}
}

// cmdlines returns every command line on this machine that holds s.
func cmdlines(t *testing.T, s string) []string {
	t.Helper()
	var found []string
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = append(found, f+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return found
}

// TestUnitEnvNotOnCommandLine runs a block with a secret in its
// environment, and reads every command line of the machine (the
// in-process server runs blocks here) while it runs.
func TestUnitEnvNotOnCommandLine(t *testing.T) {
	e := unitEnv(t)
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
	if found := cmdlines(t, secret); len(found) > 0 {
		t.Errorf("the secret is on a command line:\n%s", strings.Join(found, "\n"))
	}
	if err := stream.Stop(p, 0); err != nil {
		t.Fatal(err)
	}
}

func TestUnitStdinStreamed(t *testing.T) {
	e := unitEnv(t)
	for _, gated := range []bool{false, true} {
		pr, pw := io.Pipe()
		var out syncBuffer
		p, err := e.Start(context.Background(), &stream.Command{Args: []string{"cat"}, Stdin: pr, Stdout: &out, Gated: gated})
		if err != nil {
			t.Fatal(err)
		}
		if gated {
			if err := p.Release(); err != nil {
				t.Fatal(err)
			}
		}
		pw.Write([]byte("ping\n"))
		waitFor(t, func() bool { return out.String() == "ping\n" }, "ping echoed before the input ends")
		pw.Write([]byte("pong\n"))
		pw.Close()
		x, err := p.Wait()
		if err != nil || !x.Success() || out.String() != "ping\npong\n" {
			t.Errorf("gated %v: %v %v %q", gated, x, err, out.String())
		}
	}
}

// procState reads the state letter of pid from /proc (R, S, T, ...).
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return ""
}

func TestUnitSignals(t *testing.T) {
	e := unitEnv(t)
	ctx := context.Background()
	// a program that kills itself
	p, err := e.Start(ctx, &stream.Command{Args: []string{"sh", "-c", "kill -USR1 $$"}})
	if err != nil {
		t.Fatal(err)
	}
	if x, err := p.Wait(); err != nil || x.Signal != syscall.SIGUSR1 || x.Code != -1 || x.String() != "killed by SIGUSR1" {
		t.Errorf("kill -USR1 $$: %+v, %v", x, err)
	}
	// SIGSTOP and SIGCONT to the group, then SIGUSR1
	pr, pw := io.Pipe()
	defer pw.Close()
	var out syncBuffer
	p, err = e.Start(ctx, &stream.Command{Args: []string{"cat"}, Stdin: pr, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	pid := p.(*process).pgid
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return procState(pid) == "T" }, "the block stopped")
	if err := p.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return procState(pid) != "T" }, "the block continued")
	pw.Write([]byte("alive\n"))
	waitFor(t, func() bool { return out.String() == "alive\n" }, "the block to echo")
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if x, err := p.Wait(); err != nil || x.Signal != syscall.SIGUSR1 {
		t.Errorf("SIGUSR1: %+v, %v", x, err)
	}
}

// TestUnitGateClosedBySignal: a signal on a gated process that was not
// released closes its gate: the program never runs.
func TestUnitGateClosedBySignal(t *testing.T) {
	e := unitEnv(t)
	var out syncBuffer
	p, err := e.Start(context.Background(), &stream.Command{Args: []string{"echo", "ran"}, Gated: true, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	x, err := p.Wait()
	if err != nil || x.Signal != syscall.SIGUSR2 || !x.Started.IsZero() || out.String() != "" {
		t.Errorf("%+v, %v, stdout %q; want killed by SIGUSR2, never started", x, err, out.String())
	}
	if err := p.Release(); err == nil {
		t.Error("Release after the gate closed: no error")
	}
	p, _ = e.Start(context.Background(), &stream.Command{Args: []string{"true"}})
	if err := p.Release(); err == nil {
		t.Error("Release of a process that was not gated: no error")
	}
	p.Wait()
}

// TestUnitBackground: what a block starts in the background outlives it,
// holding its output open does not hold Wait, Signal still reaches it, and
// Close kills it.
func TestUnitBackground(t *testing.T) {
	e := unitEnv(t)
	ctx := context.Background()
	m := marker()
	var out syncBuffer
	p, err := e.Start(ctx, &stream.Command{Args: []string{"sh", "-c", "sleep " + m + " & echo started"}, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	x, err := p.Wait()
	if err != nil || !x.Success() || out.String() != "started\n" {
		t.Fatalf("%+v, %v, %q", x, err, out.String())
	}
	if d := x.Ended.Sub(x.Started); d > 5*time.Second {
		t.Errorf("the block took %v: its background child held Wait", d)
	}
	waitThere(t, "sleep "+m, 1)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "sleep "+m, 5*time.Second, "after a signal to the ended block")

	// Close kills the background of a finished block.
	m = marker()
	p, err = e.Start(ctx, &stream.Command{Args: []string{"sh", "-c", "sleep " + m + " >/dev/null 2>&1 &"}})
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	waitThere(t, "sleep "+m, 1)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "sleep "+m, 5*time.Second, "after Close")
}

// TestUnitWaitOutputBound: Wait returns within stream.OutputWait of the
// program's end while a background child holds stdout; the child's later
// output is not copied.
func TestUnitWaitOutputBound(t *testing.T) {
	e := unitEnv(t)
	var out syncBuffer
	p, err := e.Start(context.Background(), &stream.Command{Args: []string{"sh", "-c", "(sleep 1; echo late) & echo early"}, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	x, err := p.Wait()
	returned := time.Now()
	if err != nil || !x.Success() {
		t.Fatal(x, err)
	}
	if d := x.Ended.Sub(x.Started); d > 900*time.Millisecond {
		t.Errorf("the program's end was learnt %v after its start", d)
	}
	if d := returned.Sub(x.Ended); d > stream.OutputWait+300*time.Millisecond {
		t.Errorf("Wait returned %v after the program's end, want at most OutputWait (%v)", d, stream.OutputWait)
	}
	if out.String() != "early\n" {
		t.Errorf("stdout %q", out.String())
	}
}

func TestUnitClosed(t *testing.T) {
	e := unitEnv(t)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err1 := e.Start(ctx, &stream.Command{Args: []string{"true"}})
	err2 := e.Setup(ctx)
	err3 := e.Send(ctx, t.TempDir(), "x")
	for i, err := range []error{err1, err2, err3} {
		if !errors.Is(err, stream.ErrClosed) {
			t.Errorf("call %d after Close: %v", i, err)
		}
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestUnitSend(t *testing.T) {
	e := unitEnv(t)
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "ro", "in"), 0o755)
	os.WriteFile(filepath.Join(src, "ro", "in", "f"), []byte("f"), 0o640)
	os.Symlink("in/f", filepath.Join(src, "ro", "inside"))
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("out"), 0o600)
	os.Symlink(outside, filepath.Join(src, "ro", "abs"))
	os.Chmod(filepath.Join(src, "ro"), 0o555)
	t.Cleanup(func() { os.Chmod(filepath.Join(src, "ro"), 0o755) })
	dst := filepath.Join(e.WorkDir(), "tree")
	t.Cleanup(func() { os.Chmod(filepath.Join(dst, "ro"), 0o755) })
	ctx := context.Background()
	for range 2 { // the second time over the first: merged, replaced
		if err := e.Send(ctx, src, "tree"); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dst, "ro")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("0555 directory: %v %v", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "ro", "inside")); err != nil || l != "in/f" {
		t.Errorf("link inside: %q %v", l, err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "ro", "abs")); err != nil || string(b) != "out" {
		t.Errorf("link outside followed: %q %v", b, err)
	}
	if fi, err := os.Lstat(filepath.Join(dst, "ro", "abs")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("link outside: %v %v", fi, err)
	}
	// a read-only file is replaced
	one := filepath.Join(t.TempDir(), "one")
	os.WriteFile(one, []byte("1"), 0o444)
	os.WriteFile(one+"2", []byte("2"), 0o444)
	if err := e.Send(ctx, one, "/"+strings.TrimPrefix(e.WorkDir(), "/")+"/one"); err != nil {
		t.Fatal(err)
	}
	if err := e.Send(ctx, one+"2", "one"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(e.WorkDir(), "one")); string(b) != "2" {
		t.Errorf("replaced file holds %q", b)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCutLinkBound(t *testing.T) {
	for _, tc := range []struct {
		keepalive time.Duration
		checks    int
		bound     time.Duration
	}{
		{0, 3, 5 * time.Second},
		{500 * time.Millisecond, 3, 5 * time.Second},
		{3 * time.Second, 3, 5 * time.Second},
		{3500 * time.Millisecond, 4, 6 * time.Second},
		{defaultKeepalive, 5, 7 * time.Second},
	} {
		if n, b := watchdogChecks(tc.keepalive), CutLinkBound(tc.keepalive); n != tc.checks || b != tc.bound {
			t.Errorf("keepalive %v: %d checks, bound %v; want %d, %v", tc.keepalive, n, b, tc.checks, tc.bound)
		}
	}
}

// silentStream sets up a stream (keepalive 500ms) on the in-process server
// with a block running a tree of sleeps with marker m, then stops the
// client's heartbeats (and keepalives) with the connection up. base is the
// stream's base directory on the host.
func silentStream(t *testing.T) (e *Env, p stream.Process, m, base string) {
	t.Helper()
	params := unitParams(newTestServer(t))
	params["keepalive"] = 500 * time.Millisecond
	e, _ = newUnitEnv(t, params)
	if err := e.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	m = marker()
	p = sleeper(t, e, m)
	base = filepath.Dir(e.WorkDir())
	e.mu.Lock()
	close(e.stopKA)
	e.stopKA = nil
	e.mu.Unlock()
	return e, p, m, base
}

// TestUnitWatchdog stops the client's heartbeats with the connection up, as
// a frozen client or a link that carries nothing would: the host's guard
// kills the blocks' trees and removes the work directory within
// CutLinkBound.
func TestUnitWatchdog(t *testing.T) {
	e, p, m, base := silentStream(t)
	start := time.Now()
	bound := CutLinkBound(e.s.keepalive)
	waitGone(t, "sleep "+m, bound, "after the heartbeats stopped")
	for remoteExists(base) && time.Since(start) < bound {
		time.Sleep(50 * time.Millisecond)
	}
	if remoteExists(base) {
		t.Errorf("%s left behind %v after the heartbeats stopped", base, bound)
	}
	if took := time.Since(start); took < time.Duration(minWatchdogChecks-1)*time.Second {
		t.Errorf("the guard cleaned up %v after the last heartbeat: before %d s of silence", took, minWatchdogChecks-1)
	}
	if x, err := p.Wait(); err != nil || x.Signal != syscall.SIGKILL {
		t.Errorf("the block: %+v, %v; want killed by SIGKILL", x, err)
	}
}

// Every line the guard reads is a sign of life, not only heartbeats: a
// burst of signals, each a walk of the host's process table, must not make
// the watchdog take a live client for a lost one (the heartbeats wait
// behind them). With the heartbeats stopped, a stream of signal lines for
// longer than the watchdog's silence keeps the guard and the block alive.
func TestUnitWatchdogCountsEveryLine(t *testing.T) {
	e, p, _, base := silentStream(t)
	e.mu.Lock()
	g := e.guard
	e.mu.Unlock()
	silence := time.Duration(watchdogChecks(e.s.keepalive)+2) * time.Second
	for start := time.Now(); time.Since(start) < silence; {
		// SIGCONT to a group that does not exist: harmless, but a walk of
		// the process table like any signal.
		if err := g.signal(1<<22, syscall.SIGCONT); err != nil {
			t.Fatalf("signal line: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !remoteExists(base) {
		t.Fatalf("the guard cleaned up %s although it read a line every 200ms", base)
	}
	select {
	case <-p.Done():
		x, err := p.Wait()
		t.Fatalf("the block ended: %v, %v", x, err)
	default:
	}
}

// A registration is checked before the guard signals: a pid that was
// reused after a block's group emptied belongs to someone else, who must be
// left alone. The stand-in for such a process is a session leader this test
// starts outside the stream, registered in the stream's run/blocks as a
// block that registered before it started.
func TestUnitGuardSkipsReusedPIDs(t *testing.T) {
	e, _ := newUnitEnv(t, unitParams(newTestServer(t)))
	if err := e.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := marker()
	other := exec.Command("sleep", m)
	other.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // its own group, as a block's is
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Process.Kill(); other.Wait() })
	pid := other.Process.Pid
	blocks := filepath.Join(filepath.Dir(e.WorkDir()), "run", "blocks")
	// The block that had this pid registered 10 ms after the boot.
	f, err := os.OpenFile(blocks, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(f, "%d 0.01\n", pid); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A block of the stream itself, registered by the wrapper as usual.
	p := sleeper(t, e, marker())
	e.mu.Lock()
	g := e.guard
	e.mu.Unlock()
	if err := g.signal(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if x, err := p.Wait(); err != nil || x.Signal == 0 {
		t.Errorf("the stream's own block: %v, %v; want killed by Close", x, err)
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the process with the reused pid %d was killed by the stream's guard: %v", pid, err)
	}
	if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(st), ") Z ") {
		t.Fatalf("the process with the reused pid %d was killed by the stream's guard (a zombie now)", pid)
	}
}
