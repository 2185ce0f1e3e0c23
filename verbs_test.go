package streamtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/local"
)

func TestRunEachRunsEachMembersOwnBlock(t *testing.T) {
	s := localStreams(t)
	g := s.Range(1, 3)
	var asked []string
	g.RunEach(func(st *streamtest.Stream) code.Block {
		asked = append(asked, st.ID())
		return code.Shell("echo member " + st.ID())
	}, streamtest.Wait())
	if strings.Join(asked, ",") != "1,2,3" {
		t.Errorf("the function was asked for members %v, want 1,2,3 in order", asked)
	}
	if !g.Success() {
		t.Fatal(g)
	}
	summary := g.String()
	for _, st := range g.Streams() {
		if got, want := st.Output().Stdout(), "member "+st.ID()+"\n"; got != want {
			t.Errorf("stream %s printed %q, want %q", st.ID(), got, want)
		}
		// The member's summary line names its own block.
		line := lineOf(summary, st.ID())
		if want := fmt.Sprintf("%q", "echo member "+st.ID()); !strings.Contains(line, want) {
			t.Errorf("stream %s's summary line %q does not name its block %s", st.ID(), line, want)
		}
	}
}

// lineOf is the line of a summary about stream id.
func lineOf(summary, id string) string {
	for _, line := range strings.Split(summary, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == id {
			return line
		}
	}
	return ""
}

// TestRunEachSynchronized gives each member its own block, one member slow
// to set up: every member waits at its gate with its own block until the
// slow one is ready, then all are released at one instant.
func TestRunEachSynchronized(t *testing.T) {
	gate := make(chan struct{})
	registerSlow(t, "slowready-each", gate)
	p := writeParams(t, "streams:\n  - 1: {type: local}\n  - 2: {type: local}\n  - 3: {type: slowready-each}\n")
	s := streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.ParamsFile(p))
	const slow = 300 * time.Millisecond
	var setUp time.Time
	var mu sync.Mutex
	time.AfterFunc(slow, func() {
		mu.Lock()
		setUp = time.Now()
		mu.Unlock()
		close(gate)
	})
	g := s.Range(1, 3)
	g.RunEach(func(st *streamtest.Stream) code.Block {
		return code.Exec("echo", "I am "+st.ID())
	}, streamtest.Synchronized(), streamtest.Wait())
	if !g.Success() {
		t.Fatal(g)
	}
	mu.Lock()
	slowReady := setUp
	mu.Unlock()
	oc := g.Outcomes()
	released := oc["1"].Released
	for _, st := range g.Streams() {
		o := oc[st.ID()]
		if got, want := st.Output().Stdout(), "I am "+st.ID()+"\n"; got != want {
			t.Errorf("stream %s printed %q, want %q", st.ID(), got, want)
		}
		if o.Released.IsZero() || !o.Released.Equal(released) {
			t.Errorf("stream %s released at %v, stream 1 at %v: want one instant", st.ID(), o.Released, released)
		}
		if o.Exit.Started.Before(slowReady) {
			t.Errorf("stream %s's program began at %v, before the slow member was set up (%v)", st.ID(), o.Exit.Started, slowReady)
		}
	}
	skew := g.Skew()
	if skew < 0 || skew > slow {
		t.Errorf("skew %v", skew)
	}
	t.Logf("3 members, each with its own block, started %v apart", skew)
}

func TestRunEachNilBlockStartsNothing(t *testing.T) {
	s := localStreams(t)
	g := s.Range(1, 3)
	err := g.TryRunEach(func(st *streamtest.Stream) code.Block {
		if st.ID() == "2" {
			return nil
		}
		return code.Exec("true")
	})
	if err == nil || !strings.HasPrefix(err.Error(), "stream 2 (local") || !strings.Contains(err.Error(), "gave no block") {
		t.Fatalf("err = %v, want one naming stream 2 and the nil block", err)
	}
	for _, st := range g.Streams() {
		if st.Active() || !st.Outcome().Started.IsZero() {
			t.Errorf("stream %s ran a block although the group was refused: %v", st, st.Outcome())
		}
	}
	if err := g.TryRunEach(nil); err == nil {
		t.Error("TryRunEach(nil) gave no error")
	}
}

