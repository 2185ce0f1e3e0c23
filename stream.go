package streamtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/params"
	"github.com/streamtest/streamtest/record"
	"github.com/streamtest/streamtest/stream"
)

// Stream is one execution stream of a test: the "where" a block of code
// runs. Get it with Manager.At. It is created lazily: the first Run, Send or
// Host sets it up (connects, creates a container, makes its work directory).
//
// A stream runs one block at a time. Run on a stream whose block is still
// running is an error (ErrBusy): Wait for it first, or use another stream.
type Stream struct {
	m  *Manager
	id string

	setupMu sync.Mutex // held while the environment is set up or closed

	mu       sync.Mutex
	resolved bool
	def      params.Stream
	defErr   error
	env      stream.Environment
	cur      *run
	seq      int
	sent     map[string]bool // code.SendOnce's memo for env; cleared with it
}

// ErrBusy is returned (and reported) by Run on a stream whose previous block
// has not ended.
var ErrBusy = errors.New("stream is busy: its previous block has not ended")

// ErrNotRunning is returned (and reported) by Kill and Signal on a stream
// whose last block has ended, or that never ran one: they act on the
// running block only.
var ErrNotRunning = errors.New("no block is running")

// ID returns the stream's id: "1", "db".
func (s *Stream) ID() string { return s.id }

// Type returns the stream's type ("local", "remote", "container"), as the
// parameters define it or the default type; "" if its definition is in error.
func (s *Stream) Type() string {
	def, err := s.resolve()
	if err != nil {
		return ""
	}
	return def.Type
}

// Host returns the address other streams use to reach this stream. It sets
// the stream up if it is not yet (a container's address is known only
// then). On an infrastructure failure it fails the test and returns "".
func (s *Stream) Host() string {
	s.m.t.Helper()
	env, err := s.ensureEnv(s.m.ctx)
	if err != nil {
		s.m.t.Errorf("streamtest: %v", err)
		return ""
	}
	return env.Host()
}

// Run starts block on the stream and returns at once, unless the Wait
// option is given. An infrastructure failure (cannot connect, image missing,
// undefined stream in strict mode) fails the test with a message naming the
// stream's id, type, host and the cause. Use TryRun to handle such failures
// yourself.
func (s *Stream) Run(block code.Block, opts ...RunOption) {
	s.m.t.Helper()
	if err := s.start(block, collectRun(opts), true); err != nil {
		s.m.t.Errorf("streamtest: %v", err)
	}
}

// TryRun is Run for code that handles infrastructure failures itself: it
// reports nothing to the test. It returns an error when the block could not
// be started at all (ErrBusy, a parameter error); with the Wait option, also
// the infrastructure failure of the run. Without Wait, Err tells that after
// Wait.
func (s *Stream) TryRun(block code.Block, opts ...RunOption) error {
	o := collectRun(opts)
	if err := s.start(block, o, false); err != nil {
		return err
	}
	if o.wait {
		return s.Err()
	}
	return nil
}

func (s *Stream) start(block code.Block, o runOptions, report bool) error {
	s.m.t.Helper()
	if o.sync {
		g := &Group{m: s.m, members: []*Stream{s}}
		runs, err := g.start([]code.Block{block}, o, report && !o.wait)
		if err == nil && report && o.wait && !s.m.isEnding() && runs[0].outcome.Err != nil {
			s.m.t.Errorf("streamtest: %v", runs[0].outcome.Err) // on the test's goroutine
		}
		return err
	}
	r, err := s.claim(block, o, report)
	if err != nil {
		return err
	}
	if o.wait {
		r.execute() // on this goroutine: one hand-off less
		return nil
	}
	go r.execute()
	return nil
}

// Wait waits until the stream's block has ended. It returns at once when no
// block is running.
func (s *Stream) Wait() {
	if r := s.last(); r != nil {
		<-r.done
	}
}

