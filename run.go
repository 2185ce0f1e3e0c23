package streamtest

import (
	"context"
	"errors"
	"io"
	"maps"
	"strings"
	"sync"
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

	stdout, stderr buffer

	mu       sync.Mutex
	proc     stream.Process
	plan     *code.Plan
	reason   string // why it was stopped: "terminated", "timed out after 5s", "the test ended"
	released time.Time
	group    string

	// Set before done is closed.
	exit    stream.Exit
	exited  bool
	err     error
	success bool
	ended   time.Time
}

// execute runs a claimed, unsynchronized run to its end.
func (r *run) execute() {
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
	cmd := &stream.Command{
		Args:   plan.Args,
		Env:    append(append([]string(nil), plan.Env...), r.opts.env...),
		Dir:    plan.Dir,
		Stdin:  stdin,
		Stdout: &r.stdout,
		Stderr: &r.stderr,
		Gated:  gated,
	}
	proc, err := env.Start(r.ctx, cmd)
	if err != nil {
		return r.s.errorEnv(env, "start", err)
	}
	r.mu.Lock()
	r.proc, r.plan = proc, plan
	stopped := r.reason != ""
	r.mu.Unlock()
	if stopped || r.ctx.Err() != nil {
		stream.Stop(proc, r.s.m.grace)
	}
	return nil
}

// wait waits for the process and finishes the run.
func (r *run) wait() {
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
func (r *run) stop(reason string) {
	r.mu.Lock()
	if r.reason == "" {
		r.reason = reason
	}
	proc := r.proc
	r.mu.Unlock()
	r.cancel()
	if proc != nil {
		stream.Stop(proc, r.s.m.grace)
	}
}

// finish settles the outcome, reports an infrastructure failure and closes
// done.
func (r *run) finish(err error) {
	r.cancel()
	r.mu.Lock()
	reason := r.reason
	r.mu.Unlock()
	if err != nil && reason != "" && errors.Is(err, context.Canceled) {
		err = nil // the failure is the stop itself
	}
	r.err = err
	r.ended = time.Now()
	if r.exited && !r.exit.Ended.IsZero() {
		r.ended = r.exit.Ended
	}
	r.success = err == nil && reason == "" && r.exited && r.judge()
	r.record()
	if err != nil && r.report && !r.s.m.isEnding() {
		r.s.m.t.Errorf("streamtest: %v", err)
	}
	close(r.done)
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

// output builds the Output map of the run as it is now.
func (r *run) output() Output {
	r.mu.Lock()
	defer r.mu.Unlock()
	stdout, outDropped := r.stdout.bytes()
	stderr, errDropped := r.stderr.bytes()
	o := Output{}
	finished := isClosed(r.done)
	if finished && r.plan != nil && r.plan.Output != nil && r.exited {
		maps.Copy(o, r.plan.Output(code.Result{Exit: r.exit, Stdout: stdout, Stderr: stderr}))
	}
	o["stdout"] = string(stdout)
	o["stderr"] = string(stderr)
	o["started"] = r.started
	o["exit_status"] = -1
	end := time.Now()
	if finished {
		end = r.ended
	}
	o["duration"] = end.Sub(r.started)
	if r.exited {
		o["exit_status"] = r.exit.Code
		o["began"] = r.exit.Started
		o["ended"] = r.exit.Ended
		if r.exit.Signal != 0 {
			o["signal"] = strings.TrimPrefix(stream.SignalName(r.exit.Signal), "SIG")
		}
	} else if finished {
		o["ended"] = r.ended
	}
	if !r.released.IsZero() {
		o["released"] = r.released
	}
	if r.reason != "" && len(r.reason) > 9 && r.reason[:9] == "timed out" {
		o["timed_out"] = true
	}
	if r.reason != "" {
		o["stopped"] = r.reason
	}
	if finished && r.err != nil {
		o["error"] = r.err.Error()
	}
	if outDropped > 0 {
		o["stdout_dropped"] = outDropped
	}
	if errDropped > 0 {
		o["stderr_dropped"] = errDropped
	}
	return o
}