// treeIgnoringTerm starts a shell that ignores SIGTERM with two children
// that inherit it, one in the shell's group and one in a session of its
// own, and writes the three pids to dir/pids.
func treeIgnoringTerm(dir string) code.Block {
	return code.Shell(fmt.Sprintf(
		`trap '' TERM; sleep 100 & a=$!; setsid sleep 100 & b=$!; echo $$ $a $b > %[1]s/pids.tmp; mv %[1]s/pids.tmp %[1]s/pids; wait`, dir))
}

func readPids(t testing.TB, name string) []int {
	t.Helper()
	var pids []int
	for _, f := range strings.Fields(string(waitFile(t, name))) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// ignoresTerm reports whether pid's SIGTERM disposition is "ignore".
func ignoresTerm(t testing.TB, pid int) bool {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return mask&(1<<(syscall.SIGTERM-1)) != 0
		}
	}
	t.Fatalf("/proc/%d/status has no SigIgn", pid)
	return false
}

func TestKillKillsTheWholeTreeAtOnce(t *testing.T) {
	const grace = 20 * time.Second // a TERM first would show as a wait this long
	s := localStreams(t, streamtest.KillGrace(grace))
	st := s.At(1)
	dir := t.TempDir()
	st.Run(treeIgnoringTerm(dir))
	pids := readPids(t, filepath.Join(dir, "pids"))
	for _, pid := range pids {
		if !ignoresTerm(t, pid) {
			t.Fatalf("process %d of the tree does not ignore SIGTERM: the test proves nothing", pid)
		}
	}
	began := time.Now()
	st.Kill()
	took := time.Since(began)
	if st.Active() {
		t.Fatal("the stream is active after Kill returned")
	}
	if took > grace/2 {
		t.Errorf("Kill took %v: it waited for a grace", took)
	}
	if left := survivors(pids, 2*time.Second); len(left) > 0 {
		t.Errorf("processes %v of the killed block's tree %v survived", left, pids)
	}
	o := st.Outcome()
	if o.Stopped != streamtest.Killed || o.Exit.Signal != syscall.SIGKILL || o.Success || o.Err != nil {
		t.Errorf("outcome %+v, want killed by SIGKILL, stopped by the test, no error", o)
	}
	t.Logf("Kill of a tree of 3 ignoring SIGTERM took %v", took)

	// The stream is still up: the next block runs at once.
	st.Run(code.Exec("true"), streamtest.Wait())
	if !st.Success() {
		t.Errorf("a block after Kill: %v", st)
	}
	err := st.TryKill()
	if !errors.Is(err, streamtest.ErrNotRunning) || !strings.HasPrefix(err.Error(), "stream 1 (local, host ") ||
		!strings.Contains(err.Error(), `kill: no block is running: the last one, exec "true", ended `) {
		t.Errorf("TryKill on an idle stream: %v", err)
	}
	if err := s.At(2).TryKill(); !errors.Is(err, streamtest.ErrNotRunning) || !strings.Contains(err.Error(), "has not run one") {
		t.Errorf("TryKill on an unused stream: %v", err)
	}
}

func TestOutcomeOfAKill(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	st.Run(code.Shell("echo up; exec sleep 30"))
	waitOutput(t, st, "up\n")
	st.Kill()
	o := st.Outcome()
	if o.Stopped != streamtest.Killed || o.StopMessage() != "killed by the test (SIGKILL)" || o.Success || o.Ended.IsZero() {
		t.Errorf("outcome %+v (%q), want killed by the test", o, o.StopMessage())
	}
	if !o.Stopped.ByTest() {
		t.Error("Killed is not a stop by the test")
	}
	out := st.Output()
	if out["stopped"] != "killed by the test (SIGKILL)" || out["signal"] != "KILL" || out.ExitStatus() != -1 || out.Stdout() != "up\n" {
		t.Errorf("output %v does not render the kill", out)
	}
	line := lineOf(s.String(), "1")
	if !strings.Contains(line, "stopped") || !strings.Contains(line, "killed by the test (SIGKILL)") || strings.Contains(line, "FAILED") {
		t.Errorf("summary line %q, want it stopped, killed by the test, not FAILED", line)
	}
	if s.Success() {
		t.Error("Success is true after a kill")
	}
}