// Active reports whether a block is running on the stream: true from the
// start of Run (set-up included) until the block has ended.
func (s *Stream) Active() bool {
	r := s.last()
	return r != nil && !isClosed(r.done)
}

// Success reports whether the stream's last block ended with the expected
// outcome (exit status 0, unless the block says otherwise). It is false
// before the first Run and while the block runs.
func (s *Stream) Success() bool {
	r := s.last()
	if r == nil || !isClosed(r.done) {
		return false
	}
	return r.outcome.Success
}

// Err returns the infrastructure failure of the stream's last block, or nil
// if it ran (whatever its outcome) or is still running.
func (s *Stream) Err() error {
	r := s.last()
	if r == nil || !isClosed(r.done) {
		return nil
	}
	return r.outcome.Err
}

// Outcome returns how the stream's last block ended: its exit, its times,
// why it was stopped, its infrastructure failure. While the block runs it
// holds what is known so far (Ended is zero); before the first Run it is
// the zero Outcome.
func (s *Stream) Outcome() Outcome {
	r := s.last()
	if r == nil {
		return Outcome{}
	}
	return r.snapshot()
}

// Output returns the output of the stream's last block: see Output for the
// keys. While the block runs, it holds the output so far.
func (s *Stream) Output() Output {
	r := s.last()
	if r == nil {
		return Output{}
	}
	return r.output()
}

// Send copies a local file or directory to the stream; a relative remote
// path is relative to the stream's private work directory. A failure fails
// the test; TrySend returns it instead.
func (s *Stream) Send(local, remote string) {
	s.m.t.Helper()
	if err := s.TrySend(local, remote); err != nil {
		s.m.t.Errorf("streamtest: %v", err)
	}
}

// TrySend is Send for code that handles failures itself.
func (s *Stream) TrySend(local, remote string) error {
	env, err := s.ensureEnv(s.m.ctx)
	if err != nil {
		return err
	}
	if err := env.Send(s.m.ctx, local, remote); err != nil {
		return s.error("send", err)
	}
	return nil
}

// Terminate interrupts the stream's block, if one runs, and frees everything
// the stream created. The stream may be used again afterwards: it is then set
// up afresh.
func (s *Stream) Terminate() {
	s.m.t.Helper()
	if err := s.terminate(Terminated); err != nil {
		s.m.t.Errorf("streamtest: %v", err)
	}
}

func (s *Stream) terminate(reason StopReason) error {
	if r := s.last(); r != nil {
		r.stop(reason)
		<-r.done
	}
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	s.mu.Lock()
	env := s.env
	s.env, s.sent = nil, nil
	s.mu.Unlock()
	if env == nil {
		return nil
	}
	if err := env.Close(); err != nil {
		return s.errorEnv(env, "close", err)
	}
	return nil
}

// Kill crashes the stream's running block: SIGKILL to its whole tree at
// once (children that ignore SIGTERM and those that made groups of their
// own included), with no grace, then waits until the block has ended. Its
// Outcome then says Stopped: Killed, "killed by the test (SIGKILL)":
// Success is false, since the block did not end as it was meant to, but
// summaries and reports show it as stopped by the test, not failed. A block
// still being set up is abandoned; in a synchronized group, a member not
// yet released never runs. The stream itself stays up: a Run may follow
// at once (Terminate, by contrast, is graceful and frees the stream).
//
// On a stream with no running block (it never ran one, or its last block
// has ended) Kill fails the test with ErrNotRunning: a crash that hits
// nothing is a test that does not test what it says. A failure to signal
// (the connection to the stream was lost) fails the test naming the
// stream. TryKill returns those errors instead.
func (s *Stream) Kill() {
	s.m.t.Helper()
	if err := s.TryKill(); err != nil {
		s.m.t.Errorf("streamtest: %v", err)
	}
}

// TryKill is Kill for code that handles failures itself: a stream with no
// running block gives an error that wraps ErrNotRunning.
func (s *Stream) TryKill() error {
	r := s.last()
	if r == nil || isClosed(r.done) {
		return s.error("kill", s.notRunning(r))
	}
	if err := r.kill(); err != nil {
		return s.error("kill", err)
	}
	return nil
}

