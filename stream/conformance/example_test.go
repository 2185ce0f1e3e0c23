package conformance_test

import (
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/conformance"
)

// A new type's author runs the suite from a test in the type's package:
// open makes a fresh Environment for each call, the suite does the rest.
// Here the type is "local"; a type of your own passes its own factory.
func ExampleTest() {
	testConformance := func(t *testing.T) {
		open := func(t *testing.T) stream.Environment {
			factory, _ := stream.Implementation("local")
			env, err := factory(stream.Config{ID: "c", Test: t.Name(), Type: "local", Grace: 200 * time.Millisecond, Logf: t.Logf})
			if err != nil {
				t.Fatal(err)
			}
			return env
		}
		conformance.Test(t, open, conformance.Options{SameHost: true, KillsDetached: true})
	}
	_ = testConformance // in a _test.go file: func TestConformance(t *testing.T) { ... }
}
