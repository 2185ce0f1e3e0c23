// The RFC's synchronized slice: streams 1 and 2 check connectivity as soon
// as each can; streams 3 and 4 start their load at one instant.
package synchronized_test

import (
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

func TestSynchronizedSlice(t *testing.T) {
	s := streamtest.For(t, streamtest.DefaultParams("synchronized.yaml"))
	s.At(1).Run(code.Shell("ping -c 5 -i 0.2 " + s.At(2).Host()))
	s.At(2).Run(code.Shell("ping -c 5 -i 0.2 " + s.At(1).Host()))
	// The RFC's "ddos --target": a burst of pings, from both at once.
	load := code.Shell("ping -c 10 -i 0.2 -q " + s.At(1).Host())
	s.Range(3, 4).Run(load, streamtest.Synchronized())
	s.Range(1, 2).Wait()
	s.Range(3, 4).Wait()
	if !s.Success() {
		t.Error(s)
	}
	t.Logf("streams 3 and 4 started %v apart", s.Range(3, 4).Skew())
}
