// Package html writes an execution as one self-contained HTML page
// (report.html): every style, script and picture is inline, so the file can
// be mailed, archived or opened from a CI artifact without a network.
//
// A skipped test shows its reason (the message of its t.Skip) under its
// name. For every test that ran blocks, the page draws a timeline: one row
// per stream (its id, type and whole address), one bar per block from the
// moment the test asked for it (Started) to its end, with the part where the
// program actually ran (from Began) drawn darker. Bars are green for blocks
// that passed, red (class "fail") for blocks that failed, could not run or
// timed out, and grey-blue (class "stopped") for blocks the test stopped
// itself, with Terminate or by ending: that is not a failure. Hovering a bar
// shows its whole text; clicking it opens the block's text, why it was
// stopped, and its standard output and error below the timeline. Vertical
// lines mark where a synchronized group's gate opened (class "release", its
// members' bars marked "synced", the group's skew shaded and written beside
// the line) and where the test ended (class "end").
package html

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/streamtest/streamtest/record"
	"github.com/streamtest/streamtest/report"
	"github.com/streamtest/streamtest/report/junit"
)

// Config holds what the execution does not say.
type Config struct {
	// ReadFile reads a block's output file (Block.Stdout, Block.Stderr,
	// relative to the results directory). nil shows no outputs.
	ReadFile func(name string) ([]byte, error)
	// MaxOutput bounds each output shown; longer outputs keep their end.
	// 0 means 256 KiB.
	MaxOutput int
}

//go:embed report.html.tmpl
var pageText string

// maxTestOutput bounds a test's go test output in the page; results.json
// has all of it.
const maxTestOutput = 64 << 10

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"cut":  func(s string) string { return cut(s, maxTestOutput) },
	"dur":  fmtDuration,
	"time": func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	"pct":  func(f float64) string { return fmt.Sprintf("%.3f%%", f) },
	"join": strings.Join,
}).Parse(pageText))

type pageData struct {
	E         *report.Execution
	Unmatched []string // descriptions of the records of no reported test
	Counts    report.Counts
	Failed    bool
	Packages  []pkgData
}

type pkgData struct {
	*report.Package
	Tests []testData
}

type testData struct {
	*report.Test
	ID       string
	Streams  []string
	Skip     template.HTML // why it was skipped, `code` spans set as code; "" when it gave no reason
	Timeline *timeline
}

type timeline struct {
	Span   time.Duration
	Ticks  []tick
	Rows   []row
	Marks  []mark
	Blocks []blockData
	// What the legend needs to explain.
	Failed, Stopped, Synced, Ended bool
}

type tick struct {
	X     float64
	Label string
}

type row struct {
	Stream, Type, Host string
	Bars               []bar
}

// Title is the row's whole label, for hovering.
func (r row) Title() string {
	s := "stream " + r.Stream + " · " + r.Type
	if r.Host != "" {
		s += " · host " + r.Host
	}
	return s
}

type bar struct {
	ID     string
	X, W   float64 // percent of the timeline
	RunX   float64 // where Began is, percent of the bar; -1 when unknown
	Class  string  // pass, fail, stopped
	Title  string
	Label  string
	Synced bool
}

// mark is a labelled vertical line across the lanes: where a synchronized
// group's gate opened (with the group's skew as a band from the first to the
// last member's start), or where the test ended.
type mark struct {
	Class        string // release, end
	X            float64
	Label, Title string
	Right        bool    // the label sits left of the line (near the right edge)
	BandX, BandW float64 // the skew band; BandW < 0 when there is none
}

type blockData struct {
	ID       string
	Class    string
	Describe string
	Why      string // why the block was stopped, and how its program ended
	Text     string // the block's whole text
	Block    record.Block
	Stdout   string
	Stderr   string
	Times    string
}

// Write writes e to w as an HTML page.
func Write(w io.Writer, e *report.Execution, cfg Config) error {
	if cfg.MaxOutput == 0 {
		cfg.MaxOutput = 256 << 10
	}
	d := pageData{E: e, Counts: e.Counts(), Failed: e.Failed()}
	for _, b := range e.Unmatched {
		d.Unmatched = append(d.Unmatched, b.Test+" ("+b.Dir+"): "+junit.Describe(b))
	}
	n := 0
	for _, p := range e.Packages {
		pd := pkgData{Package: p}
		for _, t := range p.Tests {
			n++
			td := testData{Test: t, ID: fmt.Sprintf("t%d", n), Streams: t.Streams()}
			if t.Result == report.Skip {
				td.Skip = codeSpans(t.Skipped())
			}
			if len(t.Blocks) > 0 {
				td.Timeline = makeTimeline(td.ID, t, cfg)
			}
			pd.Tests = append(pd.Tests, td)
		}
		d.Packages = append(d.Packages, pd)
	}
	return page.Execute(w, d)
}

