// Package html writes an execution as one self-contained HTML page
// (report.html): every style, script and picture is inline, so the file can
// be mailed, archived or opened from a CI artifact without a network.
//
// For every test that ran blocks, the page draws a timeline: one row per
// stream, one bar per block from the moment the test asked for it (Started)
// to its end, with the part where the program actually ran (from Began)
// drawn darker, failed blocks in red (class "fail"), and a vertical line
// where a synchronized group's gate opened (class "release"). Clicking a bar
// opens the block's standard output and error below the timeline.
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
	Timeline *timeline
}

type timeline struct {
	Span     time.Duration
	Ticks    []tick
	Rows     []row
	Releases []release
	Blocks   []blockData
}

type tick struct {
	X     float64
	Label string
}

type row struct {
	Label string
	Bars  []bar
}

type bar struct {
	ID       string
	X, W     float64 // percent of the timeline
	RunX     float64 // where Began is, percent of the bar; -1 when unknown
	Class    string
	Title    string
	Label    string
	Released bool
}

type release struct {
	X     float64
	Title string
}

type blockData struct {
	ID       string
	Class    string
	Describe string
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
			if len(t.Blocks) > 0 {
				td.Timeline = makeTimeline(td.ID, t.Blocks, cfg)
			}
			pd.Tests = append(pd.Tests, td)
		}
		d.Packages = append(d.Packages, pd)
	}
	return page.Execute(w, d)
}

func makeTimeline(id string, blocks []record.Block, cfg Config) *timeline {
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
	tl := &timeline{Span: span}
	for i := 0; i <= 4; i++ {
		tl.Ticks = append(tl.Ticks, tick{X: float64(i) * 25, Label: fmtDuration(span * time.Duration(i) / 4)})
	}
	rows := map[string]*row{}
	var order []string
	releases := map[string]bool{}
	for i, b := range blocks {
		bid := fmt.Sprintf("%s-b%d", id, i+1)
		label := b.Stream + " · " + b.Type
		if b.Host != "" {
			label += " · " + b.Host
		}
		r, ok := rows[label]
		if !ok {
			r = &row{Label: label}
			rows[label] = r
			order = append(order, label)
		}
		class := "pass"
		if !b.Success || b.Error != "" {
			class = "fail"
		}
		end := b.Ended
		if end.IsZero() {
			end = t1
		}
		br := bar{
			ID:       bid,
			X:        x(b.Started),
			W:        max(x(end)-x(b.Started), 0.4),
			RunX:     -1,
			Class:    class,
			Title:    junit.Describe(b),
			Label:    b.Kind + " " + b.Summary,
			Released: b.Released != nil,
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
			key := b.Group + "@" + b.Released.Format(time.RFC3339Nano)
			if !releases[key] {
				releases[key] = true
				tl.Releases = append(tl.Releases, release{
					X:     x(*b.Released),
					Title: fmt.Sprintf("synchronized group %s released at +%s", b.Group, fmtDuration(b.Released.Sub(t0))),
				})
			}
		}
		bd := blockData{ID: bid, Class: class, Describe: junit.Describe(b), Block: b}
		bd.Times = times(b, t0)
		if cfg.ReadFile != nil {
			bd.Stdout = readOutput(cfg, b.Stdout)
			bd.Stderr = readOutput(cfg, b.Stderr)
		}
		tl.Blocks = append(tl.Blocks, bd)
	}
	sort.SliceStable(order, func(i, j int) bool { return streamLess(rows[order[i]], rows[order[j]]) })
	for _, l := range order {
		tl.Rows = append(tl.Rows, *rows[l])
	}
	return tl
}

// streamLess orders rows by stream id, numbers first and in numeric order.
func streamLess(a, b *row) bool {
	ia, na := leadingNumber(a.Label)
	ib, nb := leadingNumber(b.Label)
	switch {
	case na && nb && ia != ib:
		return ia < ib
	case na != nb:
		return na
	}
	return a.Label < b.Label
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
