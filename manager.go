package streamtest

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/streamtest/streamtest/params"
	"github.com/streamtest/streamtest/record"
	"github.com/streamtest/streamtest/stream"

	// Every built-in stream type: only the parameters say where a test's
	// streams are, so a test never needs an import to run on another
	// built-in type. Third-party types register themselves when imported.
	_ "github.com/streamtest/streamtest/stream/container"
	_ "github.com/streamtest/streamtest/stream/local"
	_ "github.com/streamtest/streamtest/stream/remote"
	_ "github.com/streamtest/streamtest/stream/sandbox"
)

// TB is the part of testing.TB the manager uses. *testing.T and *testing.B
// satisfy it.
type TB interface {
	Helper()
	Name() string
	Cleanup(func())
	Context() context.Context
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

var _ TB = testing.TB(nil)

// Manager is a test's streams manager: the test's view of all its streams.
// Get it with For. It belongs to one test; another test, a subtest included,
// has its own manager and its own streams.
type Manager struct {
	t   TB
	cfg *params.Config
	// ctx lives until the manager's cleanup, not t.Context(), which ends
	// before any cleanup runs: a cleanup registered after For may still run
	// blocks.
	ctx    context.Context
	cancel context.CancelFunc
	grace  time.Duration
	rec    *record.Writer

	mu      sync.Mutex
	streams map[string]*Stream
	ending  bool // the test is ending: failures now are terminations
	ended   bool // the test has ended: nothing may log to t

	net netState // network faults (faults.go)

	cleanupOnce sync.Once
}

var (
	managersMu sync.Mutex
	managers   = map[TB]*Manager{}
)

// For returns the streams manager of the test t, creating it on the first
// call. Every stream it makes is terminated, and everything the streams
// created is removed, when t ends (t.Cleanup), whether t passed, failed or
// panicked.
//
// The streams are defined by the parameters: the files named by ParamsFile
// and the Ansible inventories named by InventoryFile, over those named by
// STREAMTEST_PARAMS and STREAMTEST_INVENTORY, over the user's and the
// system's config files; DefaultParams when none of these name a file. A
// parameter error fails the test at once with the file, line and column.
//
// Options are taken on the first call only.
func For(t TB, opts ...Option) *Manager {
	t.Helper()
	m, created := forTest(t, opts)
	if !created && len(opts) > 0 {
		t.Errorf("streamtest.For: options are taken on the first call of a test only")
	}
	return m
}

// forTest returns t's manager, creating it if there is none, in one
// critical section: concurrent first calls make one manager and register
// one cleanup.
func forTest(t TB, opts []Option) (m *Manager, created bool) {
	t.Helper()
	managersMu.Lock()
	defer managersMu.Unlock() // also when Fatalf ends the goroutine
	if m, ok := managers[t]; ok {
		return m, false
	}
	var o managerOptions
	for _, opt := range opts {
		opt.applyManager(&o)
	}
	po := params.Options{
		Files:       o.files,
		Inventories: o.inventories,
		Fallback:    o.fallback,
		Strict:      o.strict,
		DefaultType: o.defaultType,
		// Named as the test writer wrote them, not as command-line flags.
		StrictSource:      "streamtest.Strict() in the test",
		DefaultTypeSource: "streamtest.DefaultType() in the test",
	}
	if o.isolated {
		po.SystemFile, po.UserFile = "-", "-"
		po.Getenv = func(string) string { return "" }
	}
	cfg, err := params.Load(po)
	if err != nil {
		t.Fatalf("streamtest: parameters: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	m = &Manager{
		ctx:     ctx,
		cancel:  cancel,
		t:       t,
		cfg:     cfg,
		grace:   stream.DefaultGrace,
		rec:     record.Default(),
		streams: map[string]*Stream{},
	}
	if o.grace > 0 {
		m.grace = o.grace
	}
	managers[t] = m
	t.Cleanup(m.cleanup)
	if _, isTest := t.(testing.TB); isTest {
		interruptOnce.Do(watchInterrupt)
	}
	return m, true
}

var interruptOnce sync.Once

// watchInterrupt makes an interrupted test binary (Ctrl-C, SIGTERM from go
// test or the streamtest command) terminate every stream of every running
// test, as the tests' ends would, before it dies of the signal as it would
// have. The guards of each stream type cover a binary that dies without
// this: SIGKILL, or a termination that takes longer than 5 s.
func watchInterrupt() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-c
		managersMu.Lock()
		all := make([]*Manager, 0, len(managers))
		for _, m := range managers {
			all = append(all, m)
		}
		managersMu.Unlock()
		done := make(chan struct{})
		go func() {
			defer close(done)
			var wg sync.WaitGroup
			for _, m := range all {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m.terminateAll()
				}()
			}
			wg.Wait()
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig.(syscall.Signal))
	}()
}

