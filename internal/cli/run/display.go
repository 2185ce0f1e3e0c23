package run

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/streamtest/streamtest/report"
)

// display shows the run's progress. On a terminal it keeps a status line at
// the bottom (counts and the tests in progress) and prints finished
// packages, failures and skips (with their reason) above it; elsewhere it
// prints one plain line per finished test and package.
type display struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	status  bool // a status line is shown
	running map[[2]string]time.Time
	counts  report.Counts
	start   time.Time
	tick    *time.Ticker
	quit    chan struct{}
	once    sync.Once
	short   func(string) string // shortens package names
}

func newDisplay(w io.Writer, tty bool, short func(string) string) *display {
	d := &display{w: w, tty: tty, running: map[[2]string]time.Time{}, start: now(), quit: make(chan struct{}), short: short}
	if tty {
		d.tick = time.NewTicker(250 * time.Millisecond)
		go func() {
			for {
				select {
				case <-d.quit:
					return
				case <-d.tick.C:
					d.mu.Lock()
					d.drawStatus()
					d.mu.Unlock()
				}
			}
		}()
	}
	return d
}

// stop ends the live display and clears the status line.
func (d *display) stop() {
	d.once.Do(func() {
		if d.tick != nil {
			d.tick.Stop()
			close(d.quit)
		}
		d.mu.Lock()
		d.clearStatus()
		d.mu.Unlock()
	})
}

func (d *display) clearStatus() {
	if d.status {
		fmt.Fprint(d.w, "\r\x1b[K")
		d.status = false
	}
}

func (d *display) drawStatus() {
	if !d.tty {
		return
	}
	select {
	case <-d.quit:
		return
	default:
	}
	width := 100
	if f, ok := d.w.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			width = w
		}
	}
	c := d.counts
	s := fmt.Sprintf("%s  %d passed, %d failed, %d skipped, %d running", fmtDur(now().Sub(d.start)), c.Passed, c.Failed, c.Skipped, len(d.running))
	if c.Passed+c.Failed+c.Skipped == 0 && len(d.running) == 0 {
		s += " (building)"
	}
	type run struct {
		name  string
		since time.Time
	}
	var runs []run
	for k, t := range d.running {
		runs = append(runs, run{k[1], t})
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].since.Before(runs[j].since) })
	for i, r := range runs {
		sep := ": "
		if i > 0 {
			sep = ", "
		}
		s += sep + r.name + " (" + fmtDur(now().Sub(r.since)) + ")"
	}
	if r := []rune(s); len(r) > width-1 {
		s = string(r[:width-2]) + "…"
	}
	fmt.Fprint(d.w, "\r\x1b[K"+s)
	d.status = true
}

// printf prints above the status line.
func (d *display) printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clearStatus()
	fmt.Fprintf(d.w, format, args...)
	d.drawStatus()
}

// line prints a line as it is.
func (d *display) line(s string) { d.printf("%s\n", s) }

// note prints a message of the command itself.
func (d *display) note(s string) { d.printf("streamtest run: %s\n", s) }

// writer returns a writer to w that keeps the status line intact, for go
// test's standard error.
func (d *display) writer(w io.Writer) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.tty {
			d.clearStatus()
		}
		n, err := w.Write(p)
		d.drawStatus()
		return n, err
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// event updates the display for one event; b holds the state so far.
func (d *display) event(ev report.Event, b *report.Builder) {
	switch {
	case ev.Action == "build-output":
		d.printf("%s", ev.Output)
		return
	case ev.Package == "":
		return
	case ev.Test != "":
		k := [2]string{ev.Package, ev.Test}
		switch ev.Action {
		case "run":
			d.mu.Lock()
			d.running[k] = now()
			d.mu.Unlock()
		case "pause":
			d.mu.Lock()
			delete(d.running, k)
			d.mu.Unlock()
		case "cont":
			d.mu.Lock()
			d.running[k] = now()
			d.mu.Unlock()
		case "pass", "fail", "skip":
			d.mu.Lock()
			delete(d.running, k)
			switch ev.Action {
			case "pass":
				d.counts.Passed++
			case "fail":
				d.counts.Failed++
			case "skip":
				d.counts.Skipped++
			}
			d.mu.Unlock()
			t := b.Test(ev.Package, ev.Test)
			dur := fmtDur(t.Elapsed)
			switch {
			case ev.Action == "fail":
				d.printf("FAIL %s %s (%s)\n%s", d.short(ev.Package), ev.Test, dur, indent(t.Output))
			case !d.tty && ev.Action == "pass":
				d.printf("PASS %s %s (%s)\n", d.short(ev.Package), ev.Test, dur)
			case ev.Action == "skip":
				d.printf("SKIP %s %s (%s)%s\n", d.short(ev.Package), ev.Test, dur, skipReason(t, ": "))
			}
		}
	default:
		p := b.Package(ev.Package)
		switch ev.Action {
		case "pass":
			d.printf("ok   %s %s\n", d.short(ev.Package), fmtDur(p.Elapsed))
		case "skip":
			d.printf("?    %s [no test files]\n", d.short(ev.Package))
		case "fail":
			switch {
			case ev.FailedBuild != "":
				d.printf("FAIL %s [build failed]\n", d.short(ev.Package))
			case !anyTestFailed(p):
				d.printf("FAIL %s %s\n%s", d.short(ev.Package), fmtDur(p.Elapsed), indent(p.Output))
			default:
				d.printf("FAIL %s %s\n", d.short(ev.Package), fmtDur(p.Elapsed))
			}
		}
	}
}

