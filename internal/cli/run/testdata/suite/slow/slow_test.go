// Package slow is a fixture for the tests of `streamtest run`: a test that
// waits for an interrupt, as a test whose streams run long would, and says
// whether it received it.
package slow

import (
	"context"
	"os"
	"os/signal"
	"testing"
	"time"
)

func TestSlow(t *testing.T) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if f := os.Getenv("STREAMTEST_FIXTURE_STARTED"); f != "" {
		os.WriteFile(f, nil, 0o644)
	}
	select {
	case <-ctx.Done():
		t.Fatal("interrupted: cleaning up")
	case <-time.After(time.Minute):
	}
}
