// Package exec is `streamtest exec`: it runs one command on several streams
// at once, like pdsh, prefixing every output line with its stream's id, and
// ends with a summary of the exit statuses.
//
// It uses the implementer's API directly (stream.Lookup, Setup, Start,
// Wait, Close) on the streams the parameters files define. Every stream is
// closed before the command returns, on Ctrl-C too: what the command
// started on a stream is stopped and the stream's work directory removed.
package exec

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/streamtest/streamtest/internal/cli/base"
	"github.com/streamtest/streamtest/params"
	"github.com/streamtest/streamtest/stream"
)

const usage = "streamtest exec [-p FILE]... [--on 1,3-4|all] [--sync] [--timeout D] -- CMD [ARGS]"

const help = `Exec runs CMD with ARGS on streams at once, each output line prefixed with
its stream's id ("1: ..."), and prints a summary of the exit statuses. It
exits with status 1 when the command failed or could not run on a stream.

The streams are those the parameters files define (-p, STREAMTEST_PARAMS,
the user and system files; see streamtest config); --on picks some of them
by id, with inclusive numeric ranges ("1,3-4,db"). A picked id that the files
do not define gets the default type, unless --strict.`

// Options are the flags and arguments of `streamtest exec`.
type Options struct {
	Params      []string      // -p, --params FILE (repeatable)
	Strict      *bool         // --strict
	DefaultType string        // --default-type TYPE
	On          string        // --on: "all" or ids and ranges, "1,3-4,db"
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
	var files base.Strings
	var strict bool
	fs.Var(&files, "p", "parameters `FILE` (repeatable)")
	fs.Var(&files, "params", "parameters `FILE` (repeatable), like -p")
	fs.BoolVar(&strict, "strict", false, "ids the parameters do not define are errors")
	fs.StringVar(&o.DefaultType, "default-type", "", "stream `TYPE` of ids the parameters do not define")
	fs.StringVar(&o.On, "on", o.On, "streams to run on: `all` or ids and inclusive ranges, 1,3-4,db")
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
	c, err := params.Load(params.Options{Files: o.Params, Strict: o.Strict, DefaultType: o.DefaultType})
	if err != nil {
		return err
	}
	results, err := Exec(ctx, c, o, stdout, stderr)
	if err != nil {
		return err
	}
	PrintSummary(stdout, results)
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

// Result is how the command ended on one stream.
type Result struct {
	ID, Type, Host string
	Exit           stream.Exit
	Err            error // could not run, or the outcome is unknown
	Duration       time.Duration
	TimedOut       bool
}

// OK reports whether the command ran and exited with status 0.
func (r Result) OK() bool { return r.Err == nil && r.Exit.Success() && !r.TimedOut }

// Status describes the outcome: "exit 0", "killed by TERM", "error: ...".
func (r Result) Status() string {
	switch {
	case r.Err != nil:
		return "error: " + r.Err.Error()
	case r.TimedOut && r.Exit.Signal != 0:
		return "timed out, " + r.Exit.String()
	case r.TimedOut:
		return fmt.Sprintf("timed out, exit %d", r.Exit.Code)
	case r.Exit.Signal != 0:
		return r.Exit.String()
	}
	return fmt.Sprintf("exit %d", r.Exit.Code)
}

// ids returns the ids --on picks from c.
func ids(c *params.Config, on string) ([]string, error) {
	if on == "all" {
		if len(c.Order) == 0 {
			return nil, errors.New("no streams defined: give a parameters file with -p, or pick ids with --on")
		}
		return append([]string(nil), c.Order...), nil
	}
	return parseOn(on)
}

// parseOn parses "1,3-4,db" into ids, in order, each once.
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

// member is one stream of the run.
type member struct {
	begin time.Time
	res   Result
	env   stream.Environment
	proc  stream.Process
	out   *prefixWriter
	errw  *prefixWriter
}

// Exec runs o.Command on the streams of c that o.On picks and returns the
// result of each, in the order of the ids. Output goes to stdout and stderr,
// each line prefixed with "ID: ". Every stream is closed when it returns.
func Exec(ctx context.Context, c *params.Config, o *Options, stdout, stderr io.Writer) ([]Result, error) {
	picked, err := ids(c, o.On)
	if err != nil {
		return nil, err
	}
	width := 0
	for _, id := range picked {
		width = max(width, len(id))
	}
	var outMu sync.Mutex
	ms := make([]*member, len(picked))
	for i, id := range picked {
		prefix := fmt.Sprintf("%-*s ", width+1, id+":")
		ms[i] = &member{
			res:  Result{ID: id},
			out:  &prefixWriter{mu: &outMu, w: stdout, prefix: prefix},
			errw: &prefixWriter{mu: &outMu, w: stderr, prefix: prefix},
		}
	}
	defer func() {
		var wg sync.WaitGroup
		for _, m := range ms {
			if m.env != nil {
				wg.Go(func() {
					if err := m.env.Close(); err != nil && m.res.Err == nil {
						m.res.Err = fmt.Errorf("close: %w", err)
					}
				})
			}
		}
		wg.Wait()
	}()

	// Get every stream ready (and, with --sync, parked at its gate).
	readyCtx := ctx
	if o.Sync && o.SyncTimeout > 0 {
		var cancel context.CancelFunc
		readyCtx, cancel = context.WithTimeout(ctx, o.SyncTimeout)
		defer cancel()
	}
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() { m.start(readyCtx, c, o) })
	}
	wg.Wait()
	if o.Sync {
		var missing []string
		for _, m := range ms {
			if m.proc == nil {
				missing = append(missing, m.res.ID)
			}
		}
		if len(missing) > 0 {
			// A synchronized start is all or nothing.
			for _, m := range ms {
				if m.proc != nil {
					stream.Stop(m.proc, 0)
					m.proc = nil
					m.res.Err = fmt.Errorf("not started: streams %s did not get ready", strings.Join(missing, ","))
				}
			}
		} else {
			for _, m := range ms {
				if err := m.proc.Release(); err != nil {
					m.res.Err = fmt.Errorf("release: %w", err)
				}
			}
		}
	}

	// Wait for every command, stopping them on timeout or Ctrl-C.
	waitCtx := ctx
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	for _, m := range ms {
		if m.proc == nil {
			continue
		}
		wg.Go(func() {
			done := make(chan struct{})
			go func() {
				defer close(done)
				exit, err := m.proc.Wait()
				m.res.Exit = exit
				if err != nil && m.res.Err == nil {
					m.res.Err = err
				}
			}()
			select {
			case <-done:
			case <-waitCtx.Done():
				m.res.TimedOut = ctx.Err() == nil
				stream.Stop(m.proc, o.Grace)
				<-done
			}
			m.res.Duration = time.Since(m.begin)
		})
	}
	wg.Wait()
	out := make([]Result, len(ms))
	for i, m := range ms {
		m.out.flush()
		m.errw.flush()
		out[i] = m.res
	}
	return out, nil
}

