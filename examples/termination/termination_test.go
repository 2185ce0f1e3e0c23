// The RFC's termination example: a block started asynchronously lives as
// long as its test, not as long as the block would.
package termination_test

import (
	"os"
	"strconv"
	"strings"
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
func TestTermination(t *testing.T) {
	var pid int
	began := time.Now()
	t.Run("rfc", func(t *testing.T) {
		s := streamtest.For(t, streamtest.DefaultParams("termination.yaml"))
		s.At(1).Run(code.Shell("echo $$; exec sleep 100"))
		for s.At(1).Output().Stdout() == "" && s.At(1).Active() {
			time.Sleep(10 * time.Millisecond)
		}
		pid, _ = strconv.Atoi(strings.TrimSpace(s.At(1).Output().Stdout()))
		time.Sleep(10 * time.Second)
	})
	lived := time.Since(began)
	if pid == 0 {
		t.Fatal("the block did not report its pid")
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Fatalf("sleep 100 (pid %d) outlived its test", pid)
	}
	if lived > 30*time.Second {
		t.Errorf("the test took %v: the stream kept it waiting for the sleep", lived)
	}
	t.Logf("sleep 100 lived as long as its test: %v", lived.Round(100*time.Millisecond))
}
