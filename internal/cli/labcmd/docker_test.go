package labcmd

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDockerCommandLines(t *testing.T) {
	type testCase struct {
		name  string
		args  []string
		usage bool   // an ErrUsage
		want  string // in the error
	}
	tests := []testCase{
		{name: "isolated", args: []string{"up", "--kind", "docker", "--isolated", "1"}, usage: true, want: "no --isolated hosts"},
		{name: "unknown image", args: []string{"image", "example/other:latest"}, want: "unknown image example/other:latest"},
		{name: "image flag", args: []string{"image", "--bogus"}, usage: true},
		{name: "sweep flag", args: []string{"sweep", "--bogus"}, usage: true},
	}
	run := func(t *testing.T, tc testCase) {
		var out, errb bytes.Buffer
		err := Run(context.Background(), tc.args, &out, &errb)
		if err == nil {
			t.Fatal("no error")
		}
		if errors.Is(err, ErrUsage) != tc.usage {
			t.Errorf("error %v: usage = %v, want %v", err, !tc.usage, tc.usage)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q does not contain %q", err, tc.want)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}
