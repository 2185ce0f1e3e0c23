package streamtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"sync"
	"syscall"
	"time"

	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/stream"
)

// run is one block run on one stream.
type run struct {
	s      *Stream
	block  code.Block
	opts   runOptions
	report bool // report an infrastructure failure to the test
	seq    int

	ctx    context.Context
	cancel context.CancelFunc

	started time.Time
	done    chan struct{}
	// running is closed once the program runs: started, or released from
	// its gate when synchronized.
	running     chan struct{}
	runningOnce sync.Once

	stdout, stderr buffer

	mu       sync.Mutex
	proc     stream.Process
	plan     *code.Plan
	stopped  StopReason // why the manager stopped it
	stopAt   time.Time  // when it asked it to stop
	ready    time.Time  // parked at its gate (synchronized)
	released time.Time
	group    string
	exit     stream.Exit
	exited   bool
	signals  map[syscall.Signal]time.Time // sent by the test with Signal, first time each

	// outcome is set once, before done is closed.
	outcome Outcome
}

// execute runs a claimed, unsynchronized run to its end.
func (r *run) execute() {
	r.s.m.t.Helper() // with Wait, it reports on the test's goroutine
	env, err := r.s.ensureEnv(r.ctx)
	if err == nil {
		err = r.prepare(env, false)
	}
	if err != nil {
		r.finish(err)
		return
	}
	r.wait()
}

// prepare ships the block and starts its process (parked at a gate when
// gated).
func (r *run) prepare(env stream.Environment, gated bool) error {
	plan, err := r.block.SendSelf(r.ctx, target{r.s, env})
	if err != nil {
		return r.s.errorEnv(env, "prepare "+r.block.Kind(), err)
	}
	var stdin io.Reader = plan.Stdin
	if r.opts.stdin != nil {
		stdin = r.opts.stdin()
	}
	var stdout, stderr io.Writer = &r.stdout, &r.stderr
	if r.opts.tee != nil {
		to, te := r.opts.tee(r.s.id)
		stdout, stderr = tee(&r.stdout, to), tee(&r.stderr, te)
	}
	cmd := &stream.Command{
		Args:   plan.Args,
		Env:    append(append([]string(nil), plan.Env...), r.opts.env...),
		Dir:    plan.Dir,
		Stdin:  stdin,
		Stdout: stdout,
		Stderr: stderr,
		Gated:  gated,
	}
	proc, err := env.Start(r.ctx, cmd)
	if err != nil {
		return r.s.errorEnv(env, "start", err)
	}
	r.mu.Lock()
	r.proc, r.plan = proc, plan
	if gated {
		r.ready = time.Now()
	}
	stopped := r.stopped
	r.mu.Unlock()
	if !gated {
		r.markRunning()
	}
	if stopped != NotStopped || r.ctx.Err() != nil {
		grace := r.s.m.grace
		if stopped == Killed {
			grace = 0
		}
		stream.Stop(proc, grace)
	}
	return nil
}

// markRunning says that the program runs.
func (r *run) markRunning() { r.runningOnce.Do(func() { close(r.running) }) }

// stoppedBy is why the run was stopped so far.
func (r *run) stoppedBy() StopReason {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// process is the run's process, nil before it was started.
func (r *run) process() stream.Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc
}

// wait waits for the process and finishes the run.
func (r *run) wait() {
	r.s.m.t.Helper()
	r.mu.Lock()
	proc := r.proc
	r.mu.Unlock()
	exit, err := proc.Wait()
	r.mu.Lock()
	r.exit, r.exited = exit, true
	r.mu.Unlock()
	if err != nil {
		err = r.s.error("wait", err)
	}
	r.finish(err)
}

// stop interrupts the run for reason; the run then ends as failed.
func (r *run) stop(reason StopReason) {
	r.mu.Lock()
	if r.stopped == NotStopped {
		r.stopped, r.stopAt = reason, time.Now()
	}
	proc := r.proc
	r.mu.Unlock()
	r.cancel()
	if proc != nil {
		stream.Stop(proc, r.s.m.grace)
	}
}

// kill ends the run at once: SIGKILL to its whole tree, no grace (a run
// still being set up is abandoned, a process parked at its gate never
// runs). It returns once the run has ended, or fails when the signal could
// not be sent or the run did not end within stream.KillWait.
func (r *run) kill() error {
	r.mu.Lock()
	mine := r.stopped == NotStopped
	if mine {
		r.stopped, r.stopAt = Killed, time.Now()
	}
	proc := r.proc
	r.mu.Unlock()
	if proc == nil {
		r.cancel() // ends the set-up; prepare kills what it starts
	} else if err := proc.Signal(syscall.SIGKILL); err != nil && !isClosed(r.done) && !isDone(proc.Done()) {
		if mine { // not killed after all
			r.mu.Lock()
			r.stopped, r.stopAt = NotStopped, time.Time{}
			r.mu.Unlock()
		}
		return err
	}
	t := time.NewTimer(stream.KillWait)
	defer t.Stop()
	select {
	case <-r.done:
		return nil
	case <-t.C:
		return fmt.Errorf("the block did not end within %v of SIGKILL", stream.KillWait)
	}
}

