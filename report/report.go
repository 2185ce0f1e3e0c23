// Package report turns a `go test -json` run and the per-block records of
// the streams its tests used into an [Execution], and writes it as JSON
// (results.json). The subpackages write the same Execution as JUnit XML
// (report/junit), TAP (report/tap) and a self-contained HTML page with a
// timeline per test (report/html).
//
// It is for the streamtest command and other report writers (the
// implementer's side); test writers do not need it.
//
//	b := report.NewBuilder(exec)
//	for each test2json line: b.Add(ev)
//	b.AddRecords(blocks, dirToPackage)
//	report.WriteJSON(w, exec)
//
// The package reads what go test and the record files say; it does not run
// anything and does not read the block outputs (see Block.Stdout).
package report

import (
	"encoding/json"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/streamtest/streamtest/record"
)

// Result is how a test or package ended.
type Result string

// The results. Running means no end was seen: the run was interrupted or the
// test binary died.
const (
	Pass    Result = "pass"
	Fail    Result = "fail"
	Skip    Result = "skip"
	Running Result = "running"
)

// Execution is one `streamtest run`: every package and test go test
// reported, with the blocks each test ran on its streams.
// In JSON, times are RFC 3339 and durations (elapsed) whole nanoseconds.
type Execution struct {
	ID          string    `json:"id"`      // the results directory's name
	Started     time.Time `json:"started"` // when go test was started
	Ended       time.Time `json:"ended"`
	Command     []string  `json:"command,omitempty"`  // the go test command line
	Settings    []string  `json:"settings,omitempty"` // STREAMTEST_* variables passed to the tests
	Interrupted bool      `json:"interrupted,omitempty"`
	// Errors holds what go test printed on its standard error and build
	// output that belongs to no package.
	Errors   []string   `json:"errors,omitempty"`
	Packages []*Package `json:"packages"`
	// Unmatched holds records whose test or package go test did not report.
	Unmatched []record.Block `json:"unmatched,omitempty"`
}

// Package is one package go test ran (or failed to build).
type Package struct {
	Name    string        `json:"name"`
	Dir     string        `json:"dir,omitempty"`
	Result  Result        `json:"result"`
	Elapsed time.Duration `json:"elapsed"`
	// Output is the package's output that belongs to no test ("ok ...",
	// "FAIL", panics outside tests).
	Output string `json:"output,omitempty"`
	// BuildOutput is the compiler's output when the package (or its test)
	// did not build.
	BuildOutput string  `json:"build_output,omitempty"`
	Tests       []*Test `json:"tests"`
}

// Test is one test (or subtest) of a package.
type Test struct {
	Name    string    `json:"name"`
	Result  Result    `json:"result"`
	Started time.Time `json:"started"`
	// Ended is when go test reported the test's end (its cleanups, which
	// stop its streams, included); zero while it runs.
	Ended   time.Time     `json:"ended,omitzero"`
	Elapsed time.Duration `json:"elapsed"`
	Output  string        `json:"output,omitempty"`
	Attrs   []Attr        `json:"attrs,omitempty"` // from t.Attr
	// Blocks are the blocks the test ran on its streams, by start time.
	// Their Stdout and Stderr name files relative to the results directory.
	Blocks []record.Block `json:"blocks,omitempty"`
}

