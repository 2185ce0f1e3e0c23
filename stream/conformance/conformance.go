// Package conformance checks that a stream type keeps the contract of
// package stream, the way testing/fstest.TestFS checks a file system and
// golang.org/x/net/nettest.TestConn checks a connection: one call runs every
// check against an implementation.
//
//	func TestConformance(t *testing.T) {
//		conformance.Test(t, func(t *testing.T) stream.Environment {
//			env, err := mytype.New(stream.Config{ID: "c", Type: "mytype", Grace: 200 * time.Millisecond, Logf: t.Logf})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return env
//		}, conformance.Options{SameHost: true})
//	}
//
// Each point of the contract is a subtest with a name of its own
// ("exit/signal", "send/symlinks", "close/kills-trees"), so that
//
//	go test -run 'TestConformance/gate/'
//
// checks one group. docs/conformance.md lists every subtest with what it
// promises and how it is checked.
//
// What the suite needs of a stream: Linux (it reads /proc/PID/stat and
// /proc/PID/cmdline on the stream to see process trees), /bin/sh and the
// POSIX tools awk, cat, chmod, false, ls, mkdir, sleep, tr and true, plus
// setsid (util-linux or busybox). Every wait is bounded by Options.Timeout;
// on a local stream the whole suite takes a few seconds.
package conformance

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// Options says what the type under test promises beyond the common
// contract, and how patient the suite must be with it.
type Options struct {
	// SameHost: two Environments from open share a host and process
	// namespace, so one can see the other's processes and files (local,
	// remote on one host). The suite then checks from a second stream that
	// Close killed whole trees and removed the work directory. False (a
	// container, a sandbox with its own PID namespace) makes the close
	// checks rely on what the closed stream's own processes report.
	SameHost bool

	// KillsDetached: Close also kills processes that left the block's
	// process group and session and were re-parented away from it (a
	// daemon that detached with setsid). Checked only with SameHost: no
	// other stream could see them. False leaves such daemons unchecked.
	KillsDetached bool

	// Timeout bounds each step the suite waits for: a Setup, a Start, a
	// process's end, a state it polls for. Zero means 10 seconds. A step
	// that passes returns as soon as it does; the bound only decides how
	// long a broken type takes to fail.
	Timeout time.Duration

	// ClockSkew is how far the stream's clock may be from the test
	// machine's: Exit.Started of a gated process is read on the stream's
	// clock. Zero means 100ms (the stream runs on the test's machine or in
	// a container or namespace on it).
	ClockSkew time.Duration

	// NetAdmin: the type implements stream.NetAdmin and it works where
	// the suite runs (root on the host through its command, the helper
	// image in place). The netadmin/ subtests then check it.
	NetAdmin bool
}

// Test checks the contract. open returns a new, not yet set up Environment
// each call; Test sets it up, uses it and closes it (open may register
// t.Cleanup for what it made). Most subtests share one Environment; those
// about Setup and Close open their own, and with SameHost a second one to
// look from. open should set a short stream.Config.Grace (200ms, say): the
// close checks wait it out once, with a process that ignores SIGTERM.
func Test(t *testing.T, open func(t *testing.T) stream.Environment, opts Options) {
	s := &suite{open: open, opts: opts, timeout: opts.Timeout, skew: opts.ClockSkew}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	if s.skew <= 0 {
		s.skew = 100 * time.Millisecond
	}
	// The suite's sleeping processes outlive every bound by far, so that a
	// process found dead was killed; and still end by themselves, should a
	// type under test fail to kill them.
	s.long = max(10, int(10*s.timeout/time.Second))

	s.env = s.openEnv(t)
	t.Cleanup(func() {
		if err := s.close(t, s.env); err != nil {
			t.Errorf("Close of the shared Environment: %v", err)
		}
	})
	s.setUp(t, s.env)

	checks := s.checks()
	last := checks[len(checks)-1] // errors/no-prefix reviews the others' errors too
	checks = append(append(checks[:len(checks)-1], s.netAdminChecks()...), last)
	for _, c := range checks {
		t.Run(c.name, c.f)
	}
}

type check struct {
	name string
	f    func(t *testing.T)
}

