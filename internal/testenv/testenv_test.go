package testenv

import (
	"fmt"
	"runtime"
	"testing"
)

// recorder is a testing.TB that records Skip and Fatal, and ends its
// goroutine on them as testing does.
type recorder struct {
	testing.TB
	skipped, fatal string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatal(args ...any) { r.fatal = fmt.Sprint(args...); runtime.Goexit() }

// need runs Need on r in a goroutine of its own.
func need(r *recorder, ok bool, what, howto string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Need(r, ok, what, howto)
	}()
	<-done
}

func TestNeed(t *testing.T) {
	type testCase struct {
		name, ci      string
		ok            bool
		skipped, fail string
	}
	cases := []testCase{
		{name: "present", ci: "false", ok: true},
		{name: "missing", ci: "false", skipped: "a Docker Engine is missing; to enable: start dockerd and run `streamtest lab image`"},
		{name: "missing in CI", ci: "true", fail: "CI=true and a Docker Engine is missing; to enable: start dockerd and run `streamtest lab image`"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			need(r, tc.ok, "a Docker Engine", "start dockerd and run `streamtest lab image`")
			if r.skipped != tc.skipped || r.fatal != tc.fail {
				t.Errorf("skipped %q, failed %q; want skipped %q, failed %q", r.skipped, r.fatal, tc.skipped, tc.fail)
			}
		})
	}
}
