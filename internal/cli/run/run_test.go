package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamtest/streamtest/internal/cli/base"
	"github.com/streamtest/streamtest/record"
	"github.com/streamtest/streamtest/report"
)

// The packages under testdata/suite are the fixture: pass (passing,
// skipped and subtests, with records), fail (a failing test with a failed
// block), nobuild (a compile error) and slow (waits for an interrupt).
func suite(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, "./testdata/suite/"+n)
	}
	return out
}

func TestParse(t *testing.T) {
	params := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(params, []byte("streams: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	type testCase struct {
		name    string
		args    []string
		want    func(*Options) string // "" when o is right
		wantErr string                // substring of a usage error
	}
	cases := []testCase{
		{name: "defaults", args: nil, want: func(o *Options) string {
			if strings.Join(o.Packages, " ") != "./..." || o.Results != "results" || o.Strict || len(o.GoTestArgs) != 0 {
				return "not the defaults"
			}
			return ""
		}},
		{name: "everything", args: []string{"-p", params, "--params", params, "--strict", "--default-type", "local", "--results", "r", "./a", "./b", "--", "-run", "X", "-count=1"},
			want: func(o *Options) string {
				if len(o.Params) != 2 || !filepath.IsAbs(o.Params[0]) || !o.Strict || o.DefaultType != "local" || o.Results != "r" ||
					strings.Join(o.Packages, " ") != "./a ./b" || strings.Join(o.GoTestArgs, " ") != "-run X -count=1" {
					return "options not set"
				}
				env := strings.Join(o.Env("/rec"), " ")
				if env != "STREAMTEST_PARAMS="+params+":"+params+" STREAMTEST_STRICT=true STREAMTEST_DEFAULT_TYPE=local STREAMTEST_RECORD_DIR=/rec" {
					return "env " + env
				}
				return ""
			}},
		{name: "inventories", args: []string{"--inventory", params, "-p", params, "--inventory", "run.go"}, want: func(o *Options) string {
			rel, _ := filepath.Abs("run.go") // relative names are made absolute
			env := strings.Join(o.Env("/rec"), " ")
			if env != "STREAMTEST_PARAMS="+params+" STREAMTEST_INVENTORY="+params+":"+rel+" STREAMTEST_RECORD_DIR=/rec" {
				return "env " + env
			}
			return ""
		}},
		{name: "missing inventory", args: []string{"--inventory", "/nonexistent/hosts"}, wantErr: "--inventory: stat /nonexistent/hosts"},
		{name: "inventory is a directory", args: []string{"--inventory", "/"}, wantErr: "--inventory /: is a directory"},
		{name: "flags after packages", args: []string{"./a", "--strict"}, want: func(o *Options) string {
			if !o.Strict || strings.Join(o.Packages, " ") != "./a" {
				return "flag after package not parsed"
			}
			return ""
		}},
		{name: "go test flags without packages", args: []string{"--", "-run", "X"}, want: func(o *Options) string {
			if strings.Join(o.Packages, " ") != "./..." || strings.Join(o.GoTestArgs, " ") != "-run X" {
				return "-- not split"
			}
			return ""
		}},
		{name: "unknown flag", args: []string{"--bogus"}, wantErr: "flag provided but not defined"},
		{name: "missing params file", args: []string{"-p", "/nonexistent.yaml"}, wantErr: "--params"},
		{name: "unknown type", args: []string{"--default-type", "teleport"}, wantErr: `unknown stream type "teleport"`},
		{name: "bad duration", args: []string{"--grace", "soon"}, wantErr: "invalid value"},
		{name: "go test flag before --", args: []string{"./a", "-run", "X"}, wantErr: "flag provided but not defined: -run"},
	}
	run := func(t *testing.T, tc testCase) {
		o, err := Parse(tc.args, &bytes.Buffer{})
		if tc.wantErr != "" {
			if !errors.Is(err, base.ErrUsage) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want a usage error with %q", err, tc.wantErr)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if msg := tc.want(o); msg != "" {
			t.Error(msg)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func readExecution(t *testing.T, dir string) *report.Execution {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "latest", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e report.Execution
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

func TestRun(t *testing.T) {
	results := t.TempDir()
	var stdout, stderr bytes.Buffer
	o := &Options{Results: results, Packages: suite("pass", "fail", "nobuild"), GoTestArgs: []string{"-count=1"}, TTY: new(false)}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	err := RunOptions(context.Background(), o, &stdout, &stderr)
	var exit *base.ExitError
	if !errors.As(err, &exit) || exit.Code != 1 {
		t.Fatalf("err = %v, want exit status 1\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	out := stdout.String()
	for _, want := range []string{
		"undefined: undefinedFunction", // the compiler's error
		"FAIL internal/cli/run/testdata/suite/nobuild [build failed]",
		"FAIL internal/cli/run/testdata/suite/fail TestFail",
		"fail_test.go:23: stream 1 failed: exit status 1",
		"PASS internal/cli/run/testdata/suite/pass TestPass",
		"SKIP internal/cli/run/testdata/suite/pass TestSkip (0s): nothing to do here\n",
		"STREAMS / SKIP REASON",
		"PACKAGE", "STREAMS", "1 (local), 2 (local)",
		"DONE 7 tests, 1 failed, 1 skipped, 1 build failure in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"results.json", "junit.xml", "results.tap", "report.html", "go-test.json", "records/outputs/TestPass/1-1.stdout"} {
		if _, err := os.Stat(filepath.Join(results, "latest", f)); err != nil {
			t.Error(err)
		}
	}
	e := readExecution(t, results)
	blocks := 0
	for _, p := range e.Packages {
		for _, tt := range p.Tests {
			blocks += len(tt.Blocks)
			if tt.Name == "TestPass" && len(tt.Blocks) != 2 {
				t.Errorf("TestPass has %d blocks, want 2", len(tt.Blocks))
			}
		}
	}
	if blocks != 4 || len(e.Unmatched) != 0 {
		t.Errorf("%d blocks matched, %d unmatched; want 4 and 0", blocks, len(e.Unmatched))
	}
	junit, _ := os.ReadFile(filepath.Join(results, "latest", "junit.xml"))
	if !strings.Contains(string(junit), `classname="github.com/streamtest/streamtest/internal/cli/run/testdata/suite/pass" name="TestPass"`) ||
		!strings.Contains(string(junit), `name="streamtest.block.1"`) {
		t.Errorf("junit.xml lacks the testcase or its block properties")
	}
}

func TestRunPasses(t *testing.T) {
	results := t.TempDir()
	var stdout bytes.Buffer
	o := &Options{Results: results, Packages: suite("pass"), GoTestArgs: []string{"-run", "TestPass$"}, TTY: new(true)}
	if err := RunOptions(context.Background(), o, &stdout, &stdout); err != nil {
		t.Fatalf("err = %v\n%s", err, &stdout)
	}
	if !strings.Contains(stdout.String(), "DONE 1 tests in") {
		t.Errorf("output:\n%s", &stdout)
	}
	// A second run, a second later, moves latest.
	first, _ := os.Readlink(filepath.Join(results, "latest"))
	later := time.Now().Add(time.Second)
	now = func() time.Time { return later }
	t.Cleanup(func() { now = time.Now })
	if err := RunOptions(context.Background(), o, &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.Readlink(filepath.Join(results, "latest")); second == first {
		t.Errorf("latest still points to %s", first)
	}
}

func TestRunInterrupt(t *testing.T) {
	results := t.TempDir()
	started := filepath.Join(t.TempDir(), "started")
	t.Setenv("STREAMTEST_FIXTURE_STARTED", started)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			if _, err := os.Stat(started); err == nil {
				cancel()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var stdout bytes.Buffer
	o := &Options{Results: results, Packages: suite("slow"), GoTestArgs: []string{"-count=1"}, Grace: 20 * time.Second, TTY: new(false)}
	start := time.Now()
	err := RunOptions(ctx, o, &stdout, &stdout)
	if !errors.As(err, new(*base.ExitError)) {
		t.Fatalf("err = %v, want exit status 1\n%s", err, &stdout)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("run took %s after the interrupt", d)
	}
	e := readExecution(t, results)
	if !e.Interrupted {
		t.Error("results.json does not say the run was interrupted")
	}
	// The test binary got the interrupt and ended its test.
	if !strings.Contains(stdout.String(), "interrupted: cleaning up") {
		t.Errorf("the test did not see the interrupt:\n%s", &stdout)
	}
}

func TestRunWithStreams(t *testing.T) {
	results := t.TempDir()
	var stdout bytes.Buffer
	o := &Options{Results: results, Packages: suite("streams"), GoTestArgs: []string{"-count=1"}, TTY: new(false)}
	if err := RunOptions(context.Background(), o, &stdout, &stdout); err != nil {
		t.Fatalf("err = %v\n%s", err, &stdout)
	}
	if !strings.Contains(stdout.String(), "1 (local), 2 (local), 3 (local), 4 (local)") {
		t.Errorf("the summary does not list the streams:\n%s", &stdout)
	}
	e := readExecution(t, results)
	tests := map[string]*report.Test{}
	for _, p := range e.Packages {
		for _, tt := range p.Tests {
			tests[tt.Name] = tt
		}
	}
	ts := tests["TestStreams"]
	if ts == nil || len(ts.Blocks) != 4 {
		t.Fatalf("TestStreams has no 4 blocks: %+v", ts)
	}
	released := 0
	for _, b := range ts.Blocks {
		if b.Released != nil {
			released++
		}
		if b.Stream == "2" && b.Stderr == "" {
			t.Error("stream 2's standard error was not recorded")
		}
	}
	if released != 2 {
		t.Errorf("%d blocks released, want the synchronized 3 and 4", released)
	}
	if f := tests["TestStreamFails"]; f == nil || len(f.Blocks) != 1 || f.Blocks[0].Success || f.Blocks[0].ExitStatus != 3 {
		t.Errorf("TestStreamFails: %+v", f)
	}
	// The records say why the library stopped a block and hold a long
	// block's whole text.
	srv := tests["TestServers"]
	if srv == nil || len(srv.Blocks) != 3 || srv.Result != report.Pass {
		t.Fatalf("TestServers did not pass with 3 blocks: %+v", srv)
	}
	for _, b := range srv.Blocks {
		want := map[string]record.Stop{"1": record.StopTestEnded, "2": record.StopTerminated, "3": ""}[b.Stream]
		if b.Stopped != want || b.Error != "" {
			t.Errorf("stream %s: stopped %q, error %q; want stopped %q and no error", b.Stream, b.Stopped, b.Error, want)
		}
		if asked := !b.StopAsked.IsZero(); asked != (want != "") || asked && (b.StopAsked.Before(b.Began) || b.StopAsked.After(b.Ended)) {
			t.Errorf("stream %s: asked to stop at %s, began %s, ended %s", b.Stream, b.StopAsked, b.Began, b.Ended)
		}
		if b.Stream == "3" && (b.Text != "echo "+strings.Repeat("x", 90)+" end" || len(b.Summary) != 80) {
			t.Errorf("stream 3: summary %q, text %q; want the summary cut and the whole text", b.Summary, b.Text)
		}
	}
	if srv.Ended.Before(srv.Blocks[0].Ended) {
		t.Errorf("TestServers ended at %s, before its block stopped by its end (%s)", srv.Ended, srv.Blocks[0].Ended)
	}
	page, err := os.ReadFile(filepath.Join(results, "latest", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "&lt;two&gt;") {
		t.Error("report.html lacks stream 2's escaped output")
	}
	if n := strings.Count(string(page), `class="bar stopped"`); n != 2 {
		t.Errorf("report.html draws %d bars as stopped by the test, want 2", n)
	}
	if n := strings.Count(string(page), `class="bar fail"`); n != 1 {
		t.Errorf("report.html draws %d bars as failed, want 1 (TestStreamFails')", n)
	}
}
