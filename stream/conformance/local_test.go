package conformance_test

import (
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/conformance"
	_ "github.com/streamtest/streamtest/stream/local"
)

// grace is the Config.Grace of every stream the suite opens: the close
// checks wait it out once.
const grace = 200 * time.Millisecond

// opener returns the open function of conformance.Test for the type
// registered as name, with params.
func opener(t *testing.T, name string, params stream.Values, dir string) func(t *testing.T) stream.Environment {
	t.Helper()
	f, ok := stream.Implementation(name)
	if !ok {
		t.Fatalf("no stream type %q is registered", name)
	}
	return func(t *testing.T) stream.Environment {
		t.Helper()
		env, err := f(stream.Config{ID: "conformance", Test: t.Name(), Type: name, Params: params, Dir: dir, Grace: grace, Logf: t.Logf})
		if err != nil {
			t.Fatalf("the %s factory: %v", name, err)
		}
		return env
	}
}

func TestLocal(t *testing.T) {
	open := opener(t, "local", nil, "")
	opts := conformance.Options{SameHost: true, KillsDetached: true}
	if fault != "" { // a child of TestSuiteCatches
		open, opts.Timeout = faulty(open, fault), 3*time.Second
	}
	conformance.Test(t, open, opts)
}
