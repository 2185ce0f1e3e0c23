// Package streams is a fixture for the tests of `streamtest run`: tests
// that run blocks on local streams through the manager, so that the records
// come from the library itself.
package streams

import (
	"strings"
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

func TestStreams(t *testing.T) {
	s := streamtest.For(t)
	s.At(1).Run(code.Shell("echo one; sleep 0.2"))
	s.At(2).Run(code.Shell("echo '<two>' >&2; sleep 0.1"), streamtest.Wait())
	s.Range(3, 4).Run(code.Shell("echo synchronized; sleep 0.1"), streamtest.Synchronized())
	s.Wait()
	if !s.Success() {
		t.Error(s)
	}
}

func TestStreamFails(t *testing.T) {
	s := streamtest.For(t)
	s.At(1).Run(code.Shell("echo failing >&2; exit 3"), streamtest.Wait())
	if s.At(1).Success() {
		t.Error("exit 3 succeeded")
	}
	t.Log("stream 1 failed as expected")
}

// TestServers passes with servers that the test stops: one by Terminate,
// one by ending.
func TestServers(t *testing.T) {
	s := streamtest.For(t)
	s.At(1).Run(code.Shell("sleep 30"))
	s.At(2).Run(code.Shell("sleep 30"))
	s.At(3).Run(code.Shell("echo "+strings.Repeat("x", 90)+" end"), streamtest.Wait())
	s.At(2).Terminate()
}
