package streamtest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/stream"
)

// Group is several streams of a test, got with Manager.Range, Pick, All or
// Group (a named group of the parameters).
// It has the verbs of a stream, applied to every member.
type Group struct {
	m       *Manager
	members []*Stream
}

// Streams returns the group's members in order.
func (g *Group) Streams() []*Stream { return append([]*Stream(nil), g.members...) }

// IDs returns the members' ids in order.
func (g *Group) IDs() []string {
	ids := make([]string, len(g.members))
	for i, s := range g.members {
		ids[i] = s.id
	}
	return ids
}

// Run starts block on every member. Each member starts as soon as it is
// ready, unless Synchronized is given: then all start at one instant. With
// Wait, Run returns when every member's block has ended. Infrastructure
// failures fail the test, naming each stream; TryRun returns them instead.
// RunEach runs a block of each member's own.
func (g *Group) Run(block code.Block, opts ...RunOption) {
	g.m.t.Helper()
	g.runBlocks(g.same(block), opts)
}

// TryRun is Run for code that handles infrastructure failures itself; see
// Stream.TryRun. Errors of several members are joined.
func (g *Group) TryRun(block code.Block, opts ...RunOption) error {
	return g.tryRunBlocks(g.same(block), opts)
}

// RunEach is Run with a block chosen per member: choose is called once for
// each member, in order, on the test's goroutine, before anything starts,
// and returns the block that member runs. Every option applies as to Run:
// with Synchronized, every member gets ready at its gate with its own
// block and all are released at one instant. Each member's Output, summary
// line and report bar are its own block's.
//
//	// Two clients, each against its own server, start at one instant.
//	server := map[string]*streamtest.Stream{"3": s.At(1), "4": s.At(2)}
//	s.Range(3, 4).RunEach(func(st *streamtest.Stream) code.Block {
//		return code.Exec("client", "--server", server[st.ID()].Host())
//	}, streamtest.Synchronized())
//
// A function, rather than a map of blocks by id, gives every member a block
// by construction, fits a named group whose members the test does not list,
// and lets the block depend on the member (its id, its Host, its type). A
// nil block is an error naming the member, and then no member is started.
func (g *Group) RunEach(choose func(st *Stream) code.Block, opts ...RunOption) {
	g.m.t.Helper()
	blocks, err := g.choose(choose)
	if err != nil {
		g.m.t.Errorf("streamtest: %v", err)
		return
	}
	g.runBlocks(blocks, opts)
}

// TryRunEach is RunEach for code that handles infrastructure failures
// itself; see TryRun. A nil block is returned as an error, and nothing is
// started.
func (g *Group) TryRunEach(choose func(st *Stream) code.Block, opts ...RunOption) error {
	blocks, err := g.choose(choose)
	if err != nil {
		return err
	}
	return g.tryRunBlocks(blocks, opts)
}

// same is block for every member.
func (g *Group) same(block code.Block) []code.Block {
	blocks := make([]code.Block, len(g.members))
	for i := range blocks {
		blocks[i] = block
	}
	return blocks
}

// choose asks choose for every member's block; a nil block is an error
// naming the member.
func (g *Group) choose(choose func(st *Stream) code.Block) ([]code.Block, error) {
	if choose == nil {
		return nil, fmt.Errorf("RunEach on streams %s: nil function to choose the blocks", g.label())
	}
	blocks := make([]code.Block, len(g.members))
	var errs []error
	for i, s := range g.members {
		blocks[i] = choose(s)
		if blocks[i] == nil {
			errs = append(errs, s.error("run", errors.New("RunEach's function gave no block (nil) for this stream, so no member of the group was started")))
		}
	}
	return blocks, errors.Join(errs...)
}

func (g *Group) runBlocks(blocks []code.Block, opts []RunOption) {
	g.m.t.Helper()
	o := collectRun(opts)
	// With Wait, the members' failures are reported here, on the test's
	// goroutine, so that they name the test's line; without, each member
	// reports its own when it ends.
	runs, err := g.start(blocks, o, !o.wait)
	if err != nil {
		g.m.t.Errorf("streamtest: %v", err)
	}
	if o.wait && !g.m.isEnding() {
		for _, r := range runs {
			if r.outcome.Err != nil {
				g.m.t.Errorf("streamtest: %v", r.outcome.Err)
			}
		}
	}
}

func (g *Group) tryRunBlocks(blocks []code.Block, opts []RunOption) error {
	o := collectRun(opts)
	if _, err := g.start(blocks, o, false); err != nil {
		return err
	}
	if o.wait {
		return g.Err()
	}
	return nil
}

