// Package exec is `streamtest exec`: it runs one command on several streams
// at once, like pdsh, prefixing every output line with its stream's id, and
// ends with a summary of the exit statuses.
//
// It is a program on the public API: a streamtest.Session stands in for a
// test, and the manager runs the command as a block (code.Exec) on a group
// of streams, so that fan-out, synchronized start, timeouts, records and
// timings are those of a test. Every stream is terminated before the
// command returns, on Ctrl-C too: what the command started on a stream is
// stopped and the stream's work directory removed.
package exec

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/internal/cli/base"
)

const usage = "streamtest exec [-p FILE]... [--inventory FILE]... [--on 1,3-4,@GROUP|all] [--sync] [--timeout D] -- CMD [ARGS]"

const help = `Exec runs CMD with ARGS on streams at once, each output line prefixed with
its stream's id ("1: ..."), and prints a summary of the exit statuses. It
exits with status 1 when the command failed or could not run on a stream.

The streams are those the parameters files and Ansible inventories define
(-p, --inventory, STREAMTEST_PARAMS, STREAMTEST_INVENTORY, the user and
system files; see streamtest config); --on picks some of them by id, with
inclusive numeric ranges, and by named group with '@' ("1,3-4,db,@etcd":
@etcd is every stream of the group etcd, an inventory's group or a groups:
list). A picked id that the files do not define gets the default type,
unless --strict.`

// Options are the flags and arguments of `streamtest exec`.
type Options struct {
	Params      []string      // -p, --params FILE (repeatable)
	Inventories []string      // --inventory FILE (repeatable): Ansible inventories
	Strict      *bool         // --strict
	DefaultType string        // --default-type TYPE
	On          string        // --on: "all" or ids, ranges and @groups, "1,3-4,db,@etcd"
	Sync        bool          // --sync: start every stream at one instant
	SyncTimeout time.Duration // --sync-timeout: bound on getting every stream ready
	Timeout     time.Duration // --timeout: bound on the command; 0 is none
	Grace       time.Duration // --grace: between the polite stop and the kill
	Command     []string      // CMD [ARGS]
}

// Validate checks the options.
func (o *Options) Validate() error {
	if len(o.Command) == 0 {
		return base.Usagef(usage, "no command to run")
	}
	if o.On == "" {
		return base.Usagef(usage, "--on: empty")
	}
	if _, err := parseOn(o.On); err != nil {
		return base.Usagef(usage, "--on: %v", err)
	}
	if o.Timeout < 0 || o.SyncTimeout < 0 || o.Grace < 0 {
		return base.Usagef(usage, "negative duration")
	}
	return nil
}

// Parse parses the command line of `streamtest exec`.
func Parse(args []string, stdout io.Writer) (*Options, error) {
	o := &Options{On: "all", SyncTimeout: time.Minute, Grace: 2 * time.Second}
	fs := base.NewFlagSet("exec", usage, help)
	var files, inventories base.Strings
	var strict bool
	fs.Var(&files, "p", "parameters `FILE` (repeatable)")
	fs.Var(&files, "params", "parameters `FILE` (repeatable), like -p")
	fs.Var(&inventories, "inventory", "Ansible inventory `FILE`, INI or YAML (repeatable): its hosts are remote streams, its groups named groups")
	fs.BoolVar(&strict, "strict", false, "ids the parameters do not define are errors")
	fs.StringVar(&o.DefaultType, "default-type", "", "stream `TYPE` of ids the parameters do not define")
	fs.StringVar(&o.On, "on", o.On, "streams to run on: `all` or ids, inclusive ranges and @groups, 1,3-4,db,@etcd")
	fs.BoolVar(&o.Sync, "sync", false, "start the command on every stream at one instant")
	fs.DurationVar(&o.SyncTimeout, "sync-timeout", o.SyncTimeout, "with --sync, how long the streams have to get ready")
	fs.DurationVar(&o.Timeout, "timeout", 0, "stop the command after this `duration` (0: no limit)")
	fs.DurationVar(&o.Grace, "grace", o.Grace, "time between the polite stop and the kill")
	before, after, dash := base.SplitDashDash(args)
	rest, err := fs.Parse(before, stdout)
	if err != nil {
		return nil, err
	}
	if dash {
		rest = append(rest, after...)
	}
	o.Command = rest
	o.Params = files
	o.Inventories = inventories
	if isSet(fs, "strict") {
		o.Strict = &strict
	}
	return o, o.Validate()
}

