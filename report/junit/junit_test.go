package junit_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/streamtest/streamtest/record"
	"github.com/streamtest/streamtest/report/internal/fixture"
	"github.com/streamtest/streamtest/report/junit"
)

// Regenerate testdata with go test ./report/junit -update.

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	err := junit.Write(&buf, fixture.Execution(), junit.Config{
		Properties: map[string]string{"go.version": "go1.26.8"},
		FormatTime: func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	})
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := xml.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	fixture.Golden(t, buf.Bytes())
}

func TestDescribe(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	long := "etcdctl --endpoints=http://172.22.0.12:2379 --dial-timeout=5s --command-timeout=10s get /a --print-value-only"
	huge := "echo " + strings.Repeat("x", 600)
	base := record.Block{Stream: "1", Type: "container", Host: "172.22.0.12", Seq: 2, Kind: "shell", Summary: "echo hi", Started: t0, Ended: t0.Add(time.Second), Success: true}
	with := func(f func(*record.Block)) record.Block { b := base; f(&b); return b }
	type testCase struct {
		name  string
		block record.Block
		want  string
	}
	cases := []testCase{
		{"passed", base, "stream 1 (container, host 172.22.0.12) #2 shell `echo hi`: exit 0 in 1s"},
		{"a long command whole", with(func(b *record.Block) { b.Summary, b.Text = long[:77]+"...", long }),
			"stream 1 (container, host 172.22.0.12) #2 shell `" + long + "`: exit 0 in 1s"},
		{"a huge command's summary", with(func(b *record.Block) { b.Summary, b.Text = huge[:77]+"...", huge }),
			"stream 1 (container, host 172.22.0.12) #2 shell `" + huge[:77] + "...`: exit 0 in 1s"},
		{"lines' summary", with(func(b *record.Block) { b.Summary, b.Text = "a b", "a\nb" }),
			"stream 1 (container, host 172.22.0.12) #2 shell `a b`: exit 0 in 1s"},
		{"Terminate", with(func(b *record.Block) {
			b.Success, b.ExitStatus, b.Signal, b.Stopped = false, -1, "TERM", record.StopTerminated
		}),
			"stream 1 (container, host 172.22.0.12) #2 shell `echo hi`: stopped by the test (the test called Terminate) in 1s"},
		{"the test's end", with(func(b *record.Block) {
			b.Success, b.ExitStatus, b.Signal, b.Stopped = false, -1, "TERM", record.StopTestEnded
		}),
			"stream 1 (container, host 172.22.0.12) #2 shell `echo hi`: stopped by the test (the test ended) in 1s"},
		{"timed out", with(func(b *record.Block) {
			b.Success, b.ExitStatus, b.Signal, b.Stopped, b.Timeout = false, -1, "TERM", record.StopTimedOut, time.Second
		}), "stream 1 (container, host 172.22.0.12) #2 shell `echo hi`: timed out after 1s, killed by TERM in 1s (failed)"},
	}
	run := func(t *testing.T, tc testCase) {
		if got := junit.Describe(tc.block); got != tc.want {
			t.Errorf("Describe =\n %q, want\n %q", got, tc.want)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}
