package run

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamtest/streamtest/internal/cli/base"
	"github.com/streamtest/streamtest/report"
)

func TestRunError(t *testing.T) {
	exitErr := exec.Command("false").Run()
	type testCase struct {
		name            string
		scanErr, waitEr error
		failed          bool
		want            string // "" for nil, "exit 1" for an ExitError of status 1
	}
	for _, tc := range []testCase{
		{name: "passed"},
		{name: "a test failed", failed: true, want: "exit 1"},
		{name: "go test exited non-zero", waitEr: exitErr, want: "exit 1"},
		{name: "go test could not run", waitEr: errors.New("no go"), want: "go test: no go"},
		{name: "unreadable output", scanErr: errors.New("token too long"), waitEr: exitErr, want: "reading go test output: token too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runError(tc.scanErr, tc.waitEr, tc.failed)
			var ee *base.ExitError
			switch {
			case tc.want == "":
				if err != nil {
					t.Errorf("err = %v, want nil", err)
				}
			case tc.want == "exit 1":
				if !errors.As(err, &ee) || ee.Code != 1 {
					t.Errorf("err = %v, want exit status 1", err)
				}
			case err == nil || err.Error() != tc.want:
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReadEvents(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`not json`,
		`{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.1}`,
		`{"Action":"pass","Package":"p","Elapsed":0.2}`,
	}, "\n")
	e := &report.Execution{ID: "x", Started: time.Now()}
	b := report.NewBuilder(e)
	var out bytes.Buffer
	disp := newDisplay(&out, false, func(s string) string { return s })
	defer disp.stop()
	if err := readEvents(strings.NewReader(in), e, b, disp); err != nil {
		t.Fatal(err)
	}
	if len(e.Errors) != 1 || e.Errors[0] != "not json" {
		t.Errorf("errors %q, want the line that is not an event", e.Errors)
	}
	b.Finish(time.Now())
	if e.Failed() {
		t.Errorf("a passing run is failed")
	}
}

func TestMakeResultsDir(t *testing.T) {
	base := t.TempDir()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id, dir, rec, err := makeResultsDir(base, start)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "20260102-030405-") || dir != filepath.Join(base, id) || !filepath.IsAbs(rec) || rec != filepath.Join(dir, "records") {
		t.Errorf("id %q, dir %q, records %q", id, dir, rec)
	}
	if fi, err := os.Stat(rec); err != nil || !fi.IsDir() {
		t.Errorf("records directory: %v", err)
	}
	id2, _, _, _ := makeResultsDir(base, start)
	if id2 == id {
		t.Errorf("two runs in the same second got one id %q", id)
	}
}
