package conformance

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// Gates, signals, Stop, background processes.

// releaseBound is how fast Release must return: it is called for every
// member of a group in a tight loop and must not wait for the process.
const releaseBound = 250 * time.Millisecond

// exists reports whether name exists on e (relative to WorkDir).
func (s *suite) exists(t testing.TB, e stream.Environment, name string) bool {
	t.Helper()
	return s.sh(t, e, `if [ -e "$1" ]; then echo yes; else echo no; fi`, name) == "yes\n"
}

func (s *suite) gateParked(t *testing.T) {
	const mark = "conformance-gate-ran"
	out := &output{}
	beforeStart := time.Now()
	p := s.start(t, s.env, &stream.Command{Args: []string{"/bin/sh", "-c", ": > " + mark + "; echo ran"}, Gated: true, Stdout: out})
	// Start returned: the process is ready and parked. Had the program
	// run, its first command would have made the file by the time a second
	// process on the stream looks.
	if s.exists(t, s.env, mark) {
		t.Fatalf("the gated program ran before Release: %s exists", mark)
	}
	if isClosed(p.Done()) {
		x, err := p.Wait()
		t.Fatalf("the gated process ended before Release: %s, %v", x, err)
	}
	released := time.Now()
	if err := p.Release(); err != nil {
		s.note(t, "Release", err)
		t.Fatalf("Release: %v", err)
	}
	if d := time.Since(released); d > releaseBound {
		t.Errorf("Release took %v, want less than %v (it must not wait for the process)", d, releaseBound)
	}
	x := s.wait(t, p, "the released program")
	waited := time.Now()
	wantExit(t, "the released program", x, 0, 0)
	if got := out.String(); got != "ran\n" {
		t.Errorf("the released program printed %q, want %q", got, "ran\n")
	}
	if !s.exists(t, s.env, mark) {
		t.Errorf("the released program did not make %s", mark)
	}
	switch {
	case x.Started.IsZero():
		t.Errorf("Exit.Started is zero for a released gated process, want the instant its gate opened")
	case x.Started.Before(released.Add(-s.skew)) || x.Started.After(waited.Add(s.skew)):
		t.Errorf("Exit.Started = %v, want the instant the gate opened: between Release (%v) and Wait's return (%v), ±%v; Start was called at %v",
			x.Started, released, waited, s.skew, beforeStart)
	}
}

func (s *suite) gateReleaseTwice(t *testing.T) {
	p := s.start(t, s.env, &stream.Command{Args: []string{"true"}, Gated: true})
	if err := p.Release(); err != nil {
		s.note(t, "Release", err)
		t.Fatalf("Release: %v", err)
	}
	err := p.Release()
	s.note(t, "Release", err)
	if err == nil {
		t.Errorf("a second Release returned no error")
	}
	wantExit(t, "the released program", s.wait(t, p, "the released program"), 0, 0)

	q := s.start(t, s.env, &stream.Command{Args: []string{"true"}})
	err = q.Release()
	s.note(t, "Release", err)
	if err == nil {
		t.Errorf("Release of a process started without Gated returned no error")
	}
	wantExit(t, "true", s.wait(t, q, "true"), 0, 0)
}

func (s *suite) gateSignalBeforeRelease(t *testing.T) {
	const mark = "conformance-gate-signalled-ran"
	p := s.start(t, s.env, &stream.Command{Args: []string{"/bin/sh", "-c", ": > " + mark}, Gated: true})
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		s.note(t, "Signal", err)
		t.Fatalf("Signal of a parked process: %v", err)
	}
	x := s.wait(t, p, "the signalled gated process")
	wantExit(t, "a gated process signalled before Release", x, -1, syscall.SIGUSR1)
	if !x.Started.IsZero() {
		t.Errorf("Exit.Started = %v for a gated process signalled before Release, want zero (it never ran)", x.Started)
	}
	// The process has ended: had the program run, the file would be there.
	if s.exists(t, s.env, mark) {
		t.Errorf("the program ran although its gate was closed by a signal: %s exists", mark)
	}
}

// tree is a block's process tree: the leader (a shell), a child in its
// process group, and a child in a session (and group) of its own. It prints
// "pids LEADER CHILD DETACHED", then waits for both. prefix runs first.
func (s *suite) tree(prefix string) []string {
	l := strconv.Itoa(s.long)
	return []string{"/bin/sh", "-c", prefix + "sleep " + l + " & a=$!; setsid sleep " + l + " & b=$!; echo pids $$ $a $b; wait"}
}