func isSet(fs *base.FlagSet, name string) bool {
	set := false
	fs.FlagSet.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// Run runs `streamtest exec ARGS`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := Parse(args, stdout)
	if errors.Is(err, base.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	results, err := Exec(ctx, o, stdout, stderr)
	if results == nil {
		return err
	}
	PrintSummary(stdout, results)
	if err != nil {
		return &base.ExitError{Code: 1, Err: err}
	}
	for _, r := range results {
		if !r.OK() {
			return &base.ExitError{Code: 1}
		}
	}
	if ctx.Err() != nil {
		return &base.ExitError{Code: 1, Err: errors.New("interrupted")}
	}
	return nil
}

// Result is how the command ended on one stream: the run's outcome, with
// the stream's id and type.
type Result struct {
	ID   string
	Type string // "" when the parameters could not say
	streamtest.Outcome
}

// OK reports whether the command ran and exited with status 0.
func (r Result) OK() bool { return r.Success }

// Status describes the outcome: "exit 0", "killed by SIGTERM",
// "timed out, killed by SIGTERM", "error: ...".
func (r Result) Status() string {
	if r.Err != nil {
		return "error: " + r.Err.Error()
	}
	var how string
	switch {
	case !r.Exited:
		how = "did not run"
	case r.Exit.Signal != 0:
		how = r.Exit.String()
	default:
		how = fmt.Sprintf("exit %d", r.Exit.Code)
	}
	switch r.Stopped {
	case streamtest.TimedOut:
		return "timed out, " + how
	case streamtest.TestEnded:
		return "interrupted, " + how
	case streamtest.NotStopped:
		return how
	}
	return r.Stopped.String() + ", " + how
}

// manager returns the session's manager on the parameters o names.
func manager(sess *streamtest.Session, o *Options) (m *streamtest.Manager, err error) {
	opts := []streamtest.Option{streamtest.KillGrace(o.Grace)}
	if len(o.Params) > 0 {
		opts = append(opts, streamtest.ParamsFile(o.Params...))
	}
	if len(o.Inventories) > 0 {
		opts = append(opts, streamtest.InventoryFile(o.Inventories...))
	}
	if o.Strict != nil && *o.Strict {
		opts = append(opts, streamtest.Strict())
	}
	if o.DefaultType != "" {
		opts = append(opts, streamtest.DefaultType(o.DefaultType))
	}
	defer func() {
		if v := recover(); v != nil {
			fe, ok := v.(*streamtest.FatalError)
			if !ok {
				panic(v)
			}
			err = errors.New(strings.TrimPrefix(fe.Msg, "streamtest: parameters: "))
		}
	}()
	return streamtest.For(sess, opts...), nil
}

// ids returns the ids --on picks from c.
func ids(m *streamtest.Manager, on string) ([]string, error) {
	if on == "all" {
		ids := m.All().IDs()
		if len(ids) == 0 {
			return nil, errors.New("no streams defined: give a parameters file with -p, or pick ids with --on")
		}
		return ids, nil
	}
	picked, err := parseOn(on)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, id := range picked {
		members := []string{id}
		if name, ok := strings.CutPrefix(id, "@"); ok {
			if members, err = group(m, name); err != nil {
				return nil, fmt.Errorf("--on @%s: %v", name, err)
			}
		}
		for _, id := range members {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// group returns the ids of the named group, or why there is none.
func group(m *streamtest.Manager, name string) (ids []string, err error) {
	defer func() {
		if v := recover(); v != nil {
			fe, ok := v.(*streamtest.FatalError)
			if !ok {
				panic(v)
			}
			err = errors.New(strings.TrimPrefix(fe.Msg, fmt.Sprintf("streamtest: Group(%q): ", name)))
		}
	}()
	return m.Group(name).IDs(), nil
}

// parseOn parses "1,3-4,db,@etcd" into ids, in order, each once; a group
// stays "@etcd", for ids to expand.
func parseOn(on string) ([]string, error) {
	if on == "all" {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, part := range strings.Split(on, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("empty id in %q", on)
		}
		if name, ok := strings.CutPrefix(part, "@"); ok {
			if !groupName.MatchString(name) {
				return nil, fmt.Errorf("bad group %q: want @NAME, a name of letters, digits, '_', '.' and '-'", part)
			}
			add(part)
			continue
		}
		if a, b, ok := strings.Cut(part, "-"); ok {
			lo, err1 := strconv.Atoi(a)
			hi, err2 := strconv.Atoi(b)
			if err1 == nil && err2 == nil {
				if lo < 1 || hi < lo || hi-lo > 10000 {
					return nil, fmt.Errorf("bad range %q: want FIRST-LAST with 1 <= FIRST <= LAST", part)
				}
				for i := lo; i <= hi; i++ {
					add(strconv.Itoa(i))
				}
				continue
			}
		}
		add(part)
	}
	return out, nil
}

// Exec runs o.Command on the streams that o.On picks and returns the
// result of each, in the order of the ids. Output goes to stdout and
// stderr as it arrives, each line prefixed with "ID: ". Every stream is
// terminated when it returns; a failure to terminate one is its error,
// with the results.
func Exec(ctx context.Context, o *Options, stdout, stderr io.Writer) ([]Result, error) {
	sess := streamtest.NewSession("streamtest-exec")
	sess.SetLog(nil) // a parameter error is returned, not logged
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { // Ctrl-C: stop and terminate every stream
		defer close(closed)
		sess.Close()
	})
	closeSession := func() {
		if stop() {
			sess.Close()
		} else {
			<-closed
		}
	}
	m, err := manager(sess, o)
	if err != nil {
		closeSession()
		return nil, err
	}
	picked, err := ids(m, o.On) // an unknown group is returned, not logged
	if err != nil {
		closeSession()
		return nil, err
	}
	sess.SetLog(stderr)
	g := m.Pick(anys(picked)...)
	width := 0
	for _, id := range picked {
		width = max(width, len(id))
	}
	var outMu sync.Mutex
	writers := map[string][2]*prefixWriter{}
	for _, id := range picked {
		prefix := fmt.Sprintf("%-*s ", width+1, id+":")
		writers[id] = [2]*prefixWriter{
			{mu: &outMu, w: stdout, prefix: prefix},
			{mu: &outMu, w: stderr, prefix: prefix},
		}
	}
	opts := []streamtest.RunOption{
		streamtest.Wait(),
		streamtest.Tee(func(id string) (io.Writer, io.Writer) {
			w := writers[id]
			return w[0], w[1]
		}),
	}
	if o.Sync {
		opts = append(opts, streamtest.Synchronized())
		if o.SyncTimeout > 0 {
			opts = append(opts, streamtest.SyncTimeout(o.SyncTimeout))
		}
	}
	if o.Timeout > 0 {
		opts = append(opts, streamtest.Timeout(o.Timeout))
	}
	runErr := g.TryRun(code.Exec(o.Command...), opts...)
	results := make([]Result, len(picked))
	for i, s := range g.Streams() {
		w := writers[s.ID()]
		w[0].flush()
		w[1].flush()
		results[i] = Result{ID: s.ID(), Type: s.Type(), Outcome: s.Outcome()}
		if results[i].Started.IsZero() && runErr != nil {
			results[i].Err = runErr // it could not even be started
		}
	}
	closeSession()
	if errs := sess.Errors(); len(errs) > 0 {
		return results, errors.New(strings.Join(errs, "; "))
	}
	return results, nil
}

var groupName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func anys(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// prefixWriter writes whole lines, each with its prefix, under a lock
// shared by every stream's writers so that lines never mix.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return len(b), nil // the command's output is not the command's failure
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

// flush writes a last line without its newline.
func (p *prefixWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf)
		p.buf = nil
	}
}

// PrintSummary prints a table of the results, failures last.
func PrintSummary(w io.Writer, results []Result) {
	rs := append([]Result(nil), results...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].OK() && !rs[j].OK() })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSTREAM\tTYPE\tHOST\tDURATION\tRESULT")
	ok := 0
	for _, r := range rs {
		if r.OK() {
			ok++
		}
		host := r.Host
		if host == "" {
			host = "-"
		}
		typ := r.Type
		if typ == "" {
			typ = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, typ, host, roundDuration(r.Duration()), r.Status())
	}
	tw.Flush()
	fmt.Fprintf(w, "%d of %d streams succeeded\n", ok, len(rs))
}

// roundDuration rounds d for the summary without making a short, non-zero
// duration 0s.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}
