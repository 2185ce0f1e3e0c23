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
	_ "github.com/streamtest/streamtest/stream/remote"
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
	hosts := write("hosts", "[web]\nw[1:2] ansible_host=10.0.0.1 ansible_user=deploy\n")
	badHosts := write("bad-hosts", "[web]\nw1 ansible_port=70000 ansible_password=hunter2 colour=blue\n")
	badYAML := write("inv.yaml", "all:\n  hosts:\n    h: {ansible_hots: a}\n")
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
		{"inventories", []string{good, "--inventory", hosts}, 0, []string{good + ": ok", hosts + ": ok"}},
		{"bad inventories", []string{"--inventory", badHosts, "--inventory", badYAML}, 1, []string{
			badHosts + `:2:17: stream w1: ansible_port: want a port number from 1 to 65535, got 70000`,
			badHosts + `:2:48: stream w1: unknown parameter "colour" for type "remote"`,
			badYAML + `:3:9: host h: unknown Ansible variable "ansible_hots" (did you mean "ansible_host"?)`,
		}},
		{"an inventory read as parameters", []string{hosts}, 1, []string{hosts + ":2:1: YAML"}},
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
		if strings.Contains(out.String(), "hunter2") {
			t.Errorf("output shows a password:\n%s", &out)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}