// treeRunning waits until the tree that out reports runs on e, its third
// process in a session of its own, and returns what it saw of the tree.
func (s *suite) treeRunning(t testing.TB, e stream.Environment, out *output, what string) map[int]proc {
	t.Helper()
	pids := s.awaitPIDs(t, out, 3, what)
	var was map[int]proc
	s.eventually(t, what+": the child in a session of its own", func() (bool, string) {
		was = s.running(t, e, pids, what)
		return was[pids[2]].Session == pids[2], fmt.Sprint(was)
	})
	return was
}

func (s *suite) signalTree(t *testing.T) {
	out := &output{}
	p := s.start(t, s.env, &stream.Command{Args: s.tree(""), Stdout: out})
	was := s.treeRunning(t, s.env, out, "the block")
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		s.note(t, "Signal", err)
		t.Fatalf("Signal: %v", err)
	}
	x := s.wait(t, p, "the signalled block")
	wantExit(t, "the signalled block", x, -1, syscall.SIGUSR1)
	s.awaitGone(t, s.env, was, "the block's tree after Signal(SIGUSR1), the child in a session of its own included")
}

func (s *suite) signalLeftovers(t *testing.T) {
	p, was := s.leftover(t)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		s.note(t, "Signal", err)
		t.Fatalf("Signal after the program ended: %v", err)
	}
	s.awaitGone(t, s.env, was, "the background process of a block that ended, after Signal(SIGTERM) to the block")
	if err := p.Signal(syscall.SIGTERM); err != nil {
		s.note(t, "Signal", err)
		t.Errorf("Signal to a tree that is gone: %v", err)
	}
}

func (s *suite) signalStopCont(t *testing.T) {
	const counter = "conformance-counter"
	out := &output{}
	l := strconv.Itoa(s.long)
	p := s.start(t, s.env, &stream.Command{Args: []string{"/bin/sh", "-c",
		"sleep " + l + " & echo pids $$ $!; i=0; while :; do i=$((i+1)); echo $i > " + counter + "; done"}, Stdout: out})
	pids := s.awaitPIDs(t, out, 2, "the counting block")
	was := s.running(t, s.env, pids, "the counting block")
	count := func() int {
		n, _ := strconv.Atoi(strings.TrimSpace(s.sh(t, s.env, `cat "$1" 2>/dev/null || :`, counter)))
		return n
	}
	s.eventually(t, "the counter counts", func() (bool, string) {
		n := count()
		return n > 0, fmt.Sprintf("counter %d", n)
	})

	if err := p.Signal(syscall.SIGSTOP); err != nil {
		s.note(t, "Signal", err)
		t.Fatalf("Signal(SIGSTOP): %v", err)
	}
	states := func() string {
		now := s.procs(t, s.env, pids)
		var b strings.Builder
		for _, pid := range pids {
			if !alive(now, pid, was[pid]) {
				t.Fatalf("process %d of the block died: %v", pid, now)
			}
			b.WriteByte(now[pid].State)
		}
		return b.String()
	}
	s.eventually(t, "every process of the block stopped (state T) after SIGSTOP", func() (bool, string) {
		st := states()
		return st == "TT", "states " + st
	})
	// Every process is stopped: the counter cannot move.
	before := count()
	if st := states(); st != "TT" {
		t.Fatalf("a stopped process runs again without SIGCONT: states %s", st)
	}
	if after := count(); after != before {
		t.Fatalf("the counter went from %d to %d while the block was stopped", before, after)
	}

	if err := p.Signal(syscall.SIGCONT); err != nil {
		s.note(t, "Signal", err)
		t.Fatalf("Signal(SIGCONT): %v", err)
	}
	s.eventually(t, "the counter counts again after SIGCONT", func() (bool, string) {
		n := count()
		return n > before, fmt.Sprintf("counter %d, %d when stopped", n, before)
	})
	s.eventually(t, "no process of the block is stopped after SIGCONT", func() (bool, string) {
		st := states()
		return !strings.Contains(st, "T"), "states " + st
	})
	if isClosed(p.Done()) {
		x, err := p.Wait()
		t.Fatalf("the block ended on SIGSTOP/SIGCONT: %s, %v", x, err)
	}
}

