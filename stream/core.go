package stream

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultGrace is the time between SIGTERM and SIGKILL in a two-stage stop
// when nobody set one.
const DefaultGrace = time.Second

// KillWait bounds how long Stop waits for a process to end after SIGKILL.
// Past it, Stop reports the process as not ended: on a stream behind a
// network, the host may not answer.
var KillWait = 10 * time.Second

// Stop ends p's whole tree in two stages, the shape of exec.Cmd's Cancel
// and WaitDelay: SIGTERM; then, once p has ended or grace has passed,
// SIGKILL to whatever is left of the tree (children that ignored SIGTERM
// included); then it waits at most KillWait for p to end. grace <= 0 kills
// at once. It is safe on a process that has ended: the SIGKILL still
// reaches what the program left in its group, which the caller asked to
// stop.
//
// Every type stops this way; a type implements only Process.Signal.
func Stop(p Process, grace time.Duration) error {
	if grace > 0 && !isDone(p.Done()) {
		if err := p.Signal(syscall.SIGTERM); err != nil && !isDone(p.Done()) {
			return fmt.Errorf("sending SIGTERM: %w", err)
		}
		t := time.NewTimer(grace)
		select {
		case <-p.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if err := p.Signal(syscall.SIGKILL); err != nil && !isDone(p.Done()) {
		return fmt.Errorf("sending SIGKILL: %w", err)
	}
	t := time.NewTimer(KillWait)
	defer t.Stop()
	select {
	case <-p.Done():
		return nil
	case <-t.C:
		return fmt.Errorf("the process did not end within %v of SIGKILL", KillWait)
	}
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Ending is the end state of a process: how it ended, set once, waited for
// by anyone. Embed it in a type's process to get Process.Done and
// Process.Wait. Its zero value is ready to use.
type Ending struct {
	once sync.Once
	done chan struct{}
	set  sync.Once
	exit Exit
	err  error
}

func (e *Ending) init() { e.once.Do(func() { e.done = make(chan struct{}) }) }

// End records how the process ended and wakes every waiter. Only the first
// call counts; it reports whether this call was it.
func (e *Ending) End(exit Exit, err error) bool {
	e.init()
	first := false
	e.set.Do(func() {
		e.exit, e.err = exit, err
		first = true
		close(e.done)
	})
	return first
}

// Done is closed once End was called.
func (e *Ending) Done() <-chan struct{} {
	e.init()
	return e.done
}

// Ended reports whether End was called.
func (e *Ending) Ended() bool { return isDone(e.Done()) }

// Wait waits for End and returns what it recorded.
func (e *Ending) Wait() (Exit, error) {
	<-e.Done()
	return e.exit, e.err
}

// ProcessSet is the set of a stream's live processes and whether the
// stream is closed: what Start adds to, the end of a process removes from,
// and Close stops. Its zero value is an empty, open set.
type ProcessSet[P interface {
	Process
	comparable
}] struct {
	mu     sync.Mutex
	procs  map[P]struct{}
	closed bool
}

// Add adds p, unless the set is closed: then it returns an error that wraps
// ErrClosed and the caller must end p itself.
func (s *ProcessSet[P]) Add(p P) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.procs == nil {
		s.procs = map[P]struct{}{}
	}
	s.procs[p] = struct{}{}
	return nil
}

// Remove removes p.
func (s *ProcessSet[P]) Remove(p P) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.procs, p)
}

// Closed reports whether Close was called.
func (s *ProcessSet[P]) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Len returns the number of processes in the set.
func (s *ProcessSet[P]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.procs)
}

// Close marks the set closed (Add fails from now on) and returns the
// processes it held; first reports whether this call closed it.
func (s *ProcessSet[P]) Close() (procs []P, first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first = !s.closed
	s.closed = true
	for p := range s.procs {
		procs = append(procs, p)
	}
	s.procs = nil
	return procs, first
}

// StopAll stops every process at once with Stop and returns the joined
// errors.
func StopAll[P Process](procs []P, grace time.Duration) error {
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Stop(p, grace)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// SignalName names a signal the way every stream type and report does:
// "SIGKILL", "SIGUSR1", "SIGRTMIN+3"; "SIG<n>" for a number with no name.
func SignalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	if sig >= sigRTMIN && sig <= sigRTMAX {
		return "SIGRTMIN+" + strconv.Itoa(int(sig-sigRTMIN))
	}
	return "SIG" + strconv.Itoa(int(sig))
}

// Linux's real-time signal range as seen by programs (glibc and musl keep
// 32 and 33 for themselves).
const (
	sigRTMIN syscall.Signal = 34
	sigRTMAX syscall.Signal = 64
)

// ParseSignal reads a signal's name, with or without "SIG" and in any case
// ("TERM", "sigusr1", "SIGRTMIN+3"), or its number ("9").
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > int(sigRTMAX) {
			return 0, fmt.Errorf("no signal number %d", n)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if rest, ok := strings.CutPrefix(name, "SIGRTMIN+"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && sigRTMIN+syscall.Signal(n) <= sigRTMAX {
			return sigRTMIN + syscall.Signal(n), nil
		}
	}
	if rest, ok := strings.CutPrefix(name, "SIG"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n > 0 && n <= int(sigRTMAX) {
			return syscall.Signal(n), nil
		}
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

func itoa(i int) string { return strconv.Itoa(i) }