// checks lists the subtests in the order they run: errors/no-prefix last,
// since it also reviews every error the others collected.
func (s *suite) checks() []check {
	return []check{
		{"setup/workdir", s.setupWorkDir},
		{"setup/cancelled", s.setupCancelled},
		{"host", s.host},
		{"exit/status", s.exitStatus},
		{"exit/signal", s.exitSignal},
		{"stdio/apart", s.stdioApart},
		{"stdio/large", s.stdioLarge},
		{"stdin/streamed", s.stdinStreamed},
		{"stdin/nil", s.stdinNil},
		{"stdin/large", s.stdinLarge},
		{"env", s.envAdded},
		{"env/not-on-command-line", s.envNotOnCommandLine},
		{"dir/default-workdir", s.dirDefault},
		{"dir/relative", s.dirRelative},
		{"dir/absolute", s.dirAbsolute},
		{"start/missing-program", s.startMissingProgram},
		{"start/missing-dir", s.startMissingDir},
		{"start/concurrent", s.startConcurrent},
		{"send/file", s.sendFile},
		{"send/dir-modes", s.sendDirModes},
		{"send/symlinks", s.sendSymlinks},
		{"send/special-files", s.sendSpecial},
		{"send/replace-and-merge", s.sendReplaceMerge},
		{"gate/parked-until-release", s.gateParked},
		{"gate/release-twice", s.gateReleaseTwice},
		{"gate/signal-before-release", s.gateSignalBeforeRelease},
		{"signal/tree", s.signalTree},
		{"signal/leftovers", s.signalLeftovers},
		{"signal/stop-cont", s.signalStopCont},
		{"stop/term", s.stopTerm},
		{"stop/term-ignored", s.stopTermIgnored},
		{"stop/after-end", s.stopAfterEnd},
		{"background/outlives-block", s.backgroundOutlives},
		{"wait/background-holds-stdout", s.waitBackgroundStdout},
		{"close/kills-trees", s.closeKillsTrees},
		{"close/removes-workdir", s.closeRemovesWorkDir},
		{"close/detached", s.closeDetached},
		{"close/idempotent", s.closeIdempotent},
		{"close/before-setup", s.closeBeforeSetup},
		{"closed/errors", s.closedErrors},
		{"errors/no-prefix", s.errorsNoPrefix},
	}
}

// suite is one run of Test.
type suite struct {
	open    func(*testing.T) stream.Environment
	opts    Options
	timeout time.Duration
	skew    time.Duration
	long    int                // seconds the suite's sleeping processes sleep
	env     stream.Environment // shared by most subtests; set up

	mu   sync.Mutex
	errs []typeError // every error the type returned, for errors/no-prefix
}

// typeError is an error the type returned, and where.
type typeError struct {
	where string
	err   error
}

// note records an error the type returned.
func (s *suite) note(t testing.TB, op string, err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, typeError{t.Name() + ": " + op, err})
}

// bounded runs f and waits for it at most s.timeout. It reports false when
// f is still running: a call of the type that hangs.
func (s *suite) bounded(f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

// setUp sets e up, failing t if it cannot.
func (s *suite) setUp(t testing.TB, e stream.Environment) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var err error
	if !s.bounded(func() { err = e.Setup(ctx) }) {
		t.Fatalf("Setup did not return within %v", s.timeout)
	}
	if err != nil {
		s.note(t, "Setup", err)
		t.Fatalf("Setup: %v", err)
	}
}

// openEnv calls open, failing t if it returns nil.
func (s *suite) openEnv(t *testing.T) stream.Environment {
	t.Helper()
	e := s.open(t)
	if e == nil {
		t.Fatal("open returned a nil Environment")
	}
	return e
}

