package report_test

import (
	"bytes"
	"testing"

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
		{"counts", c, report.Counts{Total: 7, Passed: 5, Failed: 1, Skipped: 1, BuildFailed: 1}},
		{"failed", e.Failed(), true},
		{"package order", len(e.Packages), 3},
		{"first package", e.Packages[0].Name, "example.com/suite/fail"},
		{"build output", pkg("example.com/suite/nobuild").BuildOutput != "", true},
		{"build result", pkg("example.com/suite/nobuild").Result, report.Fail},
		{"skip reason", test("example.com/suite/pass", "TestSkip").Skipped(), "nothing to do here"},
		{"blocks of TestFail", len(test("example.com/suite/fail", "TestFail").Blocks), 3},
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
