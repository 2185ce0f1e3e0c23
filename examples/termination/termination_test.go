// The RFC's termination example: a block started asynchronously lives as
// long as its test, not as long as the block would.
package termination_test

import (
	"testing"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// TestTermination runs the RFC's test as a subtest:
//
//	self.streams[1].run(shell("sleep 100"))
//	time.sleep(10)
//
// and checks, once it has ended, that the sleep lived about 10 s, not 100 s.
// It reads how the block ended from the stream's Outcome, so it holds on
// every stream type: the outcome is known only once the program has ended
// on the stream.
func TestTermination(t *testing.T) {
	var s1 *streamtest.Stream
	began := time.Now()
	t.Run("rfc", func(t *testing.T) {
		s := streamtest.For(t, streamtest.DefaultParams("termination.yaml"))
		s1 = s.At(1)
		s1.Run(code.Shell("exec sleep 100"))
		time.Sleep(10 * time.Second)
	})
	lived := time.Since(began)
	out := s1.Outcome()
	if !out.Exited {
		t.Fatalf("the block's end is not known: %v", s1)
	}
	if out.Stopped != streamtest.TestEnded {
		t.Errorf("the block was stopped as %v, want %v: %v", out.Stopped, streamtest.TestEnded, s1)
	}
	if ran := out.Exit.Ended.Sub(out.Started); ran > 30*time.Second {
		t.Errorf("sleep 100 ran %v: it outlived its test", ran)
	}
	if lived > 30*time.Second {
		t.Errorf("the test took %v: the stream kept it waiting for the sleep", lived)
	}
	t.Logf("sleep 100 lived as long as its test: %v, %s", lived.Round(100*time.Millisecond), out.Exit)
}