// Signal sends sig to the stream's running block, its whole tree, and
// returns without waiting for the effect: SIGSTOP pauses every process of
// the block, SIGCONT resumes them; any signal may be sent. A block still
// being set up, or parked at the gate of a synchronized group, gets the
// signal once its program runs: Signal waits until then.
//
// A signal that does not end the block (SIGSTOP, SIGCONT, SIGHUP that the
// program handles) changes nothing in its Outcome. A block that dies of a
// signal the test sent ends with Stopped: Signalled ("signalled by the test
// (SIGTERM)"), or Killed for SIGKILL: stopped by the test, like Kill's.
// A block that handles the signal and exits by itself is judged by its
// exit status as usual.
//
// Errors are Kill's: ErrNotRunning on a stream with no running block, a
// failure to signal naming the stream; TrySignal returns them instead of
// failing the test.
func (s *Stream) Signal(sig syscall.Signal) {
	s.m.t.Helper()
	if err := s.TrySignal(sig); err != nil {
		s.m.t.Errorf("streamtest: %v", err)
	}
}

// TrySignal is Signal for code that handles failures itself.
func (s *Stream) TrySignal(sig syscall.Signal) error {
	op := "signal " + stream.SignalName(sig)
	if sig <= 0 {
		return s.error("signal", fmt.Errorf("%d is not a signal", int(sig)))
	}
	r := s.last()
	if r == nil || isClosed(r.done) {
		return s.error(op, s.notRunning(r))
	}
	if err := r.signal(sig); err != nil {
		if errors.Is(err, ErrNotRunning) {
			err = s.notRunning(r)
		}
		return s.error(op, err)
	}
	return nil
}

// notRunning says that no block runs, and which one ran last.
func (s *Stream) notRunning(r *run) error {
	if r == nil {
		return fmt.Errorf("%w: the stream has not run one", ErrNotRunning)
	}
	return fmt.Errorf("%w: the last one, %s %q, ended %s ago", ErrNotRunning,
		r.block.Kind(), r.block.String(), fmtDuration(time.Since(r.outcome.Ended)))
}

// String is the stream's one-line summary.
func (s *Stream) String() string { return strings.ReplaceAll(s.line(), "\t", " ") }

func (s *Stream) line() string {
	head := fmt.Sprintf("%s\t(%s)", s.id, s.where())
	r := s.last()
	if r == nil {
		return head + "\tno block run"
	}
	what := r.block.Kind() + " " + quoteSummary(r.block.String())
	if !isClosed(r.done) {
		return fmt.Sprintf("%s\t%s\trunning for %s", head, what, fmtDuration(time.Since(r.started)))
	}
	oc := r.outcome
	state := "ok"
	switch {
	case oc.Success:
	case oc.Err == nil && oc.Stopped.ByTest():
		state = "stopped" // by the test: neither passed nor failed
	default:
		state = "FAILED"
	}
	detail := "exit " + strconv.Itoa(oc.Exit.Code)
	switch {
	case oc.Err != nil:
		detail = oc.Err.Error()
	case !oc.Exited:
		detail = "did not run"
	case oc.Exit.Signal != 0:
		detail = oc.Exit.String()
	}
	switch {
	case oc.Err != nil || oc.Stopped == NotStopped:
	case (oc.Stopped == Killed || oc.Stopped == Signalled) && oc.Exited && oc.Exit.Signal != 0:
		detail = oc.StopMessage() // it names the signal
	default:
		detail += ", " + oc.StopMessage()
	}
	line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", head, what, state, detail, fmtDuration(oc.Duration()))
	if state == "FAILED" && oc.Err == nil {
		if tail := lastLines(r.stderr.String(), 2); tail != "" {
			line += "\tstderr: " + tail
		}
	}
	return line
}