// At returns the stream with the given id: a number from 1 or a name
// (At(1), At("db")). The stream is created on its first use, not here.
func (m *Manager) At(id any) *Stream {
	m.t.Helper()
	key, err := streamID(id)
	if err != nil {
		m.t.Fatalf("streamtest: At(%v): %v", id, err)
	}
	return m.stream(key)
}

func (m *Manager) stream(id string) *Stream {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.streams[id]
	if !ok {
		s = &Stream{m: m, id: id}
		m.streams[id] = s
	}
	return s
}

func streamID(id any) (string, error) {
	switch v := id.(type) {
	case int:
		if v < 1 {
			return "", fmt.Errorf("stream numbers start at 1")
		}
		return strconv.Itoa(v), nil
	case string:
		if v == "" {
			return "", fmt.Errorf("empty stream name")
		}
		if n, err := strconv.Atoi(v); err == nil && v[0] != '+' && v[0] != '-' {
			if n < 1 {
				return "", fmt.Errorf("stream numbers start at 1")
			}
			return strconv.Itoa(n), nil // "01" is stream 1, as in the parameters
		}
		return v, nil
	}
	return "", fmt.Errorf("a stream id is an int or a string, not %T", id)
}

// Range returns the group of streams first to last, both included:
// Range(3, 4) is streams 3 and 4 (the RFC's streams[3:4]).
func (m *Manager) Range(first, last int) *Group {
	m.t.Helper()
	if first < 1 || last < first {
		m.t.Fatalf("streamtest: Range(%d, %d): want 1 <= first <= last", first, last)
	}
	g := &Group{m: m}
	for i := first; i <= last; i++ {
		g.members = append(g.members, m.stream(strconv.Itoa(i)))
	}
	return g
}

// Pick returns the group of the streams named, in that order, each once.
func (m *Manager) Pick(ids ...any) *Group {
	m.t.Helper()
	g := &Group{m: m}
	seen := map[string]bool{}
	for _, id := range ids {
		key, err := streamID(id)
		if err != nil {
			m.t.Fatalf("streamtest: Pick(%v): %v", id, err)
		}
		if !seen[key] {
			seen[key] = true
			g.members = append(g.members, m.stream(key))
		}
	}
	return g
}

// Group returns the named group of streams name: a group of an Ansible
// inventory (STREAMTEST_INVENTORY, --inventory), or the streams whose
// definition lists name under "groups" (- db1: {type: remote, host: h,
// groups: [etcd, db]}). Its members are in the order the parameters define
// them, so a test can address "the database hosts" without knowing how
// many there are. A name no parameters declare fails the test, listing the
// known group names; so does a group without streams.
func (m *Manager) Group(name string) *Group {
	m.t.Helper()
	grp, ok := m.cfg.Groups[name]
	if !ok {
		known := "no parameters declare a group (an inventory's groups, or a stream's groups: list)"
		if len(m.cfg.GroupOrder) > 0 {
			known = "known groups: " + strings.Join(m.cfg.GroupOrder, ", ")
		}
		m.t.Fatalf("streamtest: Group(%q): no such group%s; %s", name, suggestName(name, m.cfg.GroupOrder), known)
	}
	if len(grp.Members) == 0 {
		m.t.Fatalf("streamtest: Group(%q): the group, declared at %s, has no streams", name, grp.Pos)
	}
	g := &Group{m: m}
	for _, id := range grp.Members {
		g.members = append(g.members, m.stream(id))
	}
	return g
}

