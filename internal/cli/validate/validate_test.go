package validate

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamtest/streamtest/internal/cli/base"
	_ "github.com/streamtest/streamtest/stream/local"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "streams:\n  - 1: {type: local}\n")
	bad := write("bad.yaml", "streams:\n  - 1:\n      type: teleport\n")
	type testCase struct {
		name     string
		args     []string
		wantCode int // 0 ok, 1 invalid, 2 usage
		want     []string
	}
	cases := []testCase{
		{"good", []string{good}, 0, []string{good + ": ok"}},
		{"bad", []string{good, bad}, 1, []string{good + ": ok", bad + `:3:13: stream 1: unknown stream type "teleport"`}},
		{"missing", []string{filepath.Join(dir, "none.yaml")}, 1, []string{"no such file"}},
		{"no files", nil, 2, nil},
		{"bad flag", []string{"--x"}, 2, nil},
	}
	run := func(t *testing.T, tc testCase) {
		var out bytes.Buffer
		err := Run(context.Background(), tc.args, &out, &out)
		code := 0
		var exit *base.ExitError
		switch {
		case errors.As(err, &exit):
			code = exit.Code
		case errors.Is(err, base.ErrUsage):
			code = 2
		case err != nil:
			t.Fatal(err)
		}
		if code != tc.wantCode {
			t.Errorf("exit status %d, want %d (%v)", code, tc.wantCode, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("output lacks %q:\n%s", w, &out)
			}
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}
