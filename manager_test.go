package streamtest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/streamtest/streamtest"
)

// countingTB is a TB that counts the cleanups registered on it.
type countingTB struct {
	name     string
	mu       sync.Mutex
	cleanups []func()
	errs     []string
}

func (c *countingTB) Helper()                  {}
func (c *countingTB) Name() string             { return c.name }
func (c *countingTB) Context() context.Context { return context.Background() }
func (c *countingTB) Logf(string, ...any)      {}
func (c *countingTB) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, f)
}
func (c *countingTB) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}
func (c *countingTB) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	panic(fmt.Sprintf(format, args...))
}

func (c *countingTB) runCleanups() {
	c.mu.Lock()
	fs := c.cleanups
	c.cleanups = nil
	c.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func TestForIsOneManagerUnderConcurrentCalls(t *testing.T) {
	t.Setenv("STREAMTEST_PARAMS", "")
	for round := range 100 {
		tb := &countingTB{name: fmt.Sprintf("concurrent-%d", round)}
		const n = 64
		got := make([]*streamtest.Manager, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				got[i] = streamtest.For(tb)
			})
		}
		close(start)
		wg.Wait()
		for i, m := range got {
			if m != got[0] {
				t.Fatalf("round %d: call %d got manager %p, call 0 got %p: two managers for one test", round, i, m, got[0])
			}
		}
		tb.mu.Lock()
		n2 := len(tb.cleanups)
		tb.mu.Unlock()
		if n2 != 1 {
			t.Fatalf("round %d: %d cleanups registered, want 1", round, n2)
		}
		tb.runCleanups()
		if len(tb.errs) > 0 {
			t.Errorf("round %d: errors: %q", round, tb.errs)
		}
	}
}