// Attr is a key and value a test set with t.Attr.
type Attr struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Streams returns the streams the test's blocks ran on, as "id (type)", in
// the order they were first used.
func (t *Test) Streams() []string {
	var out []string
	seen := map[string]bool{}
	for _, b := range t.Blocks {
		s := b.Stream + " (" + b.Type + ")"
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Failed reports whether the package failed, to build or in a test.
func (p *Package) Failed() bool { return p.Result == Fail || p.BuildOutput != "" }

// Counts are the numbers of tests by result.
type Counts struct {
	Total, Passed, Failed, Skipped, Running int
	// BuildFailed is the number of packages that did not build.
	BuildFailed int
}

// Counts counts the tests (subtests included) by result.
func (e *Execution) Counts() Counts {
	var c Counts
	for _, p := range e.Packages {
		if p.BuildOutput != "" {
			c.BuildFailed++
		}
		for _, t := range p.Tests {
			c.Total++
			switch t.Result {
			case Pass:
				c.Passed++
			case Fail:
				c.Failed++
			case Skip:
				c.Skipped++
			default:
				c.Running++
			}
		}
	}
	return c
}

// Failed reports whether anything failed: a test, a package, a build, or
// the run itself.
func (e *Execution) Failed() bool {
	if e.Interrupted {
		return true
	}
	for _, p := range e.Packages {
		if p.Failed() {
			return true
		}
		for _, t := range p.Tests {
			if t.Result == Fail {
				return true
			}
		}
	}
	return false
}

// Elapsed is the run's duration.
func (e *Execution) Elapsed() time.Duration { return e.Ended.Sub(e.Started) }

// WriteJSON writes e as indented JSON (results.json).
func WriteJSON(w io.Writer, e *Execution) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(e)
}

// Event is one line of `go test -json` (see `go doc test2json`), with the
// ImportPath of the build events (`go build -json`).
type Event struct {
	Time        time.Time `json:",omitzero"`
	Action      string
	Package     string  `json:",omitempty"`
	Test        string  `json:",omitempty"`
	Elapsed     float64 `json:",omitempty"` // seconds
	Output      string  `json:",omitempty"`
	FailedBuild string  `json:",omitempty"`
	ImportPath  string  `json:",omitempty"`
	Key         string  `json:",omitempty"`
	Value       string  `json:",omitempty"`
}

// Builder fills an Execution from events and records. It is not safe for
// concurrent use.
type Builder struct {
	e     *Execution
	pkgs  map[string]*Package
	tests map[[2]string]*Test
	build map[string]*strings.Builder // build output by ImportPath
	order []string                    // build ImportPaths in order of appearance
	used  map[string]bool
}

// NewBuilder returns a Builder that fills e.
func NewBuilder(e *Execution) *Builder {
	return &Builder{
		e:     e,
		pkgs:  map[string]*Package{},
		tests: map[[2]string]*Test{},
		build: map[string]*strings.Builder{},
		used:  map[string]bool{},
	}
}

// Package returns the package named name, creating it.
func (b *Builder) Package(name string) *Package {
	p, ok := b.pkgs[name]
	if !ok {
		p = &Package{Name: name, Result: Running}
		b.pkgs[name] = p
		b.e.Packages = append(b.e.Packages, p)
	}
	return p
}

// Test returns the test pkg.name, creating it.
func (b *Builder) Test(pkg, name string) *Test {
	k := [2]string{pkg, name}
	t, ok := b.tests[k]
	if !ok {
		p := b.Package(pkg)
		t = &Test{Name: name, Result: Running}
		b.tests[k] = t
		p.Tests = append(p.Tests, t)
	}
	return t
}

// Add applies one event.
func (b *Builder) Add(ev Event) {
	switch ev.Action {
	case "build-output":
		sb, ok := b.build[ev.ImportPath]
		if !ok {
			sb = &strings.Builder{}
			b.build[ev.ImportPath] = sb
			b.order = append(b.order, ev.ImportPath)
		}
		sb.WriteString(ev.Output)
		return
	case "build-fail":
		return
	}
	if ev.Package == "" {
		if ev.Output != "" {
			b.e.Errors = append(b.e.Errors, strings.TrimRight(ev.Output, "\n"))
		}
		return
	}
	p := b.Package(ev.Package)
	if ev.Test == "" {
		switch ev.Action {
		case "output":
			p.Output += ev.Output
		case "pass", "fail", "skip":
			p.Result = Result(ev.Action)
			p.Elapsed = seconds(ev.Elapsed)
			if ev.FailedBuild != "" {
				p.BuildOutput += b.buildOutput(ev.FailedBuild)
			}
		}
		return
	}
	t := b.Test(ev.Package, ev.Test)
	switch ev.Action {
	case "run":
		t.Started = ev.Time
	case "output":
		t.Output += ev.Output
	case "attr":
		t.Attrs = append(t.Attrs, Attr{ev.Key, ev.Value})
	case "pass", "fail", "skip":
		t.Result = Result(ev.Action)
		t.Elapsed = seconds(ev.Elapsed)
		t.Ended = ev.Time
	}
}

// buildOutput returns the build output for the import path failed, and for
// the test variants of it ("p [p.test]"), each once.
func (b *Builder) buildOutput(failed string) string {
	var out strings.Builder
	for _, ip := range b.order {
		if b.used[ip] {
			continue
		}
		if ip == failed || strings.HasPrefix(ip, failed+" ") || strings.HasPrefix(failed, ip+" ") {
			b.used[ip] = true
			out.WriteString(b.build[ip].String())
		}
	}
	return out.String()
}

// AddRecords attaches each record to its test: Block.Test names the test and
// Block.Dir the directory of its package, which dirs maps to the package's
// import path. A record whose directory is not in dirs is matched by test
// name when only one package has a test of that name. Records that match no
// test go to Execution.Unmatched. prefix is put before the Stdout and Stderr
// file names (the record directory relative to the results directory).
func (b *Builder) AddRecords(blocks []record.Block, dirs map[string]string, prefix string) {
	for _, r := range blocks {
		if r.Stdout != "" {
			r.Stdout = prefix + r.Stdout
		}
		if r.Stderr != "" {
			r.Stderr = prefix + r.Stderr
		}
		t := b.findTest(r, dirs)
		if t == nil {
			b.e.Unmatched = append(b.e.Unmatched, r)
			continue
		}
		t.Blocks = append(t.Blocks, r)
	}
	for _, t := range b.tests {
		sort.SliceStable(t.Blocks, func(i, j int) bool {
			bi, bj := t.Blocks[i], t.Blocks[j]
			if !bi.Started.Equal(bj.Started) {
				return bi.Started.Before(bj.Started)
			}
			if bi.Stream != bj.Stream {
				return bi.Stream < bj.Stream
			}
			return bi.Seq < bj.Seq
		})
	}
}

func (b *Builder) findTest(r record.Block, dirs map[string]string) *Test {
	if pkg, ok := dirs[r.Dir]; ok {
		return b.tests[[2]string{pkg, r.Test}]
	}
	var found *Test
	for k, t := range b.tests {
		if k[1] == r.Test {
			if found != nil {
				return nil
			}
			found = t
		}
	}
	return found
}

// Finish ends the execution at end: tests and packages that never ended stay
// Running; build output that belongs to no package goes to Errors; packages
// are sorted by name and tests keep the order go test started them.
func (b *Builder) Finish(end time.Time) *Execution {
	b.e.Ended = end
	for _, ip := range b.order {
		if !b.used[ip] {
			b.used[ip] = true
			b.e.Errors = append(b.e.Errors, strings.TrimRight(b.build[ip].String(), "\n"))
		}
	}
	sort.SliceStable(b.e.Packages, func(i, j int) bool { return b.e.Packages[i].Name < b.e.Packages[j].Name })
	return b.e
}

func seconds(f float64) time.Duration {
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond)
}