// codeSpans escapes s and sets the parts between backquotes as code, the
// way the messages of testenv.Need quote commands.
func codeSpans(s string) template.HTML {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 { // an odd number of backquotes: no spans
		parts = []string{s}
	}
	var b strings.Builder
	for i, p := range parts {
		p = strings.ReplaceAll(template.HTMLEscapeString(p), "\n", "<br>")
		if i%2 == 1 {
			p = "<code>" + p + "</code>"
		}
		b.WriteString(p)
	}
	return template.HTML(b.String())
}

func makeTimeline(id string, t *report.Test, cfg Config) *timeline {
	blocks := t.Blocks
	var t0, t1 time.Time
	see := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if t0.IsZero() || t.Before(t0) {
			t0 = t
		}
		if t1.IsZero() || t.After(t1) {
			t1 = t
		}
	}
	for _, b := range blocks {
		see(b.Started)
		see(b.Began)
		see(b.Ended)
		if b.Released != nil {
			see(*b.Released)
		}
	}
	// The test's end: when the library stopped the blocks still running as
	// the test ended, else when go test reported its end (after its
	// cleanups, which may take long: removing containers).
	var end time.Time
	for _, b := range blocks {
		if b.Stopped == record.StopTestEnded && !b.StopAsked.IsZero() && (end.IsZero() || b.StopAsked.Before(end)) {
			end = b.StopAsked
		}
	}
	stoppedAtEnd := !end.IsZero()
	if !stoppedAtEnd {
		end = t.Ended
	}
	ended := !end.IsZero() && !t0.IsZero() && end.After(t0)
	if ended {
		see(end)
	}
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Millisecond
	}
	x := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.Sub(t0)) / float64(span) * 100
	}
	rel := func(t time.Time) string { return "+" + fmtDuration(t.Sub(t0)) }
	tl := &timeline{Span: span}
	for i := 0; i <= 4; i++ {
		tl.Ticks = append(tl.Ticks, tick{X: float64(i) * 25, Label: fmtDuration(span * time.Duration(i) / 4)})
	}
	rows := map[[3]string]*row{}
	var order [][3]string
	releases := map[string]bool{} // by group and release time
	for i, b := range blocks {
		bid := fmt.Sprintf("%s-b%d", id, i+1)
		key := [3]string{b.Stream, b.Type, b.Host}
		r, ok := rows[key]
		if !ok {
			r = &row{Stream: b.Stream, Type: b.Type, Host: b.Host}
			rows[key] = r
			order = append(order, key)
		}
		class := "pass"
		switch report.ResultOf(b) {
		case report.BlockFailed:
			class, tl.Failed = "fail", true
		case report.BlockStopped:
			class, tl.Stopped = "stopped", true
		}
		end := b.Ended
		if end.IsZero() {
			end = t1
		}
		why := stopped(b)
		br := bar{
			ID:     bid,
			X:      x(b.Started),
			W:      max(x(end)-x(b.Started), 0.4),
			RunX:   -1,
			Class:  class,
			Title:  title(b),
			Label:  b.Kind + " " + b.Summary,
			Synced: b.Released != nil,
		}
		start := b.Began
		if b.Released != nil && (start.IsZero() || b.Released.After(start)) {
			start = *b.Released
		}
		switch {
		case !start.IsZero() && end.After(b.Started):
			br.RunX = float64(start.Sub(b.Started)) / float64(end.Sub(b.Started)) * 100
		case start.IsZero() && b.Error == "":
			br.RunX = 0 // it ran, but when it began is not known
		}
		r.Bars = append(r.Bars, br)
		if b.Released != nil {
			tl.Synced = true
			key := b.Group + "@" + b.Released.Format(time.RFC3339Nano)
			if !releases[key] {
				releases[key] = true
				tl.Marks = append(tl.Marks, releaseMark(blocks, b.Group, *b.Released, x, rel))
			}
		}
		bd := blockData{ID: bid, Class: class, Describe: junit.Describe(b), Why: why, Text: cutText(b.FullText(), cfg.MaxOutput), Block: b}
		bd.Times = times(b, t0)
		if cfg.ReadFile != nil {
			bd.Stdout = readOutput(cfg, b.Stdout)
			bd.Stderr = readOutput(cfg, b.Stderr)
		}
		tl.Blocks = append(tl.Blocks, bd)
	}
	if ended {
		tl.Ended = true
		m := mark{Class: "end", X: x(end), Label: "test ended", BandW: -1,
			Title: fmt.Sprintf("the test ended at %s (go test reported %s, its cleanups done)", rel(end), t.Result)}
		if stoppedAtEnd {
			m.Title = fmt.Sprintf("the test ended at %s: the library stopped the blocks still running", rel(end))
			if !t.Ended.IsZero() {
				m.Title += fmt.Sprintf("; go test reported %s at %s, its cleanups done", t.Result, rel(t.Ended))
			}
		}
		tl.Marks = append(tl.Marks, m)
	}
	for i := range tl.Marks {
		tl.Marks[i].Right = tl.Marks[i].X > 60
	}
	sort.SliceStable(order, func(i, j int) bool { return streamLess(rows[order[i]].Stream, rows[order[j]].Stream) })
	for _, k := range order {
		tl.Rows = append(tl.Rows, *rows[k])
	}
	return tl
}