// suggestName returns ` (did you mean "x"?)` for a name of names that
// differs from s only in case, or "".
func suggestName(s string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(n, s) {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return ""
}

// All returns the group of every stream the parameters define and every
// stream the test has used, in id order (numbers first, then names).
func (m *Manager) All() *Group {
	for _, id := range m.cfg.Order {
		m.stream(id)
	}
	m.mu.Lock()
	g := &Group{m: m}
	for _, s := range m.streams {
		g.members = append(g.members, s)
	}
	m.mu.Unlock()
	sortStreams(g.members)
	return g
}

// used returns the streams that have run a block, in id order.
func (m *Manager) used() []*Stream {
	m.mu.Lock()
	var out []*Stream
	for _, s := range m.streams {
		if s.last() != nil {
			out = append(out, s)
		}
	}
	m.mu.Unlock()
	sortStreams(out)
	return out
}

func sortStreams(ss []*Stream) {
	sort.Slice(ss, func(i, j int) bool {
		a, aerr := strconv.Atoi(ss[i].id)
		b, berr := strconv.Atoi(ss[j].id)
		switch {
		case aerr == nil && berr == nil:
			return a < b
		case aerr == nil:
			return true
		case berr == nil:
			return false
		}
		return ss[i].id < ss[j].id
	})
}

// Wait waits until every stream's block has ended.
func (m *Manager) Wait() {
	for _, s := range m.used() {
		s.Wait()
	}
}

// Success reports whether every stream that ran a block ended its last block
// with the expected outcome. It is false while a block is running, and
// false when no block was run at all.
func (m *Manager) Success() bool {
	used := m.used()
	if len(used) == 0 {
		return false
	}
	for _, s := range used {
		if !s.Success() {
			return false
		}
	}
	return true
}

// Params returns the test's own parameters: every top-level key of the
// parameter files other than the stream definitions. Pass it, or a subtree
// (Params().Sub("mymodule")), to a block with code.Params.
func (m *Manager) Params() params.Tree { return m.cfg.Tree }

// String summarises every used stream's outcome, one line each, for a
// failure message: if !s.Success() { t.Error(s) }.
func (m *Manager) String() string {
	return summary(m.t.Name(), m.used())
}

func summary(title string, ss []*Stream) string {
	var b strings.Builder
	ok := 0
	for _, s := range ss {
		if s.Success() {
			ok++
		}
	}
	fmt.Fprintf(&b, "streams of %s: %d of %d succeeded\n", title, ok, len(ss))
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, s := range ss {
		fmt.Fprintf(w, "  %s\n", s.line())
	}
	w.Flush()
	return strings.TrimRight(b.String(), "\n")
}

// logf logs a stream's line in the test's log while the test runs, and on
// standard error after it has ended.
func (m *Manager) logf(id, format string, args ...any) {
	m.mu.Lock()
	ended := m.ended
	m.mu.Unlock()
	msg := fmt.Sprintf("stream %s: "+format, append([]any{id}, args...)...)
	if ended {
		fmt.Fprintln(os.Stderr, msg)
		return
	}
	m.t.Logf("%s", msg)
}

func (m *Manager) isEnding() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ending
}

// cleanup terminates every stream at the end of the test.
func (m *Manager) cleanup() {
	m.t.Helper()
	errs := m.terminateAll()
	for _, err := range errs {
		if err != nil {
			m.t.Errorf("streamtest: terminating: %v", err)
		}
	}
	m.mu.Lock()
	m.ended = true
	m.mu.Unlock()
	managersMu.Lock()
	delete(managers, m.t)
	managersMu.Unlock()
}

// terminateAll terminates every stream, once, and returns the errors.
func (m *Manager) terminateAll() (errs []error) {
	m.cleanupOnce.Do(func() { errs = m.terminate() })
	return errs
}

func (m *Manager) terminate() []error {
	m.mu.Lock()
	m.ending = true
	m.cancel()
	var all []*Stream
	for _, s := range m.streams {
		all = append(all, s)
	}
	m.mu.Unlock()
	sortStreams(all)
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.terminate(TestEnded)
		}()
	}
	wg.Wait()
	return errs
}

var workDir = sync.OnceValue(func() string { d, _ := os.Getwd(); return d })
