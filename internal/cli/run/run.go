// Package run is `streamtest run`: it runs `go test -json` on packages with
// the streams configuration passed to the test binaries through the
// environment, shows progress, prints a summary, and writes the reports of
// the run (results.json, junit.xml, results.tap, report.html, the raw
// go-test.json and every block's output) to a results directory.
package run

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/streamtest/streamtest/internal/cli/base"
	"github.com/streamtest/streamtest/record"
	"github.com/streamtest/streamtest/report"
	"github.com/streamtest/streamtest/report/html"
	"github.com/streamtest/streamtest/report/junit"
	"github.com/streamtest/streamtest/report/tap"
	"github.com/streamtest/streamtest/stream"
)

const usage = "streamtest run [flags] [packages] [-- go test flags]"

const help = `Run runs go test -json on the packages (default ./...), passing the streams
configuration to the test binaries through the environment, shows the tests'
progress, prints a summary table and writes the reports to
RESULTS/<date>-<time>-<id>/ (results.json, junit.xml, results.tap,
report.html, go-test.json, records/), with RESULTS/latest pointing at it.
It exits with status 1 when a test or a build failed.`

// Environment variables passed to the test binaries.
const (
	EnvParams      = "STREAMTEST_PARAMS"
	EnvInventory   = "STREAMTEST_INVENTORY"
	EnvStrict      = "STREAMTEST_STRICT"
	EnvDefaultType = "STREAMTEST_DEFAULT_TYPE"
)

// Options are the flags and arguments of `streamtest run`.
type Options struct {
	Params      []string      // -p, --params FILE (repeatable): parameters files
	Inventories []string      // --inventory FILE (repeatable): Ansible inventories
	Strict      bool          // --strict: undefined streams are errors
	DefaultType string        // --default-type TYPE: type of undefined streams
	Results     string        // --results DIR: base directory of the results ("results")
	Grace       time.Duration // --grace D: how long go test gets to end after an interrupt
	Packages    []string      // packages; none means ./...
	GoTestArgs  []string      // after "--": go test flags
	// TTY forces the live display on (true) or off (false); nil decides
	// from the output.
	TTY *bool
}

// Validate checks the options and makes the parameters files absolute.
func (o *Options) Validate() error {
	for i, p := range o.Params {
		abs, err := filepath.Abs(p)
		if err != nil {
			return base.Usagef(usage, "--params %s: %v", p, err)
		}
		if st, err := os.Stat(abs); err != nil {
			return base.Usagef(usage, "--params: %v", err)
		} else if st.IsDir() {
			return base.Usagef(usage, "--params %s: is a directory", p)
		}
		if strings.Contains(abs, ":") {
			return base.Usagef(usage, "--params %s: a path with ':' cannot be passed in %s", p, EnvParams)
		}
		o.Params[i] = abs
	}
	for i, p := range o.Inventories {
		abs, err := filepath.Abs(p)
		if err != nil {
			return base.Usagef(usage, "--inventory %s: %v", p, err)
		}
		if st, err := os.Stat(abs); err != nil {
			return base.Usagef(usage, "--inventory: %v", err)
		} else if st.IsDir() {
			return base.Usagef(usage, "--inventory %s: is a directory", p)
		}
		if strings.Contains(abs, ":") {
			return base.Usagef(usage, "--inventory %s: a path with ':' cannot be passed in %s", p, EnvInventory)
		}
		o.Inventories[i] = abs
	}
	if o.DefaultType != "" {
		if _, ok := stream.Lookup(o.DefaultType); !ok {
			if _, builtIn := stream.BuiltIn[o.DefaultType]; !builtIn {
				return &base.UsageError{Usage: usage, Err: fmt.Errorf("--default-type: %w", &stream.UnknownTypeError{Name: o.DefaultType})}
			}
		}
	}
	if o.Results == "" {
		return base.Usagef(usage, "--results: empty directory name")
	}
	if o.Grace < 0 {
		return base.Usagef(usage, "--grace: negative duration %s", o.Grace)
	}
	if len(o.Packages) == 0 {
		o.Packages = []string{"./..."}
	}
	return nil
}

// Env returns the STREAMTEST_* variables the options set for the tests.
func (o *Options) Env(recordDir string) []string {
	var env []string
	if len(o.Params) > 0 {
		env = append(env, EnvParams+"="+strings.Join(o.Params, ":"))
	}
	if len(o.Inventories) > 0 {
		env = append(env, EnvInventory+"="+strings.Join(o.Inventories, ":"))
	}
	if o.Strict {
		env = append(env, EnvStrict+"=true")
	}
	if o.DefaultType != "" {
		env = append(env, EnvDefaultType+"="+o.DefaultType)
	}
	return append(env, record.EnvDir+"="+recordDir)
}