func (s *Stream) where() string {
	typ := s.typeForMessage()
	if h := s.knownHost(); h != "" {
		return typ + ", " + h
	}
	return typ
}

// knownHost is the host for messages, without setting anything up.
func (s *Stream) knownHost() string {
	s.mu.Lock()
	env := s.env
	s.mu.Unlock()
	if env != nil {
		return env.Host()
	}
	def, err := s.resolve()
	if err != nil {
		return ""
	}
	return def.Values.String("host", "")
}

func quoteSummary(s string) string { return fmt.Sprintf("%q", s) }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, " | "))
}

func (s *Stream) last() *run {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *Stream) resolve() (params.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.resolved {
		s.resolved = true
		s.def, s.defErr = s.m.cfg.Resolve(s.id)
	}
	return s.def, s.defErr
}

func (s *Stream) error(op string, err error) error {
	s.mu.Lock()
	env := s.env
	s.mu.Unlock()
	return s.errorEnv(env, op, err)
}

// errorEnv is the one place where a failure of the stream gets its
// prefix: it wraps the cause once in a *stream.Error with the stream's id,
// type and host. A cause that already is this stream's *stream.Error (a
// type that still wraps its own errors) is unwrapped first, so that no
// message repeats the prefix.
func (s *Stream) errorEnv(env stream.Environment, op string, err error) error {
	for {
		se, ok := err.(*stream.Error)
		if !ok || se.ID != s.id || se.Err == nil {
			break
		}
		err = se.Err
	}
	e := &stream.Error{ID: s.id, Type: s.typeForMessage(), Op: op, Err: err}
	if env != nil {
		e.Host = env.Host()
	} else {
		e.Host = s.knownHost()
	}
	return e
}

// typeForMessage is the stream's type as a message names it: the type the
// parameters give, even one that is not registered, or "type unresolved"
// when the parameters could not say (an undefined stream in strict mode).
func (s *Stream) typeForMessage() string {
	def, err := s.resolve()
	if err == nil {
		return def.Type
	}
	if ute, ok := errors.AsType[*stream.UnknownTypeError](err); ok {
		return ute.Name
	}
	return "type unresolved"
}

// ensureEnv returns the stream's environment, creating and setting it up on
// first use.
func (s *Stream) ensureEnv(ctx context.Context) (stream.Environment, error) {
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	s.mu.Lock()
	env := s.env
	s.mu.Unlock()
	if env != nil {
		return env, nil
	}
	def, err := s.resolve()
	if err != nil {
		return nil, s.error("configure", err)
	}
	reg, ok := stream.Lookup(def.Type)
	if !ok {
		return nil, s.error("configure", &stream.UnknownTypeError{Name: def.Type})
	}
	env, err = reg.New(stream.Config{
		ID:     s.id,
		Test:   s.m.t.Name(),
		Type:   reg.Name,
		Params: def.Values,
		Dir:    def.Dir,
		Grace:  s.m.grace,
		Logf:   func(format string, args ...any) { s.m.logf(s.id, format, args...) },
	})
	if err != nil {
		return nil, s.error("configure", err)
	}
	if err := env.Setup(ctx); err != nil {
		env.Close()
		return nil, s.errorEnv(env, "set up", err)
	}
	if s.m.isEnding() {
		env.Close()
		return nil, s.errorEnv(env, "set up", errors.New("the test has ended"))
	}
	s.mu.Lock()
	s.env = env
	s.mu.Unlock()
	return env, nil
}

