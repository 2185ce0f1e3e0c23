package streamtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
)

// Session stands in for a test outside go test: in Example functions,
// programs and commands that want streams. It implements TB. Close runs the
// cleanups (terminating every stream), as the end of a test does.
//
//	sess := streamtest.NewSession("deploy-check")
//	defer sess.Close()
//	s := streamtest.For(sess)
//
// Fatalf records the failure and panics with a *FatalError, since there is
// no test goroutine to end; recover it where that matters.
type Session struct {
	name   string
	log    io.Writer
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	cleanups []func()
	errs     []string
	closed   bool
}

// NewSession returns a session named name that logs to standard error.
func NewSession(name string) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	return &Session{name: name, log: os.Stderr, ctx: ctx, cancel: cancel}
}

// SetLog sends the session's log lines to w (nil discards them).
func (s *Session) SetLog(w io.Writer) {
	if w == nil {
		w = io.Discard
	}
	s.mu.Lock()
	s.log = w
	s.mu.Unlock()
}

// FatalError is the panic value of Session.Fatalf.
type FatalError struct{ Msg string }

// Error returns the failure message.
func (e *FatalError) Error() string { return e.Msg }

// Helper does nothing: a session has no test log lines to attribute.
func (s *Session) Helper() {}

// Name returns the session's name, used as the test's name in summaries and
// records.
func (s *Session) Name() string { return s.name }

// Context returns a context that ends when the session is closed.
func (s *Session) Context() context.Context { return s.ctx }

// Cleanup registers f to run at Close, last registered first.
func (s *Session) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

// Errorf records a failure and logs it.
func (s *Session) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.errs = append(s.errs, msg)
	w := s.log
	s.mu.Unlock()
	fmt.Fprintln(w, msg)
}

// Fatalf records a failure and panics with a *FatalError.
func (s *Session) Fatalf(format string, args ...any) {
	s.Errorf(format, args...)
	panic(&FatalError{Msg: fmt.Sprintf(format, args...)})
}

// Logf logs a line.
func (s *Session) Logf(format string, args ...any) {
	s.mu.Lock()
	w := s.log
	s.mu.Unlock()
	fmt.Fprintf(w, format+"\n", args...)
}

// Errors returns the failures recorded so far.
func (s *Session) Errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.errs)
}

// Close cancels the session's context and runs its cleanups: every stream is
// terminated. It is safe to call more than once.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	fs := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	s.cancel()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
