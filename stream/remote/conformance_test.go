package remote

import (
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/conformance"
)

// TestConformance runs the public conformance suite against remote streams
// on the in-process SSH server, which runs blocks with this machine's
// /bin/sh: two streams on it share a host (SameHost). A remote stream does
// not promise to kill daemons that detached (docs/remote.md).
func TestConformance(t *testing.T) {
	srv := newTestServer(t)
	conformance.Test(t, func(t *testing.T) stream.Environment {
		env, err := New(stream.Config{ID: "conformance", Test: t.Name(), Type: "remote", Params: unitParams(srv),
			Grace: 200 * time.Millisecond, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { env.Close() })
		return env
	}, conformance.Options{SameHost: true})
}