// releaseMark is the mark of the release of group at released, with the
// group's skew: the spread of its members' starts (when each program began
// to run), as Group.Skew measures it.
func releaseMark(blocks []record.Block, group string, released time.Time, x func(time.Time) float64, rel func(time.Time) string) mark {
	var first, last time.Time
	n := 0
	for _, b := range blocks {
		if b.Group != group || b.Released == nil || !b.Released.Equal(released) || b.Began.IsZero() {
			continue
		}
		n++
		if first.IsZero() || b.Began.Before(first) {
			first = b.Began
		}
		if b.Began.After(last) {
			last = b.Began
		}
	}
	m := mark{Class: "release", X: x(released), Label: "sync " + group, BandW: -1,
		Title: fmt.Sprintf("synchronized group %s released at %s", group, rel(released))}
	if n >= 2 {
		skew := last.Sub(first)
		m.Label += " · skew " + fmtDuration(skew)
		m.Title += fmt.Sprintf("; its %d programs began within %s (the skew), from %s to %s", n, fmtDuration(skew), rel(first), rel(last))
		m.BandX, m.BandW = x(first), x(last)-x(first)
	}
	return m
}

// stopped says why the library stopped b and how its program ended, "" if
// it was not stopped.
func stopped(b record.Block) string {
	if b.Stopped == "" {
		return ""
	}
	s := report.StopReason(b)
	if b.Signal != "" {
		s += "; the program ended on signal " + b.Signal
	} else if b.ExitStatus >= 0 {
		s += fmt.Sprintf("; the program exited with status %d", b.ExitStatus)
	}
	return s
}

// maxTitle bounds the block text a bar's hover shows; the details below the
// timeline show all of it.
const maxTitle = 4000

// title is what hovering a bar shows: the block's description, and the
// block's whole text when the description holds only its summary.
func title(b record.Block) string {
	s := junit.Describe(b)
	if text := b.FullText(); !strings.Contains(s, "`"+text+"`") {
		if len(text) > maxTitle {
			text = strings.ToValidUTF8(text[:maxTitle], "") + "\n[... cut: the details below hold all of it]"
		}
		s += "\n\n" + strings.TrimRight(text, "\n")
	}
	return s
}

// cutText keeps the first max bytes of a block's text.
func cutText(s string, max int) string {
	if len(s) > max {
		s = s[:max] + fmt.Sprintf("\n[... %d bytes cut ...]", len(s)-max)
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// streamLess orders stream ids, numbers first and in numeric order.
func streamLess(a, b string) bool {
	ia, na := leadingNumber(a)
	ib, nb := leadingNumber(b)
	switch {
	case na && nb && ia != ib:
		return ia < ib
	case na != nb:
		return na
	}
	return a < b
}

func leadingNumber(s string) (int, bool) {
	n, ok := 0, false
	for _, r := range s {
		if r < '0' || r > '9' {
			break
		}
		n, ok = n*10+int(r-'0'), true
	}
	return n, ok
}

func times(b record.Block, t0 time.Time) string {
	rel := func(t time.Time) string { return "+" + fmtDuration(t.Sub(t0)) }
	parts := []string{"started " + rel(b.Started)}
	if !b.Began.IsZero() {
		parts = append(parts, "began "+rel(b.Began))
	}
	if b.Released != nil {
		parts = append(parts, "released "+rel(*b.Released))
	}
	if !b.StopAsked.IsZero() {
		parts = append(parts, "asked to stop "+rel(b.StopAsked))
	}
	if !b.Ended.IsZero() {
		parts = append(parts, "ended "+rel(b.Ended))
	}
	return strings.Join(parts, ", ")
}

func readOutput(cfg Config, name string) string {
	if name == "" {
		return ""
	}
	data, err := cfg.ReadFile(name)
	if err != nil {
		return fmt.Sprintf("[cannot read %s: %v]", name, err)
	}
	return cut(string(data), cfg.MaxOutput)
}

// cut keeps the last max bytes of s, saying how much it left out.
func cut(s string, max int) string {
	if len(s) > max {
		n := len(s) - max
		s = fmt.Sprintf("[... %d bytes cut ...]\n", n) + s[n:]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func fmtDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
