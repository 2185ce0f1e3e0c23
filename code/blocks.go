package code

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Shell runs cmd with /bin/sh -c on the stream. It succeeds when the shell
// exits with status 0.
func Shell(cmd string) Block { return shellBlock{cmd: cmd} }

type shellBlock struct{ cmd string }

func (b shellBlock) Kind() string   { return "shell" }
func (b shellBlock) String() string { return summarize(b.cmd) }
func (b shellBlock) Text() string   { return b.cmd }
func (b shellBlock) SendSelf(ctx context.Context, t Target) (*Plan, error) {
	return &Plan{Args: []string{"/bin/sh", "-c", b.cmd}}, nil
}

// Exec runs a program with arguments, without a shell: no globbing, no
// variables, no quoting to get wrong. The program is looked up in the
// stream's PATH when it has no slash.
func Exec(argv ...string) Block { return execBlock{argv: argv} }

type execBlock struct{ argv []string }

func (b execBlock) Kind() string   { return "exec" }
func (b execBlock) String() string { return summarize(strings.Join(b.argv, " ")) }
func (b execBlock) Text() string   { return quoteArgs(b.argv) }
func (b execBlock) SendSelf(ctx context.Context, t Target) (*Plan, error) {
	if len(b.argv) == 0 {
		return nil, fmt.Errorf("code.Exec: no program given")
	}
	return &Plan{Args: append([]string(nil), b.argv...)}, nil
}

// Option configures a block: Path, Params, Interpreter, Env.
type Option func(*options)

type options struct {
	paths       []string
	params      any
	hasParams   bool
	interpreter string
	env         []string
}

// Path adds local directories to ship to the stream and put on the
// interpreter's module path (PYTHONPATH for Python blocks), in order. The
// RFC's path=["/opt/myproject"]: the directories live with the test, and the
// block makes them available wherever it runs.
func Path(dirs ...string) Option {
	return func(o *options) { o.paths = append(o.paths, dirs...) }
}

// Params passes parameters to the block (the RFC's params=self.params): v is
// marshalled to JSON and shipped as a file named by STREAMTEST_PARAMS_FILE;
// each top-level scalar is also set as STREAMTEST_PARAM_<KEY> (upper case,
// non-alphanumerics as "_"). Pass the whole tree or a subtree
// (streamtest.Manager.Params().Sub("mymodule")).
func Params(v any) Option {
	return func(o *options) { o.params, o.hasParams = v, true }
}

// Interpreter sets the program that runs a Python or Script block ("python3"
// by default for Python blocks; a script's own #! line otherwise).
func Interpreter(prog string) Option {
	return func(o *options) { o.interpreter = prog }
}

// Env adds "KEY=value" entries to the block's environment.
func Env(kv ...string) Option {
	return func(o *options) { o.env = append(o.env, kv...) }
}

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// ship sends the Path directories and the Params file, and returns the
// environment entries and module path that make them visible.
func (o options) ship(ctx context.Context, t Target) (env []string, paths []string, err error) {
	env = append(env, o.env...)
	for _, dir := range o.paths {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, nil, err
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, nil, fmt.Errorf("code.Path: %w", err)
		}
		if !fi.IsDir() {
			return nil, nil, fmt.Errorf("code.Path: %s is not a directory", dir)
		}
		remote := path.Join("blocks", "path-"+shortHash(abs))
		if err := t.Send(ctx, abs, remote); err != nil {
			return nil, nil, fmt.Errorf("code.Path: sending %s: %w", dir, err)
		}
		paths = append(paths, path.Join(t.WorkDir(), remote))
	}
	if o.hasParams {
		data, err := json.MarshalIndent(o.params, "", "  ")
		if err != nil {
			return nil, nil, fmt.Errorf("code.Params: %w", err)
		}
		name := "params-" + shortHash(string(data)) + ".json"
		if err := sendBytes(ctx, t, data, path.Join("blocks", name), 0o600); err != nil {
			return nil, nil, fmt.Errorf("code.Params: %w", err)
		}
		env = append(env, "STREAMTEST_PARAMS_FILE="+path.Join(t.WorkDir(), "blocks", name))
		env = append(env, paramEnv(o.params)...)
	}
	return env, paths, nil
}