// start creates, sets up and starts the stream; on failure it records the
// error in m.res.
func (m *member) start(ctx context.Context, c *params.Config, o *Options) {
	m.begin = time.Now()
	def, err := c.Resolve(m.res.ID)
	if err != nil {
		m.res.Err = err
		return
	}
	m.res.Type = def.Type
	reg, ok := stream.Lookup(def.Type)
	if !ok {
		m.res.Err = &stream.UnknownTypeError{Name: def.Type}
		return
	}
	m.res.Type = reg.Name
	values := def.Values
	if values == nil {
		values = stream.Values{}
	}
	env, err := reg.New(stream.Config{
		ID:     m.res.ID,
		Type:   reg.Name,
		Params: values,
		Dir:    def.Dir,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(m.errw, "[streamtest] "+format+"\n", args...)
		},
	})
	if err != nil {
		m.res.Err = &stream.Error{ID: m.res.ID, Type: reg.Name, Op: "configure", Err: err}
		return
	}
	m.env = env
	if err := env.Setup(ctx); err != nil {
		m.res.Err = &stream.Error{ID: m.res.ID, Type: reg.Name, Host: env.Host(), Op: "set up", Err: err}
		return
	}
	m.res.Host = env.Host()
	proc, err := env.Start(ctx, &stream.Command{
		Args:   o.Command,
		Stdout: m.out,
		Stderr: m.errw,
		Gated:  o.Sync,
	})
	if err != nil {
		m.res.Err = &stream.Error{ID: m.res.ID, Type: reg.Name, Host: m.res.Host, Op: "start", Err: err}
		return
	}
	m.proc = proc
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Type, host, r.Duration.Round(time.Millisecond), r.Status())
	}
	tw.Flush()
	fmt.Fprintf(w, "%d of %d streams succeeded\n", ok, len(rs))
}
