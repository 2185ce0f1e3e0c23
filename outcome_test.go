package streamtest_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

func TestOutcomeOfATimeout(t *testing.T) {
	s := streamtest.For(t, streamtest.IgnoreEnvironment())
	st := s.At(1)
	st.Run(code.Exec("sleep", "30"), streamtest.Timeout(200*time.Millisecond), streamtest.Wait())
	o := st.Outcome()
	if o.Stopped != streamtest.TimedOut || o.Timeout != 200*time.Millisecond || o.StopMessage() != "timed out after 200ms" {
		t.Errorf("outcome stopped %v (%q), timeout %v; want timed out after 200ms", o.Stopped, o.StopMessage(), o.Timeout)
	}
	if !o.Exited || o.Exit.Signal != syscall.SIGTERM || o.Success || o.Err != nil {
		t.Errorf("outcome %+v, want killed by SIGTERM, not a success, no error", o)
	}
	if o.Started.IsZero() || o.Exit.Started.Before(o.Started) || o.Ended.Before(o.Exit.Started) {
		t.Errorf("times out of order: started %v, began %v, ended %v", o.Started, o.Exit.Started, o.Ended)
	}
	out := st.Output()
	if out["stopped"] != "timed out after 200ms" || out["timed_out"] != true || out["signal"] != "TERM" || out.ExitStatus() != -1 {
		t.Errorf("output %v does not render the outcome", out)
	}
	if out.Duration() != o.Duration() {
		t.Errorf("output duration %v, outcome's %v", out.Duration(), o.Duration())
	}
}

func TestOutcomeOfATermination(t *testing.T) {
	s := streamtest.For(t, streamtest.IgnoreEnvironment())
	st := s.At(1)
	started := t.TempDir() + "/started"
	st.Run(code.Shell("echo x > " + started + "; exec sleep 30"))
	waitFile(t, started)
	if o := st.Outcome(); !o.Ended.IsZero() || o.Stopped != streamtest.NotStopped {
		t.Errorf("outcome of a running block %+v, want no end yet", o)
	}
	st.Terminate()
	o := st.Outcome()
	if o.Stopped != streamtest.Terminated || o.StopMessage() != "terminated" || o.Success || o.Ended.IsZero() {
		t.Errorf("outcome %+v, want terminated", o)
	}
	if got := st.Output()["stopped"]; got != "terminated" {
		t.Errorf("output stopped = %v", got)
	}
}

func TestSynchronizedDurationIsEachMembersOwn(t *testing.T) {
	gate := make(chan struct{})
	registerSlow(t, "slowready", gate)
	p := writeParams(t, "streams:\n  - 1: {type: local}\n  - 2: {type: slowready}\n")
	s := streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.ParamsFile(p))
	const slow = 500 * time.Millisecond
	time.AfterFunc(slow, func() { close(gate) })
	g := s.Range(1, 2)
	g.Run(code.Exec("true"), streamtest.Synchronized(), streamtest.Wait())
	if !g.Success() {
		t.Fatalf("synchronized run: %v", g)
	}
	oc := g.Outcomes()
	fast, late := oc["1"], oc["2"]
	if fast.Ready.IsZero() || fast.Released.Before(fast.Ready) || fast.Ended.Sub(fast.Started) < slow {
		t.Fatalf("stream 1 was ready at %v, released at %v, ended %v after Run: want it to wait at the gate for stream 2",
			fast.Ready, fast.Released, fast.Ended.Sub(fast.Started))
	}
	if d := fast.Duration(); d >= slow {
		t.Errorf("stream 1's duration %v includes the wait for stream 2's set-up", d)
	}
	if d := late.Duration(); d < slow {
		t.Errorf("stream 2's duration %v is shorter than its own set-up, %v", d, slow)
	}
	if got := g.Output()["1"].Duration(); got != fast.Duration() {
		t.Errorf("output duration %v, outcome's %v", got, fast.Duration())
	}
	if skew := g.Skew(); skew < 0 || skew > slow {
		t.Errorf("skew %v", skew)
	}
}
