package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.yaml")
	if err := os.WriteFile(good, []byte("streams:\n  - 1: {type: ssh, host: h}\n  - 2: {type: docker}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	type testCase struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}
	cases := []testCase{
		{name: "no command", code: 2, stderr: "usage: streamtest run|exec"},
		{name: "help", args: []string{"help"}, code: 0, stdout: "usage: streamtest"},
		{name: "unknown command", args: []string{"bogus"}, code: 2, stderr: `unknown command "bogus"`},
		{name: "unknown flag", args: []string{"run", "--bogus"}, code: 2, stderr: "streamtest run: flag provided but not defined: -bogus\nusage: streamtest run [flags]"},
		{name: "bad value", args: []string{"exec", "--on", "5-1", "--", "true"}, code: 2, stderr: "--on: bad range"},
		{name: "command help", args: []string{"run", "-h"}, code: 0, stdout: "-default-type TYPE"},
		{name: "types links every type", args: []string{"types"}, code: 0, stdout: "container (alias docker)"},
		{name: "validate ok", args: []string{"validate", good}, code: 0, stdout: good + ": ok"},
		{name: "validate missing", args: []string{"validate", good + ".none"}, code: 1, stdout: "no such file"},
		{name: "lab usage", args: []string{"lab"}, code: 2, stderr: "streamtest lab: usage"},
	}
	run1 := func(t *testing.T, tc testCase) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code {
			t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
		}
		if !strings.Contains(stdout.String(), tc.stdout) {
			t.Errorf("stdout lacks %q:\n%s", tc.stdout, &stdout)
		}
		if !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("stderr lacks %q:\n%s", tc.stderr, &stderr)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run1(t, tc) })
	}
}
