package exec

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamtest/streamtest/internal/cli/base"
	"github.com/streamtest/streamtest/params"
	_ "github.com/streamtest/streamtest/stream/local"
)

func TestParseOn(t *testing.T) {
	type testCase struct {
		on      string
		want    []string
		wantErr bool
	}
	cases := []testCase{
		{on: "1", want: []string{"1"}},
		{on: "1,3-4,db", want: []string{"1", "3", "4", "db"}},
		{on: "2-2,2", want: []string{"2"}},
		{on: "web-1", want: []string{"web-1"}},
		{on: "4-3", wantErr: true},
		{on: "0-2", wantErr: true},
		{on: "1,,2", wantErr: true},
	}
	run := func(t *testing.T, tc testCase) {
		got, err := parseOn(tc.on)
		if tc.wantErr != (err != nil) {
			t.Fatalf("err = %v, want error %v", err, tc.wantErr)
		}
		if !tc.wantErr && !slices.Equal(got, tc.want) {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	for _, tc := range cases {
		t.Run(tc.on, func(t *testing.T) { run(t, tc) })
	}
}

func TestParse(t *testing.T) {
	o, err := Parse([]string{"-p", "a.yaml", "--on", "1-2", "--sync", "--timeout", "3s", "--", "echo", "-n", "hi"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.On != "1-2" || !o.Sync || o.Timeout != 3*time.Second || strings.Join(o.Command, " ") != "echo -n hi" || o.Params[0] != "a.yaml" || o.Strict != nil {
		t.Errorf("options = %+v", o)
	}
	for _, args := range [][]string{
		{},                            // no command
		{"--on", "3-1", "--", "true"}, // bad range
		{"--timeout", "x", "true"},    // bad duration
		{"--nope", "--", "true"},      // unknown flag
	} {
		if _, err := Parse(args, &bytes.Buffer{}); !errors.Is(err, base.ErrUsage) {
			t.Errorf("Parse(%q) = %v, want a usage error", args, err)
		}
	}
}

func load(t *testing.T, yaml string, strict bool) *params.Config {
	t.Helper()
	f := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := params.Load(params.Options{SystemFile: "-", UserFile: "-", Getenv: func(string) string { return "" }, Files: []string{f}, Strict: &strict})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const three = "streams:\n  - 1: {type: local}\n  - 2: {type: local}\n  - db: {type: local}\n"

func TestExec(t *testing.T) {
	c := load(t, three, false)
	var stdout, stderr bytes.Buffer
	o := &Options{On: "all", Grace: time.Second, Command: []string{"sh", "-c", `echo "out $STREAMTEST_X"; echo err >&2; printf partial; [ "$(basename "$PWD")" != x ]`}}
	results, err := Exec(context.Background(), c, o, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 {
		t.Fatalf("%d results, want 3", len(results))
	}
	for _, r := range results {
		if !r.OK() || r.Type != "local" {
			t.Errorf("stream %s: %s (%s)", r.ID, r.Status(), r.Type)
		}
	}
	for _, want := range []string{"1:  out \n", "2:  out \n", "db: out \n", "db: partial\n"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}
	if !strings.Contains(stderr.String(), "db: err\n") {
		t.Errorf("stderr lacks the prefixed line:\n%s", &stderr)
	}
	var sum bytes.Buffer
	PrintSummary(&sum, results)
	if !strings.Contains(sum.String(), "3 of 3 streams succeeded") {
		t.Errorf("summary:\n%s", &sum)
	}
}

func TestExecSyncAndTimeout(t *testing.T) {
	c := load(t, three, false)
	var out bytes.Buffer
	o := &Options{On: "1-2", Sync: true, SyncTimeout: 30 * time.Second, Timeout: 300 * time.Millisecond, Grace: time.Second,
		Command: []string{"sleep", "30"}}
	start := time.Now()
	results, err := Exec(context.Background(), c, o, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s, want the timeout to stop the streams", d)
	}
	for _, r := range results {
		if r.OK() || !r.TimedOut || !strings.HasPrefix(r.Status(), "timed out") {
			t.Errorf("stream %s: %s, want timed out", r.ID, r.Status())
		}
	}
}

func TestExecSyncAllOrNothing(t *testing.T) {
	c := load(t, three, true) // strict: stream 9 is undefined
	var out bytes.Buffer
	o := &Options{On: "1,9", Sync: true, SyncTimeout: 30 * time.Second, Grace: time.Second, Command: []string{"echo", "ran"}}
	results, err := Exec(context.Background(), c, o, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "ran") {
		t.Errorf("a stream ran although the group could not start:\n%s", &out)
	}
	if results[0].OK() || !strings.Contains(results[0].Status(), "streams 9 did not get ready") {
		t.Errorf("stream 1: %s", results[0].Status())
	}
	if !strings.Contains(results[1].Status(), "strict") {
		t.Errorf("stream 9: %s", results[1].Status())
	}
}

func TestExecInterrupt(t *testing.T) {
	c := load(t, three, false)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	var out bytes.Buffer
	start := time.Now()
	results, err := Exec(ctx, c, &Options{On: "all", Grace: time.Second, Command: []string{"sleep", "30"}}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s after the interrupt", d)
	}
	for _, r := range results {
		if r.OK() || r.TimedOut {
			t.Errorf("stream %s: %s, want stopped", r.ID, r.Status())
		}
	}
}
