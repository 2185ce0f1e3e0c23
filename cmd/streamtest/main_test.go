package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("streams:\n  - 1: {type: remote}\n  - 2: {type: remote, host: \"\"}\n  - 3: {type: remote, host: h, port: 70000}\n  - 4: {type: local, network: bridge}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
		{name: "no command", code: 2, stderr: "usage: streamtest COMMAND"},
		{name: "help", args: []string{"help"}, code: 0, stdout: "  exec      run one command on many streams at once"},
		{name: "-h lists every command", args: []string{"-h"}, code: 0, stdout: "  version   print the version"},
		{name: "help COMMAND", args: []string{"help", "exec"}, code: 0, stdout: "usage: streamtest exec"},
		{name: "help lab", args: []string{"help", "lab"}, code: 0, stdout: "usage: streamtest lab up|down"},
		{name: "help unknown", args: []string{"help", "bogus"}, code: 2, stderr: `unknown command "bogus"`},
		{name: "version", args: []string{"version"}, code: 0, stdout: "streamtest "},
		{name: "--version", args: []string{"--version"}, code: 0, stdout: " go1."},
		{name: "unknown command", args: []string{"bogus"}, code: 2, stderr: `unknown command "bogus"`},
		{name: "unknown flag", args: []string{"run", "--bogus"}, code: 2, stderr: "streamtest run: flag provided but not defined: -bogus\nusage: streamtest run [flags]"},
		{name: "bad value", args: []string{"exec", "--on", "5-1", "--", "true"}, code: 2, stderr: "--on: bad range"},
		{name: "command help", args: []string{"run", "-h"}, code: 0, stdout: "-default-type TYPE"},
		{name: "types links every type", args: []string{"types"}, code: 0, stdout: "container (alias docker)"},
		{name: "validate ok", args: []string{"validate", good}, code: 0, stdout: good + ": ok"},
		// What set-up would refuse, validate refuses, at the value's position.
		{name: "validate runs the types' checks", args: []string{"validate", bad}, code: 1,
			stdout: bad + `:2:5: stream 1: type "remote" needs the parameter "host"` + "\n" +
				bad + ":3:29: stream 2: host: must not be empty\n" +
				bad + ":4:38: stream 3: port: want a port number from 1 to 65535, got 70000\n" +
				bad + `:5:31: stream 4: network: want "host" or "none", got "bridge"`},
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

func TestVersionLine(t *testing.T) {
	type testCase struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}
	run := func(t *testing.T, tc testCase) {
		got := versionLine(tc.bi, tc.ok)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("versionLine = %q, want it to start with %q", got, tc.want)
		}
	}
	for _, tc := range []testCase{
		{name: "no build info", ok: false, want: "streamtest (unknown version) go"},
		{name: "module version", ok: true, bi: &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.3.0"}},
			want: "streamtest v0.3.0 go1.26.0 "},
		{name: "clone with commit", ok: true, bi: &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}},
			want: "streamtest (devel) (commit 0123456789ab, modified) go1.26.0 "},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}
