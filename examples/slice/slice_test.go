// The RFC's four-stream slice: streams 1 and 2 reach each other; streams 3
// and 4 cannot reach stream 1.
package slice_test

import (
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

func TestInterCommunicationSlice(t *testing.T) {
	s := streamtest.For(t, streamtest.DefaultParams("slice.yaml"))
	ping := func(host string) code.Block { return code.Shell("ping -c 1 -W 1 " + host) }
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
	for _, id := range []int{3, 4} {
		if s.At(id).Err() != nil {
			t.Errorf("stream %d should have run and failed, not failed to run: %v", id, s.At(id).Err())
		}
	}
}
