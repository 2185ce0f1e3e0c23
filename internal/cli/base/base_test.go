package base

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	type testCase struct {
		name    string
		args    []string
		wantPos []string
		wantV   bool
		wantErr string
	}
	cases := []testCase{
		{name: "flags first", args: []string{"-v", "a", "b"}, wantPos: []string{"a", "b"}, wantV: true},
		{name: "flags between", args: []string{"a", "--v", "b"}, wantPos: []string{"a", "b"}, wantV: true},
		{name: "dash dash", args: []string{"a", "--", "-v"}, wantPos: []string{"a", "-v"}},
		{name: "unknown", args: []string{"-x"}, wantErr: "flag provided but not defined: -x\nusage: cmd [-v] ARGS"},
	}
	run := func(t *testing.T, tc testCase) {
		fs := NewFlagSet("cmd", "cmd [-v] ARGS", "Cmd does things.")
		v := fs.Bool("v", false, "verbose")
		pos, err := fs.Parse(tc.args, &bytes.Buffer{})
		if tc.wantErr != "" {
			if !errors.Is(err, ErrUsage) || err.Error() != tc.wantErr {
				t.Fatalf("err = %q, want usage error %q", err, tc.wantErr)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(pos, tc.wantPos) || *v != tc.wantV {
			t.Errorf("got %q, v=%t; want %q, v=%t", pos, *v, tc.wantPos, tc.wantV)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestHelp(t *testing.T) {
	fs := NewFlagSet("cmd", "cmd [-v] ARGS", "Cmd does things.")
	fs.Bool("v", false, "be verbose")
	var out bytes.Buffer
	if _, err := fs.Parse([]string{"-h"}, &out); !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	for _, want := range []string{"usage: cmd [-v] ARGS", "Cmd does things.", "be verbose"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, &out)
		}
	}
}

func TestErrors(t *testing.T) {
	u := Usagef("cmd ARGS", "bad %s", "value")
	if !errors.Is(u, ErrUsage) || u.Error() != "bad value\nusage: cmd ARGS" {
		t.Errorf("Usagef = %q", u)
	}
	var exit *ExitError
	if err := fmt.Errorf("wrapped: %w", &ExitError{Code: 3}); !errors.As(err, &exit) || exit.Code != 3 {
		t.Errorf("ExitError not found in %v", err)
	}
	before, after, ok := SplitDashDash([]string{"a", "--", "b", "--"})
	if !ok || !slices.Equal(before, []string{"a"}) || !slices.Equal(after, []string{"b", "--"}) {
		t.Errorf("SplitDashDash = %q %q %t", before, after, ok)
	}
}

func TestErrorLines(t *testing.T) {
	err := errors.Join(errors.New("a.yaml:1:1: one"), errors.Join(errors.New("a.yaml:2:1: two\nmore")))
	got := strings.Join(ErrorLines(err), "|")
	if want := "a.yaml:1:1: one|a.yaml:2:1: two|more"; got != want {
		t.Errorf("ErrorLines = %q, want %q", got, want)
	}
}
