// Package junit writes an execution as JUnit XML in the shape gotestsum
// writes it: one testsuite per package, one testcase per test with the
// package as classname, failure and skipped elements with the test's output.
// The blocks a test ran on its streams become the testcase's properties
// (streamtest.block.N), next to the attributes the test set with t.Attr.
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/streamtest/streamtest/record"
	"github.com/streamtest/streamtest/report"
)

// Config holds what the execution does not say.
type Config struct {
	// Properties are added to every testsuite (for example go.version).
	Properties map[string]string
	// FormatTime formats a duration as seconds; nil is "%.3f".
	FormatTime func(time.Duration) string
	// Hostname is the testsuite's hostname attribute; "" omits it.
	Hostname string
}

type testSuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr,omitempty"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Suites   []testSuite `xml:"testsuite"`
}

type testSuite struct {
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Time       string      `xml:"time,attr"`
	Name       string      `xml:"name,attr"`
	Timestamp  string      `xml:"timestamp,attr,omitempty"`
	Hostname   string      `xml:"hostname,attr,omitempty"`
	Skipped    int         `xml:"skipped,attr,omitempty"`
	Properties *properties `xml:"properties,omitempty"`
	Cases      []testCase  `xml:"testcase"`
	SystemOut  string      `xml:"system-out,omitempty"`
}

type testCase struct {
	Classname  string      `xml:"classname,attr"`
	Name       string      `xml:"name,attr"`
	Time       string      `xml:"time,attr"`
	Properties *properties `xml:"properties,omitempty"`
	Skipped    *result     `xml:"skipped,omitempty"`
	Failure    *result     `xml:"failure,omitempty"`
}

type properties struct {
	List []property `xml:"property"`
}

func addProperty(p **properties, name, value string) {
	if *p == nil {
		*p = &properties{}
	}
	(*p).List = append((*p).List, property{name, value})
}

type property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type result struct {
	Message  string `xml:"message,attr"`
	Type     string `xml:"type,attr,omitempty"`
	Contents string `xml:",chardata"`
}

// Write writes e to w as JUnit XML.
func Write(w io.Writer, e *report.Execution, cfg Config) error {
	ft := cfg.FormatTime
	if ft == nil {
		ft = func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	}
	out := testSuites{Time: ft(e.Elapsed())}
	for _, p := range e.Packages {
		s := testSuite{
			Name:     p.Name,
			Time:     ft(p.Elapsed),
			Hostname: cfg.Hostname,
		}
		if !e.Started.IsZero() {
			s.Timestamp = e.Started.UTC().Format(time.RFC3339)
		}
		for _, k := range sortedKeys(cfg.Properties) {
			addProperty(&s.Properties, k, cfg.Properties[k])
		}
		if p.BuildOutput != "" || p.Result == report.Fail && !anyFailed(p) {
			// Like gotestsum: a package that failed outside any test (build
			// error, panic in TestMain, test binary killed) is a failed case
			// named after the reason.
			name, msg, text := "TestMain", "Failed", p.Output
			if p.BuildOutput != "" {
				name, msg, text = "[build failed]", "Failed", p.BuildOutput
			}
			s.Cases = append(s.Cases, testCase{
				Classname: p.Name, Name: name, Time: ft(0),
				Failure: &result{Message: msg, Contents: text},
			})
			s.Tests++
			s.Failures++
		}
		for _, t := range p.Tests {
			c := testCase{Classname: p.Name, Name: t.Name, Time: ft(t.Elapsed)}
			for _, a := range t.Attrs {
				addProperty(&c.Properties, a.Key, a.Value)
			}
			for i, b := range t.Blocks {
				addProperty(&c.Properties, fmt.Sprintf("streamtest.block.%d", i+1), Describe(b))
			}
			switch t.Result {
			case report.Fail:
				c.Failure = &result{Message: "Failed", Contents: t.Output}
				s.Failures++
			case report.Running:
				c.Failure = &result{Message: "Did not finish", Contents: t.Output}
				s.Failures++
			case report.Skip:
				c.Skipped = &result{Message: strings.TrimSpace(t.Skipped()), Contents: t.Output}
				s.Skipped++
			}
			s.Tests++
			s.Cases = append(s.Cases, c)
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "\t")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// Describe is a one-line description of a block for reports:
// "stream 1 (local, host h) #1 shell `echo hi`: exit 0 in 12ms". It holds
// the block's whole text when that is one line of at most 500 bytes, its
// summary otherwise; a block the test stopped reads "stopped by the test
// (REASON)", one that failed ends with "(failed)".
func Describe(b record.Block) string {
	where := b.Type
	if b.Host != "" {
		where += ", host " + b.Host
	}
	text := b.FullText()
	if strings.Contains(text, "\n") || len(text) > 500 {
		text = b.Summary
	}
	s := fmt.Sprintf("stream %s (%s) #%d %s `%s`: ", b.Stream, where, b.Seq, b.Kind, text)
	result := report.ResultOf(b)
	switch {
	case b.Error != "":
		s += "error: " + b.Error
	case result == report.BlockStopped:
		s += "stopped by the test (" + report.StopReason(b) + ")"
	case b.Stopped != "":
		s += report.StopReason(b)
		if b.Signal != "" {
			s += ", killed by " + b.Signal
		}
	case b.Signal != "":
		s += "killed by " + b.Signal
	default:
		s += fmt.Sprintf("exit %d", b.ExitStatus)
	}
	if !b.Ended.IsZero() && !b.Started.IsZero() {
		s += " in " + b.Ended.Sub(b.Started).Round(time.Millisecond).String()
	}
	if b.Group != "" {
		s += ", synchronized with " + b.Group
	}
	if result == report.BlockFailed && b.Error == "" {
		s += " (failed)"
	}
	return s
}

func anyFailed(p *report.Package) bool {
	for _, t := range p.Tests {
		if t.Result == report.Fail {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