// paramEnv turns the top-level scalars of v into STREAMTEST_PARAM_ entries.
func paramEnv(v any) []string {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	var env []string
	for k, val := range m {
		switch val.(type) {
		case string, float64, bool:
			env = append(env, "STREAMTEST_PARAM_"+envName(k)+"="+fmt.Sprint(val))
		}
	}
	sort.Strings(env)
	return env
}

func envName(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, k)
}

// Python runs Python source with python3 on the stream. The source is
// shipped as a file, so it may be as long as needed.
func Python(source string, opts ...Option) Block {
	return pythonBlock{source: source, opts: collect(opts)}
}

type pythonBlock struct {
	source string
	opts   options
}

func (b pythonBlock) Kind() string   { return "python" }
func (b pythonBlock) String() string { return summarize(b.source) }
func (b pythonBlock) Text() string   { return b.source }
func (b pythonBlock) SendSelf(ctx context.Context, t Target) (*Plan, error) {
	env, paths, err := b.opts.ship(ctx, t)
	if err != nil {
		return nil, err
	}
	file := path.Join("blocks", "python-"+shortHash(b.source)+".py")
	if err := sendBytes(ctx, t, []byte(b.source), file, 0o600); err != nil {
		return nil, err
	}
	return &Plan{
		Args: []string{b.opts.interp("python3"), path.Join(t.WorkDir(), file)},
		Env:  append(env, pythonPath(paths)...),
	}, nil
}

// PythonModule runs `python3 -m name` on the stream. Path ships local
// directories and puts them on PYTHONPATH; Params passes parameters.
func PythonModule(name string, opts ...Option) Block {
	return moduleBlock{name: name, opts: collect(opts)}
}

type moduleBlock struct {
	name string
	opts options
}

func (b moduleBlock) Kind() string   { return "python-module" }
func (b moduleBlock) String() string { return b.name }
func (b moduleBlock) SendSelf(ctx context.Context, t Target) (*Plan, error) {
	env, paths, err := b.opts.ship(ctx, t)
	if err != nil {
		return nil, err
	}
	return &Plan{
		Args: []string{b.opts.interp("python3"), "-m", b.name},
		Env:  append(env, pythonPath(paths)...),
	}, nil
}

func pythonPath(paths []string) []string {
	if len(paths) == 0 {
		return nil
	}
	return []string{"PYTHONPATH=" + strings.Join(paths, ":")}
}

func (o options) interp(def string) string {
	if o.interpreter != "" {
		return o.interpreter
	}
	return def
}

// Script ships a local script file to the stream and runs it with args. It
// runs with Interpreter when one is given, else as an executable (its #!
// line decides).
func Script(localFile string, args ...string) Block {
	return scriptBlock{file: localFile, args: args}
}

// ScriptWith is Script with options (Interpreter, Params, Env, Path).
func ScriptWith(localFile string, args []string, opts ...Option) Block {
	return scriptBlock{file: localFile, args: args, opts: collect(opts)}
}

type scriptBlock struct {
	file string
	args []string
	opts options
}

func (b scriptBlock) Kind() string { return "script" }
func (b scriptBlock) String() string {
	return summarize(strings.Join(append([]string{b.file}, b.args...), " "))
}
func (b scriptBlock) Text() string { return quoteArgs(append([]string{b.file}, b.args...)) }
func (b scriptBlock) SendSelf(ctx context.Context, t Target) (*Plan, error) {
	abs, err := filepath.Abs(b.file)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("code.Script: %w", err)
	}
	env, _, err := b.opts.ship(ctx, t)
	if err != nil {
		return nil, err
	}
	remote := path.Join("blocks", "script-"+shortHash(abs), filepath.Base(abs))
	if err := t.Send(ctx, abs, remote); err != nil {
		return nil, fmt.Errorf("code.Script: sending %s: %w", b.file, err)
	}
	file := path.Join(t.WorkDir(), remote)
	args := append([]string{file}, b.args...)
	if b.opts.interpreter != "" {
		args = append([]string{b.opts.interpreter}, args...)
	}
	return &Plan{Args: args, Env: env}, nil
}

// sendBytes writes data to a local temporary file and sends it.
func sendBytes(ctx context.Context, t Target, data []byte, remote string, mode os.FileMode) error {
	f, err := os.CreateTemp("", "streamtest-block-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return t.Send(ctx, f.Name(), remote)
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// summarize makes a single line of at most 80 characters.
// quoteArgs joins argv with spaces, quoting (as a shell would read it) each
// argument that is empty or holds a space or a quote.
func quoteArgs(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func summarize(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