// start claims a run of each member's block (blocks[i] for member i) and
// starts them; with o.wait, it returns once they have ended. It returns the
// runs it claimed.
func (g *Group) start(blocks []code.Block, o runOptions, report bool) ([]*run, error) {
	if len(g.members) == 0 {
		return nil, errors.New("run on an empty group of streams")
	}
	var runs []*run
	if !o.sync {
		var errs []error
		for i, s := range g.members {
			r, err := s.claim(blocks[i], o, report)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			runs = append(runs, r)
			go r.execute()
		}
		if o.wait {
			for _, r := range runs {
				<-r.done
			}
		}
		return runs, errors.Join(errs...)
	}
	// Synchronized: every member must be free before any is claimed.
	for _, s := range g.members {
		if r := s.last(); r != nil && !isClosed(r.done) {
			return nil, fmt.Errorf("synchronized run on streams %s: stream %s: %w (running %s %q)",
				g.label(), s.id, ErrBusy, r.block.Kind(), r.block.String())
		}
	}
	for i, s := range g.members {
		r, err := s.claim(blocks[i], o, report)
		if err != nil {
			for _, c := range runs {
				c.finish(err)
			}
			return nil, err
		}
		r.group = g.label()
		runs = append(runs, r)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.synchronize(runs, o.syncTimeout)
	}()
	if o.wait {
		<-done
		for _, r := range runs {
			<-r.done
		}
	}
	return runs, nil
}

// synchronize gets every run ready at its gate, then releases all at once,
// or aborts all if one cannot get ready in time.
func (g *Group) synchronize(runs []*run, timeout time.Duration) {
	results := getReady(runs)
	got, failed, timedOut := awaitReady(results, len(runs), timeout)
	if !timedOut && len(failed) == 0 {
		releaseAll(runs)
		return
	}
	cause := abortCause(g.label(), runs, got, failed, timedOut, timeout)
	for _, r := range runs {
		r.cancel()
	}
	for len(got) < len(runs) {
		got[(<-results).r] = true
	}
	for _, r := range runs {
		if proc := r.process(); proc != nil {
			stream.Stop(proc, 0)
			proc.Wait()
		}
		if err := failed[r]; err != nil {
			r.finish(err) // its own failure
		} else {
			r.finish(r.s.error("synchronize", cause))
		}
	}
}

// readiness is how one member's getting ready ended.
type readiness struct {
	r   *run
	err error
}

// getReady sets every run up and starts its process parked at its gate,
// each on its own goroutine; the channel receives one readiness per run.
func getReady(runs []*run) chan readiness {
	results := make(chan readiness, len(runs))
	for _, r := range runs {
		go func() {
			env, err := r.s.ensureEnv(r.ctx)
			if err == nil {
				err = r.prepare(env, true)
			}
			results <- readiness{r, err}
		}()
	}
	return results
}

// awaitReady receives readiness until all n runs are ready, one failed, or
// timeout passed.
func awaitReady(results <-chan readiness, n int, timeout time.Duration) (got map[*run]bool, failed map[*run]error, timedOut bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	got, failed = map[*run]bool{}, map[*run]error{}
	for len(got) < n && len(failed) == 0 {
		select {
		case res := <-results:
			got[res.r] = true
			if res.err != nil {
				failed[res.r] = res.err
			}
		case <-timer.C:
			return got, failed, true
		}
	}
	return got, failed, false
}

// releaseAll opens every run's gate at one instant, then waits for each on
// its own goroutine; a run whose gate would not open is stopped and fails.
func releaseAll(runs []*run) {
	released := time.Now()
	failed := map[*run]error{}
	for _, r := range runs {
		r.mu.Lock()
		proc := r.proc
		r.released = released
		r.mu.Unlock()
		if err := proc.Release(); err != nil {
			if r.stoppedBy() == NotStopped {
				failed[r] = r.s.error("synchronize", err)
			}
			continue // stopped (killed) at its gate: it ends so
		}
		r.markRunning()
	}
	for _, r := range runs {
		if err, bad := failed[r]; bad {
			stream.Stop(r.process(), 0)
			r.finish(err)
			continue
		}
		go r.wait()
	}
}

// abortCause says why a synchronized start was aborted: which members
// failed to get ready (with their own errors, which name them) and, when
// the sync timeout passed, which were not ready in time.
func abortCause(label string, runs []*run, got map[*run]bool, failed map[*run]error, timedOut bool, timeout time.Duration) error {
	var notReady, why []string
	for _, r := range runs {
		switch {
		case failed[r] != nil:
			notReady = append(notReady, r.s.id)
			why = append(why, failed[r].Error())
		case !got[r] && timedOut:
			notReady = append(notReady, r.s.id)
			why = append(why, fmt.Sprintf("stream %s (%s) was not ready within %v", r.s.id, r.s.where(), timeout))
		}
	}
	who := "no stream"
	switch {
	case len(notReady) == 1:
		who = "stream " + notReady[0]
	case len(notReady) > 1:
		who = "streams " + strings.Join(notReady, ",")
	}
	return fmt.Errorf("synchronized start of streams %s aborted: %s did not get ready: %s",
		label, who, strings.Join(why, "; "))
}