// signal sends sig to the run's whole tree once its program runs (it
// waits for a set-up or a synchronized gate), and does not wait for the
// effect. It notes the signal: a block that dies of it was stopped by the
// test.
func (r *run) signal(sig syscall.Signal) error {
	select {
	case <-r.running:
	case <-r.done:
	}
	if isClosed(r.done) {
		return ErrNotRunning
	}
	r.mu.Lock()
	if r.signals == nil {
		r.signals = map[syscall.Signal]time.Time{}
	}
	if _, ok := r.signals[sig]; !ok {
		r.signals[sig] = time.Now()
	}
	proc := r.proc
	r.mu.Unlock()
	if err := proc.Signal(sig); err != nil && !isDone(proc.Done()) {
		return err
	}
	return nil
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// finish settles the outcome, once, reports an infrastructure failure and
// closes done.
func (r *run) finish(err error) {
	r.s.m.t.Helper()
	r.cancel()
	host := r.s.knownHost()
	r.mu.Lock()
	if r.stopped == NotStopped && r.exited && r.exit.Signal != 0 {
		// A block that died of a signal the test sent was stopped by it.
		if at, sent := r.signals[r.exit.Signal]; sent {
			r.stopped, r.stopAt = Signalled, at
			if r.exit.Signal == syscall.SIGKILL {
				r.stopped = Killed
			}
		}
	}
	o := Outcome{
		Host:     host,
		Exit:     r.exit,
		Exited:   r.exited,
		Started:  r.started,
		Ready:    r.ready,
		Released: r.released,
		Ended:    time.Now(),
		Stopped:  r.stopped,
		Timeout:  r.opts.timeout,
	}
	r.mu.Unlock()
	if err != nil && o.Stopped != NotStopped && errors.Is(err, context.Canceled) {
		err = nil // the failure is the stop itself
	}
	o.Err = err
	if o.Exited && !o.Exit.Ended.IsZero() {
		o.Ended = o.Exit.Ended
	}
	o.Success = err == nil && o.Stopped == NotStopped && o.Exited && r.judge()
	r.outcome = o
	r.record()
	if err != nil && r.report && !r.s.m.isEnding() {
		r.s.m.t.Errorf("streamtest: %v", err)
	}
	close(r.done)
}

// snapshot is the outcome of the run: final once done is closed, else what
// is known so far.
func (r *run) snapshot() Outcome {
	if isClosed(r.done) {
		return r.outcome
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return Outcome{Started: r.started, Ready: r.ready, Released: r.released, Stopped: r.stopped, Timeout: r.opts.timeout}
}

func (r *run) judge() bool {
	if r.plan != nil && r.plan.Success != nil {
		return r.plan.Success(r.result())
	}
	return r.exit.Success()
}

func (r *run) result() code.Result {
	stdout, _ := r.stdout.bytes()
	stderr, _ := r.stderr.bytes()
	return code.Result{Exit: r.exit, Stdout: stdout, Stderr: stderr}
}

// output renders the run's outcome and output as an Output map.
func (r *run) output() Output {
	stdout, outDropped := r.stdout.bytes()
	stderr, errDropped := r.stderr.bytes()
	oc := r.snapshot()
	finished := isClosed(r.done)
	o := Output{}
	if finished && r.plan != nil && r.plan.Output != nil && oc.Exited {
		maps.Copy(o, r.plan.Output(code.Result{Exit: oc.Exit, Stdout: stdout, Stderr: stderr}))
	}
	o["stdout"] = string(stdout)
	o["stderr"] = string(stderr)
	o["started"] = oc.Started
	o["exit_status"] = -1
	o["duration"] = oc.Duration()
	if oc.Exited {
		o["exit_status"] = oc.Exit.Code
		o["began"] = oc.Exit.Started
		o["ended"] = oc.Exit.Ended
		if sig := oc.signalName(); sig != "" {
			o["signal"] = sig
		}
	} else if finished {
		o["ended"] = oc.Ended
	}
	if !oc.Released.IsZero() {
		o["released"] = oc.Released
	}
	if oc.Stopped == TimedOut {
		o["timed_out"] = true
	}
	if oc.Stopped != NotStopped {
		o["stopped"] = oc.StopMessage()
	}
	if oc.Err != nil {
		o["error"] = oc.Err.Error()
	}
	if outDropped > 0 {
		o["stdout_dropped"] = outDropped
	}
	if errDropped > 0 {
		o["stderr_dropped"] = errDropped
	}
	return o
}

// tee returns a writer that keeps into b and copies to w, whose errors are
// ignored: a failing copy must not cut the output kept.
func tee(b *buffer, w io.Writer) io.Writer {
	if w == nil {
		return b
	}
	return teeWriter{b, w}
}

type teeWriter struct {
	b *buffer
	w io.Writer
}

func (t teeWriter) Write(p []byte) (int, error) {
	t.b.Write(p)
	t.w.Write(p)
	return len(p), nil
}
