package remote

import (
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/conformance"
)

// TestUnitConformance runs the conformance suite on remote streams to the
// in-process SSH server, which runs commands on this machine: two streams
// see each other's processes and files. (TestRemoteLab in package
// conformance runs it on the netns lab.)
func TestUnitConformance(t *testing.T) {
	srv := newTestServer(t)
	conformance.Test(t, func(t *testing.T) stream.Environment {
		env, err := New(stream.Config{ID: "conformance", Test: t.Name(), Type: "remote", Params: unitParams(srv),
			Grace: 200 * time.Millisecond, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		return env
	}, conformance.Options{SameHost: true, Timeout: 20 * time.Second})
}
