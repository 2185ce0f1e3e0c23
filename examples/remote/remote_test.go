// Package remote_test holds the RFC's examples on remote streams: hosts of
// the netns lab (streamtest lab up), reached over SSH.
//
//	streamtest lab up --hosts 4 --isolated 2 --dir .lab   # as root
//	STREAMTEST_PARAMS=$PWD/.lab/params.yaml go test ./examples/remote
//
// Without STREAMTEST_PARAMS the tests skip (and fail when CI=true).
package remote_test

import (
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	_ "github.com/streamtest/streamtest/stream/remote" // type remote (ssh)
)

// TestInterCommunication is the RFC's first example: streams 1 and 2 ping
// each other.
func TestInterCommunication(t *testing.T) {
	labParams(t)
	s := streamtest.For(t, streamtest.Strict())
	s.At(1).Run(code.Shell("ping -c 1 -W 2 " + s.At(2).Host()))
	s.At(2).Run(code.Shell("ping -c 1 -W 2 " + s.At(1).Host()))
	s.Wait()
	if !s.Success() {
		t.Error(s)
	}
	if s.At(1).Type() != "remote" {
		t.Errorf("stream 1 is %q, not remote: STREAMTEST_PARAMS is not the lab's", s.At(1).Type())
	}
}

// TestInterCommunicationSlice is the RFC's four-stream slice: streams 3 and 4
// are on the lab's isolated subnet and cannot reach stream 1.
func TestInterCommunicationSlice(t *testing.T) {
	s := streamtest.For(t, streamtest.ParamsFile(sliceParams(t)), streamtest.Strict())
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
		if err := s.At(id).Err(); err != nil {
			t.Errorf("stream %d should have run and failed, not failed to run: %v", id, err)
		}
	}
}

// TestSynchronizedSlice is the RFC's synchronized slice: streams 1 and 2
// check connectivity as soon as each can; streams 3 and 4 start their load
// on stream 1 at one instant.
func TestSynchronizedSlice(t *testing.T) {
	labParams(t)
	s := streamtest.For(t, streamtest.Strict())
	s.At(1).Run(code.Shell("ping -c 5 -i 0.2 " + s.At(2).Host()))
	s.At(2).Run(code.Shell("ping -c 5 -i 0.2 " + s.At(1).Host()))
	load := code.Shell("ping -c 10 -i 0.2 -q " + s.At(1).Host())
	s.Range(3, 4).Run(load, streamtest.Synchronized())
	s.Range(1, 2).Wait()
	s.Range(3, 4).Wait()
	if !s.Success() {
		t.Error(s)
	}
	t.Logf("streams 3 and 4 started %v apart (the hosts' clocks)", s.Range(3, 4).Skew())
}
