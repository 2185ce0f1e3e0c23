package code

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTarget records what a block sends, copying files into a directory.
type fakeTarget struct {
	dir  string
	sent map[string]string // remote -> local
}

func (f *fakeTarget) ID() string      { return "1" }
func (f *fakeTarget) Type() string    { return "fake" }
func (f *fakeTarget) WorkDir() string { return "/work" }
func (f *fakeTarget) Send(ctx context.Context, local, remote string) error {
	data, err := os.ReadFile(local)
	if err == nil {
		os.WriteFile(filepath.Join(f.dir, path.Base(remote)), data, 0o600)
	}
	f.sent[remote] = local
	return nil
}

func TestPlans(t *testing.T) {
	type testCase struct {
		name     string
		block    Block
		kind     string
		wantArgs string // space-joined, with sent file names replaced by their base
		wantEnv  string
		wantErr  string
	}
	run := func(t *testing.T, tc testCase) {
		ft := &fakeTarget{dir: t.TempDir(), sent: map[string]string{}}
		plan, err := tc.block.SendSelf(t.Context(), ft)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if tc.block.Kind() != tc.kind {
			t.Errorf("Kind = %q, want %q", tc.block.Kind(), tc.kind)
		}
		if got := strings.Join(plan.Args, " "); !strings.HasPrefix(got, tc.wantArgs) {
			t.Errorf("args = %q, want prefix %q", got, tc.wantArgs)
		}
		if got := strings.Join(plan.Env, " "); !strings.Contains(got, tc.wantEnv) {
			t.Errorf("env = %q, want it to contain %q", got, tc.wantEnv)
		}
	}
	script := filepath.Join(t.TempDir(), "s.sh")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	pydir := t.TempDir()
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []testCase{
		{name: "shell", block: Shell("echo hi"), kind: "shell", wantArgs: "/bin/sh -c echo hi"},
		{name: "exec", block: Exec("ip", "addr"), kind: "exec", wantArgs: "ip addr"},
		{name: "exec empty", block: Exec(), wantErr: "no program"},
		{name: "python", block: Python("print(1)"), kind: "python", wantArgs: "python3 /work/blocks/python-"},
		{name: "python interpreter", block: Python("print(1)", Interpreter("python3.11")), kind: "python", wantArgs: "python3.11 "},
		{name: "module", block: PythonModule("m", Path(pydir), Params(map[string]any{"debug": true, "n": 2, "nested": map[string]int{"a": 1}})),
			kind: "python-module", wantArgs: "python3 -m m", wantEnv: "STREAMTEST_PARAM_DEBUG=true STREAMTEST_PARAM_N=2 PYTHONPATH=/work/blocks/path-"},
		{name: "module missing path", block: PythonModule("m", Path(missing)), wantErr: missing},
		{name: "script", block: Script(script, "-v"), kind: "script", wantArgs: "/work/blocks/script-"},
		{name: "script interpreter", block: ScriptWith(script, []string{"-v"}, Interpreter("bash")), kind: "script", wantArgs: "bash /work/blocks/script-"},
		{name: "script missing", block: Script(missing + ".sh"), wantErr: "missing.sh"},
		{name: "env", block: PythonModule("m", Env("A=1")), kind: "python-module", wantEnv: "A=1"},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestSummaries(t *testing.T) {
	long := strings.Repeat("x", 200)
	if got := Shell("echo  a\n  b").String(); got != "echo a b" {
		t.Errorf("Shell summary %q", got)
	}
	if got := Shell(long).String(); len(got) != 80 || !strings.HasSuffix(got, "...") {
		t.Errorf("long summary %q (%d)", got, len(got))
	}
	if got := envName("my-key.x"); got != "MY_KEY_X" {
		t.Errorf("envName = %q", got)
	}
}

func TestTexts(t *testing.T) {
	long := "etcdctl --endpoints=http://172.22.0.2:2379,http://172.22.0.3:2379 put /config/key-" + strings.Repeat("9", 40)
	type testCase struct {
		name  string
		block Block
		want  string
	}
	cases := []testCase{
		{"shell keeps all of a long command", Shell(long), long},
		{"shell keeps its lines", Shell("echo a\n  echo b"), "echo a\n  echo b"},
		{"exec quotes what a shell would split", Exec("sh", "-c", "echo 'hi' $X", ""), `sh -c 'echo '\''hi'\'' $X' ''`},
		{"python keeps the source", Python("import os\nprint(os.getpid())\n"), "import os\nprint(os.getpid())\n"},
		{"script", Script("testdata/x.sh", "a b"), "testdata/x.sh 'a b'"},
		{"go program", GoProgram("./cmd/srv", "-port", "80"), "./cmd/srv -port 80"},
		{"func", Func("serve", "a", "b c"), "serve a 'b c'"},
		{"program", Program("/usr/bin/env", "A=b c", "true"), "/usr/bin/env 'A=b c' true"},
	}
	run := func(t *testing.T, tc testCase) {
		tx, ok := tc.block.(Texter)
		if !ok {
			t.Fatalf("%T has no Text", tc.block)
		}
		if got := tx.Text(); got != tc.want {
			t.Errorf("Text() = %q, want %q", got, tc.want)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestKindsListsEveryKind(t *testing.T) {
	known := map[string]bool{}
	for _, k := range Kinds() {
		known[k.Name] = true
	}
	for _, b := range []Block{Shell(""), Exec("x"), Python(""), PythonModule("m"), Script("s"), GoProgram("p"), GoTest("p"), Func("f"), Program("p")} {
		if !known[b.Kind()] {
			t.Errorf("Kinds() does not list %q", b.Kind())
		}
	}
	if len(known) != 9 {
		t.Errorf("Kinds() lists %d kinds, want 9", len(known))
	}
}