// claim makes a new run the stream's current one, unless one is running.
func (s *Stream) claim(block code.Block, o runOptions, report bool) (*run, error) {
	if block == nil {
		return nil, s.error("run", errors.New("nil block"))
	}
	if s.m.isEnding() {
		return nil, s.error("run", errors.New("the test has ended"))
	}
	s.mu.Lock()
	if cur := s.cur; cur != nil && !isClosed(cur.done) {
		s.mu.Unlock()
		return nil, s.error("run", fmt.Errorf("cannot run %s %q: %w (running %s %q for %s; Wait first)",
			block.Kind(), block.String(), ErrBusy, cur.block.Kind(), cur.block.String(), fmtDuration(time.Since(cur.started))))
	}
	defer s.mu.Unlock()
	s.seq++
	var ctx context.Context
	var cancel context.CancelFunc
	if o.timeout > 0 {
		ctx, cancel = context.WithTimeout(s.m.ctx, o.timeout)
	} else {
		ctx, cancel = context.WithCancel(s.m.ctx)
	}
	r := &run{
		s: s, block: block, opts: o, report: report, seq: s.seq,
		started: time.Now(), done: make(chan struct{}), running: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
	context.AfterFunc(ctx, func() {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			r.stop(TimedOut)
		case s.m.ctx.Err() != nil:
			r.stop(TestEnded)
		}
	})
	s.cur = r
	return r, nil
}

// target is what a block sees of its stream.
type target struct {
	s   *Stream
	env stream.Environment
}

func (t target) ID() string      { return t.s.id }
func (t target) Type() string    { return t.s.Type() }
func (t target) WorkDir() string { return t.env.WorkDir() }
func (t target) Send(ctx context.Context, local, remote string) error {
	return t.env.Send(ctx, local, remote)
}

// Sent and MarkSent make the target a code.SendOnce: the memo lives on the
// Stream and is cleared when its environment is (Terminate), so a new
// environment starts with nothing sent.
func (t target) Sent(remote string) bool {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.s.sent[remote]
}

func (t target) MarkSent(remote ...string) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if t.s.sent == nil {
		t.s.sent = map[string]bool{}
	}
	for _, r := range remote {
		t.s.sent[r] = true
	}
}

// Platform makes the target a stream.Platformer where its environment is
// one; other types' platform is unknown.
func (t target) Platform(ctx context.Context) (goos, goarch string, err error) {
	if p, ok := t.env.(stream.Platformer); ok {
		return p.Platform(ctx)
	}
	return "", "", fmt.Errorf("stream type %s does not say its platform: %w", t.Type(), errors.ErrUnsupported)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// record writes r to the record directory, if recording is on.
func (r *run) record() {
	w := r.s.m.rec
	if w == nil {
		return
	}
	oc := r.outcome
	b := record.Block{
		Test: r.s.m.t.Name(), Dir: workDir(), Stream: r.s.id, Type: r.s.Type(), Host: oc.Host,
		Seq: r.seq, Kind: r.block.Kind(), Summary: r.block.String(),
		Started: oc.Started, Ended: oc.Ended, Group: r.group,
		ExitStatus: -1, Success: oc.Success, Signal: oc.signalName(),
	}
	if oc.Exited {
		b.ExitStatus = oc.Exit.Code
		b.Began = oc.Exit.Started
	}
	if !oc.Released.IsZero() {
		rel := oc.Released
		b.Released = &rel
	}
	if tx, ok := r.block.(code.Texter); ok && tx.Text() != b.Summary {
		b.Text = tx.Text()
	}
	if oc.Err != nil {
		b.Error = oc.Err.Error()
	}
	if oc.Stopped != NotStopped {
		r.mu.Lock()
		b.StopAsked = r.stopAt
		r.mu.Unlock()
	}
	switch oc.Stopped {
	case Terminated:
		b.Stopped = record.StopTerminated
	case TestEnded:
		b.Stopped = record.StopTestEnded
	case TimedOut:
		b.Stopped, b.Timeout = record.StopTimedOut, oc.Timeout
	case Killed:
		b.Stopped = record.StopKilled
	case Signalled:
		b.Stopped = record.StopSignalled
	}
	stdout, _ := r.stdout.bytes()
	stderr, _ := r.stderr.bytes()
	if err := w.Write(b, stdout, stderr); err != nil {
		r.s.m.logf(r.s.id, "cannot write its record: %v", err)
	}
}