// Skipped returns the reason a skipped test gave: the message of its t.Skip
// (the last message the test logged, "file.go:12: reason", with its
// continuation lines joined by newlines), or "" when it gave none.
func (t *Test) Skipped() string {
	var msg []string
	indent := -1 // the indentation of the message's first line; -1: none yet
	for _, l := range strings.Split(t.Output, "\n") {
		trimmed := strings.TrimLeft(l, " \t")
		depth := len(l) - len(trimmed)
		switch {
		case trimmed == "":
			continue
		case logLine.MatchString(trimmed):
			msg, indent = []string{logLine.ReplaceAllString(trimmed, "")}, depth
		case indent >= 0 && depth > indent && !strings.HasPrefix(trimmed, "--- ") && !strings.HasPrefix(trimmed, "=== "):
			msg = append(msg, trimmed)
		default:
			indent = -1
		}
	}
	return strings.Join(msg, "\n")
}

// logLine is the start of a line that t.Log, t.Skip or t.Error wrote:
// "file_test.go:12: ".
var logLine = regexp.MustCompile(`^[\w.-]+\.go:\d+: `)

// BlockResult is how a block ended, as reports show it.
type BlockResult string

// The block results. A block the test stopped on purpose (Terminate, or the
// end of the test) is neither passed nor failed; one that timed out failed.
const (
	BlockPassed  BlockResult = "passed"
	BlockFailed  BlockResult = "failed"
	BlockStopped BlockResult = "stopped"
)

// ResultOf says how b ended.
func ResultOf(b record.Block) BlockResult {
	switch {
	case b.Error != "":
		return BlockFailed
	case b.Stopped.ByTest():
		return BlockStopped
	case b.Success:
		return BlockPassed
	}
	return BlockFailed
}

// StopReason says in words why the library stopped b, "" if it did not:
// "the test called Terminate", "the test ended", "timed out after 5s",
// "killed by the test (SIGKILL)", "signalled by the test (SIGTERM)".
func StopReason(b record.Block) string {
	switch b.Stopped {
	case "":
		return ""
	case record.StopTerminated:
		return "the test called Terminate"
	case record.StopTestEnded:
		return "the test ended"
	case record.StopTimedOut:
		if b.Timeout > 0 {
			return "timed out after " + b.Timeout.String()
		}
		return "timed out"
	case record.StopKilled:
		return "killed by the test (SIGKILL)"
	case record.StopSignalled:
		if b.Signal != "" {
			return "signalled by the test (SIG" + b.Signal + ")"
		}
		return "signalled by the test"
	}
	return string(b.Stopped)
}
