package config

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
	sys := write("system.yaml", "streamtest:\n  strict: true\n")
	user := write("user.yaml", "streamtest:\n  default_type: process\n")
	envFile := write("env.yaml", "streams:\n  - 1: {type: local, host: 10.0.0.1}\n")
	flagFile := write("flag.yaml", "streams:\n  - db: {type: local}\n")
	bad := write("bad.yaml", "streams:\n  - 1: {type: nope}\n")
	env := map[string]string{"STREAMTEST_PARAMS": envFile}
	systemFile, userFile = sys, user
	getenv = func(k string) string { return env[k] }
	t.Cleanup(func() { systemFile, userFile, getenv = "/etc/streamtest/config.yaml", "", os.Getenv })

	type testCase struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}
	cases := []testCase{
		{"sources", []string{"-p", flagFile}, 0, []string{
			"default type:  process", "(user " + user + ":2:17)",
			"strict:        true", "(system " + sys + ":2:11)",
			sys + " (system)", user + " (user)", envFile + " (env STREAMTEST_PARAMS)", flagFile + " (flag --params)",
			"1   local", "host=10.0.0.1", "db  local",
		}},
		{"flags win", []string{"--strict=false", "--default-type", "local"}, 0, []string{
			"local  (flag --default-type)", "false  (flag --strict)",
		}},
		{"bad file", []string{"-p", bad}, 1, []string{bad + ":2:15: stream 1: unknown stream type \"nope\""}},
		{"bad flag", []string{"--nope"}, 2, nil},
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
			t.Errorf("exit status %d, want %d (%v)\n%s", code, tc.wantCode, err, &out)
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
