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
	sys := write("system.yaml", "streamtest:\n  strict: true\n")
	user := write("user.yaml", "streamtest:\n  default_type: process\n")
	envFile := write("env.yaml", "streams:\n  - 1: {type: local, host: 10.0.0.1}\n")
	flagFile := write("flag.yaml", "streams:\n  - db: {type: local}\n")
	bad := write("bad.yaml", "streams:\n  - 1: {type: nope}\n")
	envHosts := write("env-hosts", "[etcd]\nnode1 ansible_host=10.0.0.5 ansible_password=hunter2\n[empty]\n")
	flagHosts := write("hosts.yml", "all:\n  children:\n    web:\n      hosts:\n        w[1:2]:\n")
	groups := write("groups.yaml", "streams:\n  - db: {type: local, groups: [etcd]}\n")
	env := map[string]string{"STREAMTEST_PARAMS": envFile, "STREAMTEST_INVENTORY": envHosts}
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
			"1      local", "host=10.0.0.1", "db     local", // as wide as node1, from STREAMTEST_INVENTORY
		}},
		{"inventories and groups", []string{"-p", groups, "--inventory", flagHosts}, 0, []string{
			envHosts + " (env STREAMTEST_INVENTORY)", flagHosts + " (flag --inventory)",
			"node1  remote", envHosts + ":2:1", "host=10.0.0.5 password=********\n",
			"w1     remote", flagHosts + ":5:9",
			"groups:\n  GROUP  DECLARED AT",
			"  etcd   " + envHosts + ":1:1", "node1 db\n",
			"  empty  " + envHosts + ":3:1", "none\n",
			"  web    " + flagHosts + ":3:5", "w1 w2\n",
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
		if strings.Contains(out.String(), "hunter2") {
			t.Errorf("output shows a password:\n%s", &out)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}