// Parse parses the command line of `streamtest run`.
func Parse(args []string, stdout io.Writer) (*Options, error) {
	o := &Options{Results: "results", Grace: 30 * time.Second}
	before, after, _ := base.SplitDashDash(args)
	fs := base.NewFlagSet("run", usage, help)
	var params, inventories base.Strings
	fs.Var(&params, "p", "parameters `FILE` (repeatable); passed as "+EnvParams)
	fs.Var(&params, "params", "parameters `FILE` (repeatable), like -p")
	fs.Var(&inventories, "inventory", "Ansible inventory `FILE`, INI or YAML (repeatable): its hosts are remote streams, its groups named groups; passed as "+EnvInventory)
	fs.BoolVar(&o.Strict, "strict", false, "streams the parameters do not define are errors ("+EnvStrict+"=true)")
	fs.StringVar(&o.DefaultType, "default-type", "", "stream `TYPE` of streams the parameters do not define ("+EnvDefaultType+")")
	fs.StringVar(&o.Results, "results", o.Results, "base `DIR` of the results directories")
	fs.DurationVar(&o.Grace, "grace", o.Grace, "after an interrupt, how long go test has to end before it is killed")
	pos, err := fs.Parse(before, stdout)
	if err != nil {
		return nil, err
	}
	o.Params = params
	o.Inventories = inventories
	for _, p := range pos {
		if strings.HasPrefix(p, "-") {
			return nil, base.Usagef(usage, "flag %s after the packages: put go test flags after --", p)
		}
	}
	o.Packages = pos
	o.GoTestArgs = after
	return o, o.Validate()
}

// Run runs `streamtest run ARGS`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := Parse(args, stdout)
	if errors.Is(err, base.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return RunOptions(ctx, o, stdout, stderr)
}

// Package variables that tests replace.
var (
	now        = time.Now
	goCommand  = "go"
	isTerminal = func(w io.Writer) bool {
		f, ok := w.(*os.File)
		return ok && term.IsTerminal(int(f.Fd()))
	}
)

// RunOptions runs go test as o says.
func RunOptions(ctx context.Context, o *Options, stdout, stderr io.Writer) error {
	start := now()
	id, dir, recordDir, err := makeResultsDir(o.Results, start)
	if err != nil {
		return err
	}
	raw, err := os.Create(filepath.Join(dir, "go-test.json"))
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer raw.Close()

	dirs := packageDirs(ctx, o.Packages)

	settings := o.Env(recordDir)
	argv := append([]string{goCommand, "test", "-json"}, o.Packages...)
	argv = append(argv, o.GoTestArgs...)
	e := &report.Execution{ID: id, Started: start, Command: argv, Settings: settings}
	b := report.NewBuilder(e)

	tty := isTerminal(stdout)
	if o.TTY != nil {
		tty = *o.TTY
	}
	short := shortener(ctx)
	disp := newDisplay(stdout, tty, short)
	defer disp.stop()

	var goStderr bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), settings...)
	cmd.Stderr = io.MultiWriter(&goStderr, disp.writer(stderr))
	setProcessGroup(cmd)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("go test: %w", err)
	}
	ended := stopOnInterrupt(ctx, cmd, o.Grace, disp)

	scanErr := readEvents(io.TeeReader(pipe, raw), e, b, disp)
	if scanErr != nil {
		io.Copy(io.Discard, pipe) // let go test finish writing
	}
	waitErr := cmd.Wait()
	e.Interrupted = ended()
	disp.stop()

	if s := strings.TrimSpace(goStderr.String()); s != "" {
		e.Errors = append(e.Errors, s)
	}
	blocks, recErr := record.Read(recordDir)
	if recErr != nil {
		e.Errors = append(e.Errors, "reading the records: "+recErr.Error())
	}
	b.AddRecords(blocks, dirs, "records/")
	b.Finish(now())

	if err := writeReports(dir, e); err != nil {
		return err
	}
	if err := linkLatest(o.Results, id); err != nil {
		fmt.Fprintf(stderr, "streamtest run: %v\n", err)
	}
	printSummary(stdout, e, dir, short)
	return runError(scanErr, waitErr, e.Failed())
}

