package report_test

import (
	"fmt"
	"os"
	"time"

	"github.com/streamtest/streamtest/record"
	"github.com/streamtest/streamtest/report"
	"github.com/streamtest/streamtest/report/tap"
)

// A report is built from the go test -json events and the records of the
// blocks, then written by any of the writers.
func ExampleBuilder() {
	e := &report.Execution{ID: "example"}
	b := report.NewBuilder(e)
	for _, ev := range []report.Event{
		{Action: "run", Package: "example.com/p", Test: "TestPing"},
		{Action: "output", Package: "example.com/p", Test: "TestPing", Output: "--- PASS: TestPing (0.25s)\n"},
		{Action: "pass", Package: "example.com/p", Test: "TestPing", Elapsed: 0.25},
		{Action: "pass", Package: "example.com/p", Elapsed: 0.3},
	} {
		b.Add(ev)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b.AddRecords([]record.Block{
		{Test: "TestPing", Dir: "/src/p", Stream: "1", Type: "remote", Host: "h1", Seq: 1, Kind: "shell",
			Summary: "ping -c 1 h2", Started: t0, Ended: t0.Add(200 * time.Millisecond), Success: true},
	}, map[string]string{"/src/p": "example.com/p"}, "records/")
	b.Finish(t0.Add(time.Second))

	fmt.Println(e.Counts().Passed, "passed; streams:", e.Packages[0].Tests[0].Streams())
	tap.Write(os.Stdout, e)
	// Output:
	// 1 passed; streams: [1 (remote)]
	// TAP version 13
	// 1..1
	// ok 1 - example.com/p TestPing # time=250ms
	//   ---
	//   blocks:
	//     - "stream 1 (remote, host h1) #1 shell `ping -c 1 h2`: exit 0 in 200ms"
	//   ...
}
