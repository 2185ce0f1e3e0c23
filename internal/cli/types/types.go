// Package types is `streamtest types`: it lists the stream types linked
// into the program (with their aliases and parameters) and the block kinds.
package types

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/internal/cli/base"
	"github.com/streamtest/streamtest/stream"
)

const usage = "streamtest types"

const help = `Types lists the stream types this program knows, with their aliases and
parameters (name, kind, default, what it does), and the block kinds a test
can run on a stream.`

// BlockKind is a kind of block with a line of documentation.
type BlockKind struct {
	Name string
	Doc  string
}

// BlockKinds are the block kinds of package code, named by their Kind.
func BlockKinds() []BlockKind {
	var out []BlockKind
	for _, k := range code.Kinds() {
		out = append(out, BlockKind{k.Name, k.Call + ": " + k.Doc})
	}
	return out
}

// Run runs `streamtest types ARGS`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := base.NewFlagSet("types", usage, help)
	rest, err := fs.Parse(args, stdout)
	if errors.Is(err, base.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return base.Usagef(usage, "unexpected argument %q", rest[0])
	}
	return Write(stdout, stream.Types(), BlockKinds())
}

// Write prints the stream types and block kinds.
func Write(w io.Writer, types []stream.Registered, kinds []BlockKind) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "Stream types:")
	if len(types) == 0 {
		fmt.Fprintln(tw, "  (none linked into this program)")
	}
	for _, t := range types {
		name := t.Name
		if len(t.Aliases) > 0 {
			name += " (alias " + strings.Join(t.Aliases, ", ") + ")"
		}
		fmt.Fprintf(tw, "\n  %s: %s\n", name, t.Doc)
		if len(t.Params) == 0 {
			fmt.Fprintln(tw, "    no parameters")
			continue
		}
		fmt.Fprintln(tw, "    PARAMETER\tKIND\tDEFAULT\tDESCRIPTION")
		for _, p := range t.Params {
			def := p.Default
			if def == "" {
				def = "-"
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", p.Name, p.Kind, def, p.Doc)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nBlock kinds:")
	for _, k := range kinds {
		fmt.Fprintf(tw, "  %s\t%s\n", k.Name, k.Doc)
	}
	return tw.Flush()
}
