// The RFC's InterCommunication example: two streams reach each other.
//
// The RFC pings; ping is not on every machine (a fresh Debian lacks it), so
// the examples ship their own: reach (examples/internal/reach), a Go
// program that counts a host as reached when its kernel answers a TCP
// connection attempt. It is built here and runs on any Linux stream.
package intercommunication_test

import (
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// ping is the RFC's `ping -c 1 HOST`, with the examples' own program.
func ping(host string) code.Block {
	return code.GoProgram("github.com/streamtest/streamtest/examples/internal/reach", host)
}

func TestInterCommunication(t *testing.T) {
	s := streamtest.For(t, streamtest.DefaultParams("intercommunication.yaml"))
	s.At(1).Run(ping(s.At(2).Host()))
	s.At(2).Run(ping(s.At(1).Host()))
	s.Wait()
	if !s.Success() {
		t.Error(s)
	}
}
