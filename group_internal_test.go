package streamtest

import (
	"errors"
	"testing"
	"time"

	"github.com/streamtest/streamtest/params"
)

func TestAbortCause(t *testing.T) {
	m := &Manager{cfg: &params.Config{}}
	r1 := &run{s: &Stream{m: m, id: "1"}}
	r2 := &run{s: &Stream{m: m, id: "2"}}
	r3 := &run{s: &Stream{m: m, id: "3"}}
	runs := []*run{r1, r2, r3}
	type testCase struct {
		name     string
		got      map[*run]bool
		failed   map[*run]error
		timedOut bool
		want     string
	}
	for _, tc := range []testCase{
		{
			name:   "one failed, the others not yet ready",
			got:    map[*run]bool{r2: true},
			failed: map[*run]error{r2: errors.New("stream 2 (local): set up: no room")},
			want:   "synchronized start of streams 1,2,3 aborted: stream 2 did not get ready: stream 2 (local): set up: no room",
		},
		{
			name:     "two late",
			got:      map[*run]bool{r1: true},
			failed:   map[*run]error{},
			timedOut: true,
			want:     "synchronized start of streams 1,2,3 aborted: streams 2,3 did not get ready: stream 2 (local) was not ready within 1s; stream 3 (local) was not ready within 1s",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := abortCause("1,2,3", runs, tc.got, tc.failed, tc.timedOut, time.Second)
			if got.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
