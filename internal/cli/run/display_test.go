package run

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamtest/streamtest/record"
	"github.com/streamtest/streamtest/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<t.Name()>.golden, or rewrites the file
// with -update.
func golden(t *testing.T, got string) {
	t.Helper()
	name := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+".golden")
	if *update {
		if err := os.WriteFile(name, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run the test with -update to accept it):\n--- want\n%s--- got\n%s", name, want, got)
	}
}

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// needMessage is what testenv.Need makes a test print when it skips.
const needMessage = "    container_test.go:53: a Docker Engine with the streamtest images is missing; to enable: start dockerd and run `go run ./cmd/streamtest lab image`\n"

// displayEvents are the events of a package with a passing test that ran
// blocks, a test that skipped through testenv.Need, one that skipped with no
// reason, and a failing one.
func displayEvents() []report.Event {
	const p = "example.com/suite/container"
	ev := func(ms int, action, test, output string, elapsed float64) report.Event {
		return report.Event{Time: t0.Add(time.Duration(ms) * time.Millisecond), Action: action, Package: p, Test: test, Output: output, Elapsed: elapsed}
	}
	return []report.Event{
		ev(0, "start", "", "", 0),
		ev(1, "run", "TestInterCommunication", "", 0),
		ev(2, "output", "TestInterCommunication", "=== RUN   TestInterCommunication\n", 0),
		ev(3, "output", "TestInterCommunication", needMessage, 0),
		ev(4, "output", "TestInterCommunication", "--- SKIP: TestInterCommunication (0.00s)\n", 0),
		ev(5, "skip", "TestInterCommunication", "", 0),
		ev(6, "run", "TestQuiet", "", 0),
		ev(7, "output", "TestQuiet", "=== RUN   TestQuiet\n", 0),
		ev(8, "output", "TestQuiet", "--- SKIP: TestQuiet (0.00s)\n", 0),
		ev(9, "skip", "TestQuiet", "", 0),
		ev(10, "run", "TestServers", "", 0),
		ev(1210, "pass", "TestServers", "", 1.2),
		ev(1211, "run", "TestBroken", "", 0),
		ev(1212, "output", "TestBroken", "    broken_test.go:9: it broke\n", 0),
		ev(1213, "fail", "TestBroken", "", 0),
		ev(1300, "fail", "", "", 1.3),
	}
}

func TestDisplayShowsSkipReasons(t *testing.T) {
	for _, tty := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "terminal"}[tty], func(t *testing.T) {
			var out bytes.Buffer
			b := report.NewBuilder(&report.Execution{})
			d := newDisplay(&out, tty, func(s string) string { return strings.TrimPrefix(s, "example.com/") })
			defer d.stop()
			for _, ev := range displayEvents() {
				b.Add(ev)
				d.event(ev, b)
			}
			d.stop()
			for _, want := range []string{
				"SKIP suite/container TestInterCommunication (0s): a Docker Engine with the streamtest images is missing; to enable: start dockerd and run `go run ./cmd/streamtest lab image`\n",
				"SKIP suite/container TestQuiet (0s)\n",
			} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, &out)
				}
			}
		})
	}
}

func TestPrintSummary(t *testing.T) {
	e := &report.Execution{Started: t0}
	b := report.NewBuilder(e)
	for _, ev := range displayEvents() {
		b.Add(ev)
	}
	const nobuild = "example.com/suite/nobuild [example.com/suite/nobuild.test]"
	b.Add(report.Event{Action: "build-output", ImportPath: nobuild, Output: "suite/nobuild/x_test.go:8:2: undefined: f\n"})
	b.Add(report.Event{Action: "fail", Package: "example.com/suite/nobuild", FailedBuild: nobuild})
	b.AddRecords([]record.Block{
		{Test: "TestServers", Dir: "/src/container", Stream: "1", Type: "container", Seq: 1, Started: t0, Ended: t0.Add(time.Second)},
		{Test: "TestServers", Dir: "/src/container", Stream: "2", Type: "container", Seq: 1, Started: t0, Ended: t0.Add(time.Second)},
	}, map[string]string{"/src/container": "example.com/suite/container"}, "records/")
	b.Finish(t0.Add(1500 * time.Millisecond))
	var out bytes.Buffer
	printSummary(&out, e, "results/20261127-100000-abcdef", func(s string) string { return strings.TrimPrefix(s, "example.com/") })
	golden(t, out.String())
}
