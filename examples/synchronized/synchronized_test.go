// The RFC's synchronized slice: streams 1 and 2 check connectivity as soon
// as each can; streams 3 and 4 start their load at one instant.
//
// The RFC pings; the examples ship their own ping, reach
// (examples/internal/reach), so that they need no program on the streams.
package synchronized_test

import (
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// ping is the RFC's `ping ARGS HOST`, with the examples' own program.
func ping(args ...string) code.Block {
	return code.GoProgram("github.com/streamtest/streamtest/examples/internal/reach", args...)
}

func TestSynchronizedSlice(t *testing.T) {
	s := streamtest.For(t, streamtest.DefaultParams("synchronized.yaml"))
	s.At(1).Run(ping("-count", "5", "-interval", "200ms", s.At(2).Host()))
	s.At(2).Run(ping("-count", "5", "-interval", "200ms", s.At(1).Host()))
	// The RFC's "ddos --target": a burst of connection attempts on stream
	// 1, from both at once.
	load := ping("-count", "10", "-interval", "200ms", "-q", s.At(1).Host())
	s.Range(3, 4).Run(load, streamtest.Synchronized())
	s.Range(1, 2).Wait()
	s.Range(3, 4).Wait()
	if !s.Success() {
		t.Error(s)
	}
	t.Logf("streams 3 and 4 started %v apart", s.Range(3, 4).Skew())
}
