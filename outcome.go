package streamtest

import (
	"strings"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// Outcome is how one run of a block ended: one value, set once when the run
// ends. Output renders it; nothing reads it back out of a message.
type Outcome struct {
	// Host is the address of the stream the block ran on, as known when
	// the run ended; "" when set-up failed before the stream had one.
	Host string
	// Exit is how the program ended: Code, Signal, when it began
	// (Exit.Started) and when it ended (Exit.Ended). Valid when Exited.
	Exit stream.Exit
	// Exited reports whether the program's end is known: it was started
	// and Wait returned. False when set-up or start failed.
	Exited bool
	// Started is when Run was called.
	Started time.Time
	// Ready is when the run was parked at its gate, ready to run, in a
	// synchronized group; zero otherwise.
	Ready time.Time
	// Released is when a synchronized group's gate opened; zero otherwise.
	Released time.Time
	// Ended is when the run ended: the program's end, or the failure.
	Ended time.Time
	// Stopped says why the manager stopped the block, if it did.
	Stopped StopReason
	// Timeout is the Timeout option of the run (0: none); Stopped is
	// TimedOut when it expired.
	Timeout time.Duration
	// Err is the infrastructure failure, a *stream.Error naming the stream;
	// nil when the block ran, whatever its exit status.
	Err error
	// Success reports whether the block ended with its expected outcome
	// (exit status 0, unless the block says otherwise) and was not stopped.
	Success bool
}

// Duration is the run's own duration: from Run to its end, set-up
// included, less the time it spent parked at the gate of a synchronized
// group waiting for the other members to get ready.
func (o Outcome) Duration() time.Duration {
	end := o.Ended
	if end.IsZero() {
		end = time.Now()
	}
	d := end.Sub(o.Started)
	if !o.Ready.IsZero() && o.Released.After(o.Ready) {
		d -= o.Released.Sub(o.Ready)
	}
	return d
}

// StopMessage says why the block was stopped, "" if it was not:
// "terminated", "timed out after 5s", "the test ended", "killed by the
// test (SIGKILL)", "signalled by the test (SIGTERM)".
func (o Outcome) StopMessage() string {
	switch {
	case o.Stopped == TimedOut && o.Timeout > 0:
		return "timed out after " + o.Timeout.String()
	case o.Stopped == Killed:
		return "killed by the test (SIGKILL)"
	case o.Stopped == Signalled && o.Exited && o.Exit.Signal != 0:
		return "signalled by the test (" + stream.SignalName(o.Exit.Signal) + ")"
	}
	return o.Stopped.String()
}

// signalName is the signal as Output and records name it: "KILL".
func (o Outcome) signalName() string {
	if !o.Exited || o.Exit.Signal == 0 {
		return ""
	}
	return strings.TrimPrefix(stream.SignalName(o.Exit.Signal), "SIG")
}

// StopReason is why the manager stopped a block.
type StopReason int

const (
	// NotStopped: the block ended by itself (or never started).
	NotStopped StopReason = iota
	// Terminated: the test called Terminate.
	Terminated
	// TimedOut: the Timeout option of the run expired.
	TimedOut
	// TestEnded: the test (or the session) ended while the block ran.
	TestEnded
	// Killed: the test called Kill (or sent SIGKILL with Signal, and the
	// block died of it): a crash the test caused, not a failure of the
	// block.
	Killed
	// Signalled: the block died of a signal other than SIGKILL that the
	// test sent with Signal (SIGTERM, SIGINT...). A block that handles the
	// signal and exits by itself is not Signalled: its exit status says
	// how it ended.
	Signalled
)

// ByTest reports whether the test stopped the block on purpose
// (Terminate, Kill, Signal, or its own end) rather than the block failing
// or timing out. Success is false for such a block, since it did not end as
// expected, but summaries and reports show it as stopped, not failed.
func (r StopReason) ByTest() bool {
	switch r {
	case Terminated, TestEnded, Killed, Signalled:
		return true
	}
	return false
}

// String names the reason: "", "terminated", "timed out", "the test
// ended", "killed by the test", "signalled by the test".
func (r StopReason) String() string {
	switch r {
	case NotStopped:
		return ""
	case Terminated:
		return "terminated"
	case TimedOut:
		return "timed out"
	case TestEnded:
		return "the test ended"
	case Killed:
		return "killed by the test"
	case Signalled:
		return "signalled by the test"
	}
	return "stopped"
}