// label names the members: "3,4".
func (g *Group) label() string { return strings.Join(g.IDs(), ",") }

// Wait waits until every member's block has ended.
func (g *Group) Wait() {
	for _, s := range g.members {
		s.Wait()
	}
}

// Terminate terminates every member; see Stream.Terminate.
func (g *Group) Terminate() {
	g.m.t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(g.members))
	for i, s := range g.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.terminate(Terminated)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		g.m.t.Errorf("streamtest: %v", err)
	}
}

// Kill kills every member's running block at once, in parallel; see
// Stream.Kill. Every member must have a running block: the errors of those
// that have none, or could not be signalled, name each member, are joined
// and fail the test; TryKill returns them instead.
func (g *Group) Kill() {
	g.m.t.Helper()
	if err := g.TryKill(); err != nil {
		g.m.t.Errorf("streamtest: %v", err)
	}
}

// TryKill is Kill for code that handles failures itself.
func (g *Group) TryKill() error { return g.each("kill", (*Stream).TryKill) }

// Signal sends sig to every member's running block, in parallel; see
// Stream.Signal. Errors are as Kill's; TrySignal returns them instead.
func (g *Group) Signal(sig syscall.Signal) {
	g.m.t.Helper()
	if err := g.TrySignal(sig); err != nil {
		g.m.t.Errorf("streamtest: %v", err)
	}
}

// TrySignal is Signal for code that handles failures itself.
func (g *Group) TrySignal(sig syscall.Signal) error {
	return g.each("signal", func(s *Stream) error { return s.TrySignal(sig) })
}

// Send copies a local file or directory to every member, in parallel; see
// Stream.Send. The failures name each member, are joined and fail the
// test; TrySend returns them instead.
func (g *Group) Send(local, remote string) {
	g.m.t.Helper()
	if err := g.TrySend(local, remote); err != nil {
		g.m.t.Errorf("streamtest: %v", err)
	}
}

// TrySend is Send for code that handles failures itself.
func (g *Group) TrySend(local, remote string) error {
	return g.each("send", func(s *Stream) error { return s.TrySend(local, remote) })
}

// each calls f on every member in parallel and joins the errors, in the
// members' order.
func (g *Group) each(op string, f func(*Stream) error) error {
	if len(g.members) == 0 {
		return errors.New(op + " on an empty group of streams")
	}
	errs := make([]error, len(g.members))
	var wg sync.WaitGroup
	for i, s := range g.members {
		wg.Go(func() { errs[i] = f(s) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Active reports whether any member's block is running.
func (g *Group) Active() bool {
	for _, s := range g.members {
		if s.Active() {
			return true
		}
	}
	return false
}

// Success reports whether every member's last block ended with the expected
// outcome. It is false for an empty group.
func (g *Group) Success() bool {
	if len(g.members) == 0 {
		return false
	}
	for _, s := range g.members {
		if !s.Success() {
			return false
		}
	}
	return true
}

// Err joins the members' infrastructure failures.
func (g *Group) Err() error {
	var errs []error
	for _, s := range g.members {
		errs = append(errs, s.Err())
	}
	return errors.Join(errs...)
}

// Output returns each member's output, keyed by stream id.
func (g *Group) Output() map[string]Output {
	out := make(map[string]Output, len(g.members))
	for _, s := range g.members {
		out[s.id] = s.Output()
	}
	return out
}

// Outcomes returns each member's Outcome, keyed by stream id.
func (g *Group) Outcomes() map[string]Outcome {
	out := make(map[string]Outcome, len(g.members))
	for _, s := range g.members {
		out[s.id] = s.Outcome()
	}
	return out
}

// Skew returns the spread of the members' start times in their last run:
// the time between the first and the last member's program beginning to
// run. For a synchronized run it measures how "at one instant" the start
// was.
func (g *Group) Skew() time.Duration {
	var first, last time.Time
	for _, s := range g.members {
		b := s.Outcome().Exit.Started
		if b.IsZero() {
			continue
		}
		if first.IsZero() || b.Before(first) {
			first = b
		}
		if b.After(last) {
			last = b
		}
	}
	return last.Sub(first)
}

// String summarises each member's outcome.
func (g *Group) String() string { return summary("group "+g.label(), g.members) }
