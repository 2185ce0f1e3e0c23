// The RFC's InterCommunication example: two streams ping each other.
package intercommunication_test

import (
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

func TestInterCommunication(t *testing.T) {
	s := streamtest.For(t, streamtest.DefaultParams("intercommunication.yaml"))
	s.At(1).Run(code.Shell("ping -c 1 -W 2 " + s.At(2).Host()))
	s.At(2).Run(code.Shell("ping -c 1 -W 2 " + s.At(1).Host()))
	s.Wait()
	if !s.Success() {
		t.Error(s)
	}
}