func (s *suite) stopTerm(t *testing.T) {
	const grace = 5 * time.Second
	out := &output{}
	p := s.start(t, s.env, &stream.Command{Args: s.tree(""), Stdout: out})
	was := s.treeRunning(t, s.env, out, "the block")
	t0 := time.Now()
	if err := stream.Stop(p, grace); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(t0); d >= grace {
		t.Errorf("Stop took %v: the block did not end on SIGTERM before the grace of %v", d, grace)
	}
	x := s.wait(t, p, "the stopped block")
	wantExit(t, "the block stopped by SIGTERM", x, -1, syscall.SIGTERM)
	s.awaitGone(t, s.env, was, "the block's tree after Stop")
}

func (s *suite) stopTermIgnored(t *testing.T) {
	const grace = 300 * time.Millisecond
	out := &output{}
	p := s.start(t, s.env, &stream.Command{Args: s.tree(`trap "" TERM; `), Stdout: out})
	was := s.treeRunning(t, s.env, out, "the block")
	t0 := time.Now()
	var err error
	if !s.bounded(func() { err = stream.Stop(p, grace) }) {
		t.Fatalf("Stop did not return within %v", s.timeout)
	}
	d := time.Since(t0)
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	x := s.wait(t, p, "the stopped block")
	wantExit(t, "a block that ignores SIGTERM, stopped", x, -1, syscall.SIGKILL)
	if d < grace {
		t.Errorf("Stop returned after %v, before the grace of %v, for a block that ignores SIGTERM", d, grace)
	}
	s.awaitGone(t, s.env, was, "the block's tree after Stop (SIGTERM ignored, then SIGKILL)")
}

func (s *suite) stopAfterEnd(t *testing.T) {
	const grace = 5 * time.Second
	p := s.start(t, s.env, &stream.Command{Args: []string{"true"}})
	x := s.wait(t, p, "true")
	t0 := time.Now()
	if err := stream.Stop(p, grace); err != nil {
		t.Errorf("Stop after the process ended: %v", err)
	}
	if d := time.Since(t0); d >= grace {
		t.Errorf("Stop after the process ended took %v", d)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		s.note(t, "Signal", err)
		t.Errorf("Signal after the process ended: %v", err)
	}
	if x2, err := p.Wait(); x2 != x || err != nil {
		t.Errorf("Wait after Stop = %+v, %v; want %+v, nil", x2, err, x)
	}
}

// leftover runs a block that starts a background sleep (not holding the
// block's output) and ends; it returns the block and what was seen of the
// sleep while the block's successor ran.
func (s *suite) leftover(t testing.TB) (stream.Process, map[int]proc) {
	t.Helper()
	out := &output{}
	p := s.start(t, s.env, &stream.Command{Args: []string{"/bin/sh", "-c",
		"sleep " + strconv.Itoa(s.long) + " </dev/null >/dev/null 2>&1 & echo pids $!"}, Stdout: out})
	wantExit(t, "the block", s.wait(t, p, "the block"), 0, 0)
	pids := s.awaitPIDs(t, out, 1, "the block")
	return p, s.running(t, s.env, pids, "the background process of the block that ended, seen by the next block")
}

func (s *suite) backgroundOutlives(t *testing.T) {
	_, was := s.leftover(t)
	// Other blocks come and go; the background process stays.
	for range 3 {
		s.sh(t, s.env, "true")
	}
	now := s.procs(t, s.env, keys(was))
	for pid, p := range was {
		if !alive(now, pid, p) {
			t.Errorf("the background process %d of a block that ended is gone after three more blocks ran: %v", pid, now[pid])
		}
	}
}

func keys(m map[int]proc) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (s *suite) waitBackgroundStdout(t *testing.T) {
	out := &output{}
	p := s.start(t, s.env, &stream.Command{Args: []string{"/bin/sh", "-c", "sleep " + strconv.Itoa(s.long) + " & echo done"}, Stdout: out})
	if got, ok := out.waitFor(s.timeout, func(o string) bool { return o == "done\n" }); !ok {
		t.Fatalf("the block printed %q, want %q", got, "done\n")
	}
	t0 := time.Now()
	const bound = time.Second
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case <-p.Done():
	case <-timer.C:
		t.Fatalf("Wait did not return within %v of the program's end while its background child holds stdout (stream.OutputWait is %v)", bound, stream.OutputWait)
	}
	x := s.wait(t, p, "the block")
	wantExit(t, "the block", x, 0, 0)
	t.Logf("Wait returned %v after the program's last output", since(t0))
}
