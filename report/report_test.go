package report_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/streamtest/streamtest/record"
	"github.com/streamtest/streamtest/report"
	"github.com/streamtest/streamtest/report/internal/fixture"
)

// The golden files are in testdata; regenerate them with
// go test ./report/... -update (the fixture's inputs are described in
// report/internal/fixture).

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, fixture.Execution()); err != nil {
		t.Fatal(err)
	}
	fixture.Golden(t, buf.Bytes())
}

func TestBuilder(t *testing.T) {
	e := fixture.Execution()
	type testCase struct {
		name string
		got  any
		want any
	}
	pkg := func(name string) *report.Package {
		for _, p := range e.Packages {
			if p.Name == name {
				return p
			}
		}
		t.Fatalf("no package %s", name)
		return nil
	}
	test := func(p, name string) *report.Test {
		for _, tt := range pkg(p).Tests {
			if tt.Name == name {
				return tt
			}
		}
		t.Fatalf("no test %s %s", p, name)
		return nil
	}
	c := e.Counts()
	cases := []testCase{
		{"counts", c, report.Counts{Total: 9, Passed: 6, Failed: 1, Skipped: 2, BuildFailed: 1}},
		{"failed", e.Failed(), true},
		{"package order", len(e.Packages), 3},
		{"first package", e.Packages[0].Name, "example.com/suite/fail"},
		{"build output", pkg("example.com/suite/nobuild").BuildOutput != "", true},
		{"build result", pkg("example.com/suite/nobuild").Result, report.Fail},
		{"skip reason", test("example.com/suite/pass", "TestSkip").Skipped(), "nothing to do here"},
		{"skip reason of testenv.Need", test("example.com/suite/pass", "TestNeedsEngine").Skipped(),
			"a Docker Engine with the streamtest images is missing; to enable: start dockerd and run `go run ./cmd/streamtest lab image` " +
				"(Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)"},
		{"test end", test("example.com/suite/pass", "TestServers").Ended.Sub(test("example.com/suite/pass", "TestServers").Started), 1650 * time.Millisecond},
		{"blocks of TestFail", len(test("example.com/suite/fail", "TestFail").Blocks), 4},
		{"blocks of TestPass", len(test("example.com/suite/pass", "TestPass").Blocks), 3},
		{"blocks of subtest", len(test("example.com/suite/pass", "TestSub/b").Blocks), 1},
		{"streams", len(test("example.com/suite/pass", "TestPass").Streams()), 2},
		{"unmatched", len(e.Unmatched), 1},
		{"output prefix", test("example.com/suite/fail", "TestFail").Blocks[0].Stderr, "records/outputs/TestFail/1-1.stderr"},
		{"no errors", len(e.Errors), 0},
	}
	run := func(t *testing.T, tc testCase) {
		if tc.got != tc.want {
			t.Errorf("got %v, want %v", tc.got, tc.want)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestBuilderInterrupted(t *testing.T) {
	e := &report.Execution{}
	b := report.NewBuilder(e)
	b.Add(report.Event{Action: "run", Package: "p", Test: "TestLong"})
	b.Add(report.Event{Action: "build-output", ImportPath: "q [q.test]", Output: "q.go:1: oops\n"})
	b.Add(report.Event{Action: "output", Output: "stray\n"})
	b.Finish(e.Started)
	if c := e.Counts(); c.Running != 1 || c.Total != 1 {
		t.Errorf("counts = %+v, want one test running", c)
	}
	if e.Packages[0].Result != report.Running {
		t.Errorf("package result = %s, want running", e.Packages[0].Result)
	}
	if len(e.Errors) != 2 {
		t.Errorf("errors = %q, want the stray output and the unclaimed build output", e.Errors)
	}
}

func TestSkipped(t *testing.T) {
	type testCase struct {
		name, output, want string
	}
	cases := []testCase{
		{"message", "=== RUN   TestX\n    x_test.go:12: no engine\n--- SKIP: TestX (0.00s)\n", "no engine"},
		{"no message", "=== RUN   TestX\n--- SKIP: TestX (0.00s)\n", ""},
		{"the last message is the skip's", "=== RUN   TestX\n    x_test.go:10: checking\n    x_test.go:12: no engine\n--- SKIP: TestX (0.00s)\n", "no engine"},
		{"continuation lines", "=== RUN   TestX\n    x_test.go:12: no engine:\n        start dockerd\n--- SKIP: TestX (0.00s)\n", "no engine:\nstart dockerd"},
		{"a subtest's", "=== RUN   TestX/a\n    helpers_test.go:40: no lab; to enable: streamtest lab up\n    --- SKIP: TestX/a (0.00s)\n", "no lab; to enable: streamtest lab up"},
		{"program output is not a message", "=== RUN   TestX\n    x_test.go:12: no engine\nsome output\n        indented output\n--- SKIP: TestX (0.00s)\n", "no engine"},
	}
	run := func(t *testing.T, tc testCase) {
		if got := (&report.Test{Output: tc.output}).Skipped(); got != tc.want {
			t.Errorf("Skipped() = %q, want %q", got, tc.want)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestResultOf(t *testing.T) {
	type testCase struct {
		name   string
		block  record.Block
		result report.BlockResult
		reason string
	}
	cases := []testCase{
		{"passed", record.Block{Success: true}, report.BlockPassed, ""},
		{"exit 1", record.Block{ExitStatus: 1}, report.BlockFailed, ""},
		{"could not run", record.Block{ExitStatus: -1, Error: "set up: no image"}, report.BlockFailed, ""},
		{"Terminate", record.Block{ExitStatus: -1, Signal: "TERM", Stopped: record.StopTerminated}, report.BlockStopped, "the test called Terminate"},
		{"the test's end", record.Block{ExitStatus: -1, Signal: "TERM", Stopped: record.StopTestEnded}, report.BlockStopped, "the test ended"},
		{"timeout", record.Block{ExitStatus: -1, Signal: "TERM", Stopped: record.StopTimedOut, Timeout: 5 * time.Second}, report.BlockFailed, "timed out after 5s"},
		{"stopped, and the stream failed", record.Block{Stopped: record.StopTestEnded, Error: "wait: connection lost"}, report.BlockFailed, "the test ended"},
	}
	run := func(t *testing.T, tc testCase) {
		if got := report.ResultOf(tc.block); got != tc.result {
			t.Errorf("ResultOf = %s, want %s", got, tc.result)
		}
		if got := report.StopReason(tc.block); got != tc.reason {
			t.Errorf("StopReason = %q, want %q", got, tc.reason)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestStopsByTheTest(t *testing.T) {
	type testCase struct {
		name   string
		block  record.Block
		result report.BlockResult
		reason string
	}
	run := func(t *testing.T, tc testCase) {
		if got := report.ResultOf(tc.block); got != tc.result {
			t.Errorf("ResultOf = %s, want %s", got, tc.result)
		}
		if got := report.StopReason(tc.block); got != tc.reason {
			t.Errorf("StopReason = %q, want %q", got, tc.reason)
		}
	}
	for _, tc := range []testCase{
		{"killed", record.Block{Stopped: record.StopKilled, Signal: "KILL", ExitStatus: -1}, report.BlockStopped, "killed by the test (SIGKILL)"},
		{"killed during set-up", record.Block{Stopped: record.StopKilled, ExitStatus: -1}, report.BlockStopped, "killed by the test (SIGKILL)"},
		{"signalled", record.Block{Stopped: record.StopSignalled, Signal: "TERM", ExitStatus: -1}, report.BlockStopped, "signalled by the test (SIGTERM)"},
		{"terminated", record.Block{Stopped: record.StopTerminated, Signal: "TERM", ExitStatus: -1}, report.BlockStopped, "the test called Terminate"},
		{"timed out", record.Block{Stopped: record.StopTimedOut, Signal: "TERM", ExitStatus: -1}, report.BlockFailed, "timed out"},
		{"killed, with an infrastructure error", record.Block{Stopped: record.StopKilled, Error: "connection lost"}, report.BlockFailed, "killed by the test (SIGKILL)"},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}