// waitOutput waits until the stream's block has printed want on its
// standard output.
func waitOutput(t testing.TB, st *streamtest.Stream, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(st.Output().Stdout(), want) {
		if time.Now().After(deadline) || !st.Active() {
			t.Fatalf("stream %s never printed %q: %v", st.ID(), want, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// counter prints a count, one a line, about every 10 ms, forever. Its $0,
// mark, lets the test find its process on this machine.
func counter(mark string) code.Block {
	return code.Exec("sh", "-c", `i=0; while :; do i=$((i+1)); echo $i; sleep 0.01; done`, mark)
}

// lastCount is the last whole count the counter printed, -1 before any.
func lastCount(st *streamtest.Stream) int {
	out := st.Output().Stdout()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if !strings.HasSuffix(out, "\n") {
		lines = lines[:len(lines)-1] // a partial line
	}
	if len(lines) == 0 {
		return -1
	}
	n, err := strconv.Atoi(lines[len(lines)-1])
	if err != nil {
		return -1
	}
	return n
}

// findMarked waits until a process on this machine runs `sh -c SCRIPT
// mark` and returns its pid (a wrapper that runs it has more arguments).
// Streams on this machine (local, the netns lab's hosts, containers of a
// local engine) have their processes here.
func findMarked(t testing.TB, mark string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			data, err := os.ReadFile(d + "/cmdline")
			if err != nil {
				continue
			}
			args := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
			if len(args) == 4 && args[1] == "-c" && args[3] == mark {
				pid, _ := strconv.Atoi(filepath.Base(d))
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process with argument %s on this machine: the stream's processes must be visible here", mark)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procState is the state letter of /proc/PID/stat ('R', 'S', 'T'...), 0
// when the process is gone.
func procState(pid int) byte {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	rest := s[strings.LastIndexByte(s, ')')+1:]
	if len(rest) < 2 {
		return 0
	}
	return rest[1]
}

// waitState waits until the process is in a state for which ok is true.
func waitState(t testing.TB, pid int, what string, ok func(byte) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok(procState(pid)) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d is in state %q, never %s", pid, procState(pid), what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func movingState(c byte) bool { return c != 'T' && c != 0 }

// waitPaused waits until pid is stopped: in state 'T', or in 'D' waiting
// for a vforked child that is stopped (a shell that vforks, as dash does,
// cannot stop until its child has run its program; the stop is pending).
func waitPaused(t testing.TB, pid int) {
	t.Helper()
	paused := func() bool {
		switch procState(pid) {
		case 'T':
			return true
		case 'D':
			children := childrenOf(pid)
			for _, c := range children {
				if procState(c) != 'T' {
					return false
				}
			}
			return len(children) > 0
		}
		return false
	}
	deadline := time.Now().Add(15 * time.Second)
	for !paused() {
		if time.Now().After(deadline) {
			t.Fatalf("process %d is in state %q (children %v), never stopped", pid, procState(pid), childrenOf(pid))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkPauseAndKill pauses a counter on st with SIGSTOP, resumes it with
// SIGCONT and kills it, watching its process from this machine.
func checkPauseAndKill(t *testing.T, st *streamtest.Stream) {
	t.Helper()
	mark := fmt.Sprintf("streamtest-counter-%d-%s", time.Now().UnixNano(), st.ID())
	st.Run(counter(mark))
	pid := findMarked(t, mark)
	for lastCount(st) < 1 {
		if !st.Active() {
			t.Fatalf("the counter ended: %v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}

	st.Signal(syscall.SIGSTOP)
	waitPaused(t, pid)
	paused := lastCount(st)
	if o := st.Outcome(); !st.Active() || o.Stopped != streamtest.NotStopped || !o.Ended.IsZero() {
		t.Errorf("a paused block's outcome %+v, active %v: want it running, not stopped", o, st.Active())
	}

	st.Signal(syscall.SIGCONT)
	waitState(t, pid, "running again", movingState)
	deadline := time.Now().Add(15 * time.Second)
	for lastCount(st) <= paused {
		if time.Now().After(deadline) {
			t.Fatalf("the counter did not move past %d after SIGCONT", paused)
		}
		time.Sleep(5 * time.Millisecond)
	}

	began := time.Now()
	st.Kill()
	t.Logf("stream %s (%s): Kill took %v", st.ID(), st.Type(), time.Since(began))
	o := st.Outcome()
	if o.Stopped != streamtest.Killed || o.Exit.Signal != syscall.SIGKILL || o.Err != nil {
		t.Errorf("outcome %+v, want killed by the test with SIGKILL", o)
	}
	if left := survivors([]int{pid}, 5*time.Second); len(left) > 0 {
		t.Errorf("the counter's process %d survived Kill", pid)
	}
	st.Run(code.Exec("true"), streamtest.Wait())
	if !st.Success() {
		t.Errorf("a block after Kill: %v", st)
	}
}

func TestSignalPausesAndResumes(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	mark := fmt.Sprintf("streamtest-counter-%d", time.Now().UnixNano())
	st.Run(counter(mark))
	pid := findMarked(t, mark)
	waitOutput(t, st, "1\n")
	st.Signal(syscall.SIGSTOP)
	waitPaused(t, pid)
	// The whole tree is paused: the shell's sleep too, when one runs.
	for _, child := range childrenOf(pid) {
		waitPaused(t, child)
	}
	paused := lastCount(st)
	if o := st.Outcome(); !st.Active() || o.Stopped != streamtest.NotStopped || !o.Ended.IsZero() {
		t.Errorf("a paused block's outcome %+v, active %v", o, st.Active())
	}
	st.Signal(syscall.SIGCONT)
	deadline := time.Now().Add(15 * time.Second)
	for lastCount(st) <= paused {
		if time.Now().After(deadline) {
			t.Fatalf("the counter did not move past %d after SIGCONT", paused)
		}
		time.Sleep(5 * time.Millisecond)
	}
	st.Terminate()
	if o := st.Outcome(); o.Stopped != streamtest.Terminated {
		t.Errorf("outcome %+v: a pause and a resume changed how Terminate ends it", o)
	}
}

func childrenOf(pid int) []int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var out []int
	for _, f := range strings.Fields(string(data)) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

func TestSignalThatEndsTheBlock(t *testing.T) {
	s := localStreams(t)
	type testCase struct {
		name    string
		block   code.Block
		sig     syscall.Signal
		stopped streamtest.StopReason
		message string
		success bool
	}
	run := func(t *testing.T, tc testCase) {
		st := s.At(tc.name)
		st.Run(tc.block)
		waitOutput(t, st, "ready\n")
		st.Signal(tc.sig)
		st.Wait()
		o := st.Outcome()
		if o.Stopped != tc.stopped || o.StopMessage() != tc.message || o.Success != tc.success || o.Err != nil {
			t.Errorf("outcome %+v (%q), want stopped %v (%q), success %v", o, o.StopMessage(), tc.stopped, tc.message, tc.success)
		}
		if !tc.stopped.ByTest() {
			return
		}
		line := lineOf(s.String(), tc.name)
		if !strings.Contains(line, "stopped") || !strings.Contains(line, tc.message) || strings.Contains(line, "FAILED") {
			t.Errorf("summary line %q, want it stopped, %s", line, tc.message)
		}
		if !o.Stopped.ByTest() || o.Exit.Signal != tc.sig {
			t.Errorf("outcome %+v: want it ended by %v, stopped by the test", o, tc.sig)
		}
	}
	for _, tc := range []testCase{
		{name: "term", block: code.Shell("echo ready; exec sleep 30"), sig: syscall.SIGTERM,
			stopped: streamtest.Signalled, message: "signalled by the test (SIGTERM)"},
		{name: "kill", block: code.Shell("echo ready; exec sleep 30"), sig: syscall.SIGKILL,
			stopped: streamtest.Killed, message: "killed by the test (SIGKILL)"},
		// A block that handles the signal ends by itself, judged by its
		// exit status.
		{name: "handled", block: code.Shell("trap 'exit 0' TERM; echo ready; while :; do sleep 0.01; done"), sig: syscall.SIGTERM,
			stopped: streamtest.NotStopped, success: true},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
	err := s.At("term").TrySignal(syscall.SIGTERM)
	if !errors.Is(err, streamtest.ErrNotRunning) || !strings.HasPrefix(err.Error(), "stream term (local, host ") ||
		!strings.Contains(err.Error(), ": signal SIGTERM: no block is running") {
		t.Errorf("TrySignal on an idle stream: %v", err)
	}
}

// TestSignalWaitsForTheProgram sends a signal right after an asynchronous
// Run, while the stream is still being set up: it reaches the program once
// it runs.
func TestSignalWaitsForTheProgram(t *testing.T) {
	gate := make(chan struct{})
	registerSlow(t, "slowsignal", gate)
	s := streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.ParamsFile(writeParams(t, "streams:\n  - 1: {type: slowsignal}\n")))
	st := s.At(1)
	st.Run(code.Exec("sleep", "30"))
	time.AfterFunc(100*time.Millisecond, func() { close(gate) })
	st.Signal(syscall.SIGTERM) // returns once the program ran and got it
	st.Wait()
	if o := st.Outcome(); o.Stopped != streamtest.Signalled || o.Exit.Signal != syscall.SIGTERM {
		t.Errorf("outcome %+v, want the program signalled by the test", o)
	}
}

func TestGroupKill(t *testing.T) {
	s := localStreams(t, streamtest.KillGrace(20*time.Second))
	g := s.Range(1, 3)
	g.RunEach(func(st *streamtest.Stream) code.Block {
		return code.Shell("trap '' TERM; echo ready; exec sleep 3" + st.ID())
	})
	for _, st := range g.Streams() {
		waitOutput(t, st, "ready\n")
	}
	began := time.Now()
	g.Kill()
	took := time.Since(began)
	if g.Active() {
		t.Fatal("the group is active after Kill returned")
	}
	for id, o := range g.Outcomes() {
		if o.Stopped != streamtest.Killed || o.Exit.Signal != syscall.SIGKILL {
			t.Errorf("stream %s: outcome %+v, want killed by the test", id, o)
		}
	}
	if took > 10*time.Second {
		t.Errorf("Kill of 3 members took %v", took)
	}
	t.Logf("Kill of 3 local members took %v", took)

	// A member with no running block is an error naming it; the others
	// are killed all the same.
	s.At(2).Run(code.Exec("sleep", "30"))
	err := g.TryKill()
	if !errors.Is(err, streamtest.ErrNotRunning) || !strings.Contains(err.Error(), "stream 1 (local") ||
		!strings.Contains(err.Error(), "stream 3 (local") || strings.Contains(err.Error(), "stream 2 (") {
		t.Errorf("TryKill with members 1 and 3 idle: %v", err)
	}
	if o := s.At(2).Outcome(); o.Stopped != streamtest.Killed {
		t.Errorf("stream 2 was not killed: %+v", o)
	}
	if err := s.Pick().TryKill(); err == nil {
		t.Error("TryKill on an empty group: no error")
	}
}

var (
	barrierOnce sync.Once
	barrierMu   sync.Mutex
	barrierN    int           // how many Sends must meet
	barrierIn   int           // how many are in
	barrierAll  chan struct{} // closed when all are in
)

// registerBarrierSend registers "barriersend": a local stream whose Send
// waits, before copying, until n Sends are in at once; Sends made one
// after another never meet, and each fails after a while.
func registerBarrierSend(n int) {
	barrierOnce.Do(func() {
		stream.Register("barriersend", func(cfg stream.Config) (stream.Environment, error) {
			env, err := local.New(cfg)
			if err != nil {
				return nil, err
			}
			return barrierEnv{env}, nil
		}, stream.Info{Doc: "a local stream whose Send waits for the others, for tests"})
	})
	barrierMu.Lock()
	barrierN, barrierIn, barrierAll = n, 0, make(chan struct{})
	barrierMu.Unlock()
}

type barrierEnv struct{ stream.Environment }

func (e barrierEnv) Send(ctx context.Context, local, remote string) error {
	barrierMu.Lock()
	barrierIn++
	all := barrierAll
	if barrierIn == barrierN {
		close(all)
	}
	barrierMu.Unlock()
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		return errors.New("the other streams' Sends did not come while this one waited: they are not concurrent")
	}
	return e.Environment.Send(ctx, local, remote)
}

func TestGroupSendIsParallel(t *testing.T) {
	registerBarrierSend(3)
	p := writeParams(t, "streams:\n  - 1: {type: barriersend}\n  - 2: {type: barriersend}\n  - 3: {type: barriersend}\n")
	s := streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.ParamsFile(p))
	g := s.Range(1, 3)
	file := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(file, []byte("the payload\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.Send(file, "sent/payload")
	g.Run(code.Exec("cat", "sent/payload"), streamtest.Wait())
	for _, st := range g.Streams() {
		if got := st.Output().Stdout(); got != "the payload\n" {
			t.Errorf("stream %s has %q, want the payload: %v", st.ID(), got, st)
		}
	}

	err := s.Range(1, 3).TrySend(filepath.Join(t.TempDir(), "missing"), "x")
	for _, id := range []string{"1", "2", "3"} {
		if err == nil || !strings.Contains(err.Error(), "stream "+id+" (barriersend") {
			t.Errorf("TrySend of a missing file: %v, want an error naming stream %s", err, id)
		}
	}
	if err := s.Pick().TrySend(file, "x"); err == nil {
		t.Error("TrySend on an empty group: no error")
	}
}

var failSignalOnce sync.Once

// registerFailingSignal registers "signalfails": a local stream whose
// processes cannot be sent SIGKILL nor SIGSTOP (as when the connection to
// a host is lost), with an error the type wrapped itself.
func registerFailingSignal() {
	failSignalOnce.Do(func() {
		stream.Register("signalfails", func(cfg stream.Config) (stream.Environment, error) {
			env, err := local.New(cfg)
			if err != nil {
				return nil, err
			}
			return failSignalEnv{env, cfg}, nil
		}, stream.Info{Doc: "a local stream whose processes cannot be killed, for tests"})
	})
}

type failSignalEnv struct {
	stream.Environment
	cfg stream.Config
}

func (e failSignalEnv) Host() string { return "h1" }

func (e failSignalEnv) Start(ctx context.Context, cmd *stream.Command) (stream.Process, error) {
	p, err := e.Environment.Start(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return failSignalProc{p, e.cfg}, nil
}

type failSignalProc struct {
	stream.Process
	cfg stream.Config
}

func (p failSignalProc) Signal(sig syscall.Signal) error {
	if sig == syscall.SIGKILL || sig == syscall.SIGSTOP {
		return &stream.Error{ID: p.cfg.ID, Type: p.cfg.Type, Host: "h1", Op: "signal", Err: errors.New("connection lost")}
	}
	return p.Process.Signal(sig)
}

func TestKillAndSignalFailuresNameTheStreamOnce(t *testing.T) {
	registerFailingSignal()
	p := writeParams(t, "streams:\n  - 1: {type: signalfails}\n  - 2: {type: signalfails}\n")
	s := streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.ParamsFile(p), streamtest.KillGrace(100*time.Millisecond))
	g := s.Range(1, 2)
	g.Run(code.Shell("echo ready; exec sleep 30"))
	for _, st := range g.Streams() {
		waitOutput(t, st, "ready\n")
	}
	err := s.At(1).TryKill()
	if want := "stream 1 (signalfails, host h1): kill: connection lost"; err == nil || err.Error() != want {
		t.Errorf("TryKill: %v, want %q", err, want)
	}
	err = s.At(1).TrySignal(syscall.SIGSTOP)
	if want := "stream 1 (signalfails, host h1): signal SIGSTOP: connection lost"; err == nil || err.Error() != want {
		t.Errorf("TrySignal: %v, want %q", err, want)
	}
	err = g.TryKill()
	if want := "stream 1 (signalfails, host h1): kill: connection lost\nstream 2 (signalfails, host h1): kill: connection lost"; err == nil || err.Error() != want {
		t.Errorf("group TryKill: %v, want %q", err, want)
	}
}

// TestKillDuringSetUp kills a block whose stream is still being set up:
// the set-up is abandoned and the program never runs.
func TestKillDuringSetUp(t *testing.T) {
	gate := make(chan struct{}) // never opened: the set-up ends only when cancelled
	registerSlow(t, "slowkill", gate)
	s := streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.ParamsFile(writeParams(t, "streams:\n  - 1: {type: slowkill}\n")))
	st := s.At(1)
	st.Run(code.Exec("sleep", "100"))
	st.Kill()
	o := st.Outcome()
	if o.Stopped != streamtest.Killed || o.Exited || o.Err != nil || o.Ended.IsZero() {
		t.Errorf("outcome %+v, want killed by the test before it ran, no error", o)
	}
	if line := lineOf(s.String(), "1"); !strings.Contains(line, "stopped") || !strings.Contains(line, "did not run, killed by the test (SIGKILL)") {
		t.Errorf("summary line %q", line)
	}
}
