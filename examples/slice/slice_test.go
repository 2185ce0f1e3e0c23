// The RFC's four-stream slice: streams 1 and 2 reach each other; streams 3
// and 4 cannot reach stream 1.
//
// The RFC pings; the examples ship their own ping, reach
// (examples/internal/reach), so that they need no program on the streams.
package slice_test

import (
	"strings"
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// ping is the RFC's `ping -c 1 -W 1 HOST`. reach exits 1 only when HOST
// did not answer (unreachable network, no route, no answer in time).
func ping(host string) code.Block {
	return code.GoProgram("github.com/streamtest/streamtest/examples/internal/reach", "-timeout", "1s", host)
}

func TestInterCommunicationSlice(t *testing.T) {
	s := streamtest.For(t, streamtest.DefaultParams("slice.yaml"))
	s.At(1).Run(ping(s.At(2).Host()))
	s.At(2).Run(ping(s.At(1).Host()))
	s.At(3).Run(ping(s.At(1).Host()))
	s.At(4).Run(ping(s.At(1).Host()))
	s.Wait()
	if !s.Range(1, 2).Success() {
		t.Errorf("streams 1 and 2 should reach each other:\n%v", s)
	}
	if s.Range(3, 4).Success() {
		t.Errorf("streams 3 and 4 should not reach stream 1:\n%v", s)
	}
	// They must fail because stream 1 did not answer, not because the
	// block could not run or reach was used wrongly.
	for _, id := range []int{3, 4} {
		out, stderr := s.At(id).Outcome(), strings.TrimSpace(s.At(id).Output().Stderr())
		if out.Err != nil || out.Exit.Code != 1 || !strings.Contains(stderr, "not reached") {
			t.Errorf("stream %d should have run and not reached stream 1, got %v, error %v, stderr %q",
				id, out.Exit, out.Err, stderr)
			continue
		}
		t.Logf("stream %d (%s): %s", id, s.At(id).Type(), stderr)
	}
}