// fresh opens and sets up an Environment of its own for t, closed when t
// ends.
func (s *suite) fresh(t *testing.T) stream.Environment {
	t.Helper()
	e := s.openEnv(t)
	t.Cleanup(func() {
		if err := s.close(t, e); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	s.setUp(t, e)
	return e
}

// close closes e, failing t if Close hangs.
func (s *suite) close(t testing.TB, e stream.Environment) error {
	t.Helper()
	var err error
	if !s.bounded(func() { err = e.Close() }) {
		t.Fatalf("Close did not return within %v", s.timeout)
	}
	s.note(t, "Close", err)
	return err
}

// tryStart starts cmd on e. The process is stopped (its whole tree killed)
// when t ends, whatever the test did with it.
func (s *suite) tryStart(t testing.TB, e stream.Environment, cmd *stream.Command) (stream.Process, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var p stream.Process
	var err error
	if !s.bounded(func() { p, err = e.Start(ctx, cmd) }) {
		t.Fatalf("Start %q did not return within %v", cmd.Args, s.timeout)
	}
	if err != nil {
		s.note(t, "Start", err)
		if p != nil {
			t.Errorf("Start %q returned a process and the error %v", cmd.Args, err)
		}
		return nil, err
	}
	if p == nil {
		t.Fatalf("Start %q returned neither a process nor an error", cmd.Args)
	}
	t.Cleanup(func() { stream.Stop(p, 0) })
	return p, nil
}

// start starts cmd on e, failing t if it cannot.
func (s *suite) start(t testing.TB, e stream.Environment, cmd *stream.Command) stream.Process {
	t.Helper()
	p, err := s.tryStart(t, e, cmd)
	if err != nil {
		t.Fatalf("Start %q: %v", cmd.Args, err)
	}
	return p
}

// wait waits for p to end, for at most s.timeout, and returns its Exit. A
// Wait error fails t.
func (s *suite) wait(t testing.TB, p stream.Process, what string) stream.Exit {
	t.Helper()
	x, err := s.waitErr(t, p, what)
	if err != nil {
		t.Fatalf("Wait for %s: %v", what, err)
	}
	return x
}

// waitErr is wait that returns Wait's error.
func (s *suite) waitErr(t testing.TB, p stream.Process, what string) (stream.Exit, error) {
	t.Helper()
	var x stream.Exit
	var err error
	if !s.bounded(func() { x, err = p.Wait() }) {
		t.Fatalf("%s did not end within %v", what, s.timeout)
	}
	s.note(t, "Wait", err)
	return x, err
}

// result is how a block ended and what it wrote.
type result struct {
	exit           stream.Exit
	stdout, stderr string
}

// run runs cmd on e to its end; it sets Stdout and Stderr.
func (s *suite) run(t testing.TB, e stream.Environment, cmd *stream.Command) result {
	t.Helper()
	out, errOut := &output{}, &output{}
	cmd.Stdout, cmd.Stderr = out, errOut
	p := s.start(t, e, cmd)
	x := s.wait(t, p, fmt.Sprintf("%q", cmd.Args))
	return result{x, out.String(), errOut.String()}
}

// sh runs script with /bin/sh on e (args are $1...) and returns its
// standard output. Anything but exit status 0 fails t.
func (s *suite) sh(t testing.TB, e stream.Environment, script string, args ...string) string {
	t.Helper()
	return s.shIn(t, e, "", script, args...)
}

// shIn is sh in the directory dir ("" for WorkDir).
func (s *suite) shIn(t testing.TB, e stream.Environment, dir, script string, args ...string) string {
	t.Helper()
	r := s.run(t, e, &stream.Command{Args: append([]string{"/bin/sh", "-c", script, "sh"}, args...), Dir: dir})
	if !r.exit.Success() {
		t.Fatalf("checking on the stream: %s (script %q, stderr %q)", r.exit, script, r.stderr)
	}
	return r.stdout
}

// pollEvery is how often the suite looks again for a state it waits for.
const pollEvery = 20 * time.Millisecond

// eventually calls check until it reports true, for at most s.timeout;
// then t fails, saying what was awaited and the last state check saw.
func (s *suite) eventually(t testing.TB, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(s.timeout)
	for {
		ok, state := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so within %v (%s)", what, s.timeout, state)
		}
		time.Sleep(pollEvery)
	}
}

// output keeps what a process writes and lets a test wait for it.
type output struct {
	mu   sync.Mutex
	b    []byte
	wake chan struct{} // closed and replaced at each write
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b = append(o.b, p...)
	if o.wake != nil {
		close(o.wake)
		o.wake = nil
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.b)
}

// waitFor waits at most d for the output to satisfy ok; it returns the
// output and whether it does.
func (o *output) waitFor(d time.Duration, ok func(string) bool) (string, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		o.mu.Lock()
		s := string(o.b)
		if o.wake == nil {
			o.wake = make(chan struct{})
		}
		wake := o.wake
		o.mu.Unlock()
		if ok(s) {
			return s, true
		}
		select {
		case <-wake:
		case <-timer.C:
			return s, false
		}
	}
}

// isClosed reports whether c is closed.
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// wantExit fails t unless x is the exit status code (sig 0) or death by
// sig (code -1).
func wantExit(t testing.TB, what string, x stream.Exit, code int, sig syscall.Signal) {
	t.Helper()
	if sig != 0 {
		code = -1
	}
	if x.Code != code || x.Signal != sig {
		want := stream.Exit{Code: code, Signal: sig}
		t.Errorf("%s ended with %s (Code %d, Signal %d), want %s (Code %d, Signal %d)",
			what, x, x.Code, int(x.Signal), want, want.Code, int(want.Signal))
	}
}
