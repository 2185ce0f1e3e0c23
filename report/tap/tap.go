// Package tap writes an execution in the Test Anything Protocol, version 13:
// one test point per test (subtests included), the output of failed tests
// and the blocks each test ran as a YAML diagnostic block.
package tap

import (
	"fmt"
	"io"
	"strings"

	"github.com/streamtest/streamtest/report"
	"github.com/streamtest/streamtest/report/junit"
)

// Write writes e to w as TAP.
func Write(w io.Writer, e *report.Execution) error {
	var b strings.Builder
	b.WriteString("TAP version 13\n")
	n := 0
	for _, p := range e.Packages {
		n += len(p.Tests)
		if p.BuildOutput != "" {
			n++
		}
	}
	fmt.Fprintf(&b, "1..%d\n", n)
	i := 0
	for _, p := range e.Packages {
		if p.BuildOutput != "" {
			i++
			fmt.Fprintf(&b, "not ok %d - %s [build failed]\n", i, p.Name)
			yaml(&b, "output", p.BuildOutput, nil)
		}
		for _, t := range p.Tests {
			i++
			name := p.Name + " " + t.Name
			switch t.Result {
			case report.Pass:
				fmt.Fprintf(&b, "ok %d - %s # time=%s\n", i, name, t.Elapsed)
			case report.Skip:
				fmt.Fprintf(&b, "ok %d - %s # SKIP %s\n", i, name, oneLine(t.Skipped()))
			case report.Fail:
				fmt.Fprintf(&b, "not ok %d - %s # time=%s\n", i, name, t.Elapsed)
			default:
				fmt.Fprintf(&b, "not ok %d - %s # did not finish\n", i, name)
			}
			var blocks []string
			for _, bl := range t.Blocks {
				blocks = append(blocks, junit.Describe(bl))
			}
			if t.Result == report.Fail || t.Result == report.Running {
				yaml(&b, "output", t.Output, blocks)
			} else if len(blocks) > 0 {
				yaml(&b, "", "", blocks)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func yaml(b *strings.Builder, key, text string, blocks []string) {
	b.WriteString("  ---\n")
	if key != "" {
		fmt.Fprintf(b, "  %s: |\n", key)
		for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			fmt.Fprintf(b, "    %s\n", l)
		}
	}
	if len(blocks) > 0 {
		b.WriteString("  blocks:\n")
		for _, s := range blocks {
			fmt.Fprintf(b, "    - %q\n", s)
		}
	}
	b.WriteString("  ...\n")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