// skipReason is the reason a skipped test gave, on one line, after sep; ""
// when it gave none.
func skipReason(t *report.Test, sep string) string {
	if t.Result != report.Skip {
		return ""
	}
	r := strings.Join(strings.Fields(t.Skipped()), " ")
	if r == "" {
		return ""
	}
	return sep + r
}

func anyTestFailed(p *report.Package) bool {
	for _, t := range p.Tests {
		if t.Result == report.Fail {
			return true
		}
	}
	return false
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// printSummary prints the table of tests, the errors of go test, the counts
// and where the reports are.
func printSummary(w io.Writer, e *report.Execution, dir string, short func(string) string) {
	fmt.Fprintln(w)
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACKAGE\tTEST\tRESULT\tDURATION\tSTREAMS / SKIP REASON")
	rows := 0
	for _, p := range e.Packages {
		if p.BuildOutput != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", short(p.Name), "-", "build failed", "-", "")
			rows++
		} else if len(p.Tests) == 0 && p.Result == report.Fail {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", short(p.Name), "-", "FAIL", fmtDur(p.Elapsed), "")
			rows++
		}
		for _, t := range p.Tests {
			// Subtests only when they failed, skipped or used streams: the
			// table is for reading, the reports hold everything.
			if strings.Contains(t.Name, "/") && t.Result != report.Fail && t.Result != report.Skip && len(t.Blocks) == 0 {
				continue
			}
			res := strings.ToUpper(string(t.Result))
			if t.Result == report.Running {
				res = "DID NOT FINISH"
			}
			last := strings.Join(t.Streams(), ", ")
			switch {
			case last == "" && t.Result == report.Skip:
				last = skipReason(t, "")
				if last == "" {
					last = "(no reason given)"
				}
			case last != "":
				last += skipReason(t, "; skipped: ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", short(p.Name), t.Name, res, fmtDur(t.Elapsed), last)
			rows++
		}
	}
	if rows > 0 {
		tw.Flush()
		for _, l := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
			fmt.Fprintln(w, strings.TrimRight(l, " ")) // no padding after an empty last cell
		}
		fmt.Fprintln(w)
	}
	if len(e.Errors) > 0 {
		fmt.Fprintln(w, "go test errors:")
		for _, s := range e.Errors {
			fmt.Fprint(w, indent(s))
		}
		fmt.Fprintln(w)
	}
	c := e.Counts()
	verdict := "DONE"
	if e.Interrupted {
		verdict = "INTERRUPTED"
	}
	fmt.Fprintf(w, "%s %d tests", verdict, c.Total)
	if c.Failed > 0 {
		fmt.Fprintf(w, ", %d failed", c.Failed)
	}
	if c.Skipped > 0 {
		fmt.Fprintf(w, ", %d skipped", c.Skipped)
	}
	if c.Running > 0 {
		fmt.Fprintf(w, ", %d did not finish", c.Running)
	}
	if c.BuildFailed > 0 {
		fmt.Fprintf(w, ", %d build %s", c.BuildFailed, plural(c.BuildFailed, "failure", "failures"))
	}
	fmt.Fprintf(w, " in %s\n", fmtDur(e.Elapsed()))
	fmt.Fprintf(w, "reports: %s/ (report.html, junit.xml, results.tap, results.json)\n", dir)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