// makeResultsDir makes the directory of a run started at start under base,
// with its records directory, and returns the run's id and both paths
// (recordDir absolute: the test binaries write there).
func makeResultsDir(base string, start time.Time) (id, dir, recordDir string, err error) {
	id = start.Format("20060102-150405") + "-" + shortID()
	dir = filepath.Join(base, id)
	recordDir, err = filepath.Abs(filepath.Join(dir, "records"))
	if err != nil {
		return "", "", "", err
	}
	if err := os.MkdirAll(recordDir, 0o755); err != nil {
		return "", "", "", fmt.Errorf("results: %w", err)
	}
	return id, dir, recordDir, nil
}

// stopOnInterrupt interrupts go test and its test binaries when ctx ends
// (Ctrl-C: their cleanups end every stream), and kills them after grace.
// Call the function it returns once cmd has ended: it stops the watch and
// reports whether go test was interrupted.
func stopOnInterrupt(ctx context.Context, cmd *exec.Cmd, grace time.Duration, disp *display) (ended func() (interrupted bool)) {
	done := make(chan struct{})
	var interrupted atomic.Bool
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		interrupted.Store(true)
		disp.note("interrupted: stopping go test (grace " + grace.String() + ")")
		interruptGroup(cmd)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			disp.note("go test did not end in time: killing it")
			killGroup(cmd)
		}
	}()
	return func() bool {
		close(done)
		return interrupted.Load()
	}
}

// readEvents reads go test -json output from r into the builder and the
// display; a line that is not an event is an error of the execution.
func readEvents(r io.Reader, e *report.Execution, b *report.Builder, disp *display) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev report.Event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			e.Errors = append(e.Errors, string(line))
			disp.line(string(line))
			continue
		}
		b.Add(ev)
		disp.event(ev, b)
	}
	return sc.Err()
}

// runError is the command's result: reading go test's output failed, go
// test could not run, or a test failed (exit status 1).
func runError(scanErr, waitErr error, failed bool) error {
	var exitErr *exec.ExitError
	switch {
	case scanErr != nil:
		return fmt.Errorf("reading go test output: %w", scanErr)
	case waitErr != nil && !errors.As(waitErr, &exitErr):
		return fmt.Errorf("go test: %w", waitErr)
	case failed || waitErr != nil:
		return &base.ExitError{Code: 1}
	}
	return nil
}

// writeReports writes every report of e into dir.
func writeReports(dir string, e *report.Execution) error {
	hostname, _ := os.Hostname()
	writers := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"results.json", func(w io.Writer) error { return report.WriteJSON(w, e) }},
		{"junit.xml", func(w io.Writer) error {
			return junit.Write(w, e, junit.Config{Hostname: hostname, Properties: map[string]string{"go.version": goVersion()}})
		}},
		{"results.tap", func(w io.Writer) error { return tap.Write(w, e) }},
		{"report.html", func(w io.Writer) error {
			return html.Write(w, e, html.Config{ReadFile: func(name string) ([]byte, error) {
				return os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			}})
		}},
	}
	for _, wr := range writers {
		f, err := os.Create(filepath.Join(dir, wr.name))
		if err != nil {
			return fmt.Errorf("results: %w", err)
		}
		bw := bufio.NewWriter(f)
		err = wr.write(bw)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("results: %s: %w", wr.name, err)
		}
	}
	return nil
}

// linkLatest points base/latest at id.
func linkLatest(base, id string) error {
	tmp := filepath.Join(base, ".latest-"+id)
	os.Remove(tmp)
	if err := os.Symlink(id, tmp); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(base, "latest")); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

// packageDirs maps the directory of each package matched by patterns to its
// import path, so that records (which know their directory) find their test.
func packageDirs(ctx context.Context, patterns []string) map[string]string {
	args := append([]string{"list", "-e", "-f", "{{.Dir}}\t{{.ImportPath}}"}, patterns...)
	out, err := exec.CommandContext(ctx, goCommand, args...).Output()
	m := map[string]string{}
	if err != nil && len(out) == 0 {
		return m
	}
	for _, l := range strings.Split(string(out), "\n") {
		if d, ip, ok := strings.Cut(l, "\t"); ok && d != "" {
			m[d] = ip
		}
	}
	return m
}

// shortener returns a function that makes package names relative to the
// main module, as gotestsum shows them.
func shortener(ctx context.Context) func(string) string {
	out, err := exec.CommandContext(ctx, goCommand, "list", "-m", "-f", "{{.Path}}").Output()
	mod, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return func(pkg string) string {
		if err != nil || mod == "" {
			return pkg
		}
		if rest, ok := strings.CutPrefix(pkg, mod+"/"); ok {
			return rest
		}
		return pkg
	}
}

var goVersionOnce = sync.OnceValue(func() string {
	out, err := exec.Command(goCommand, "env", "GOVERSION").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
})

func goVersion() string { return goVersionOnce() }

func shortID() string {
	var b [3]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
