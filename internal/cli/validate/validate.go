// Package validate is `streamtest validate FILE...`: it checks parameters
// files as a test would read them and prints each problem as
// file:line:column: message, or "FILE: ok".
package validate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/streamtest/streamtest/internal/cli/base"
	"github.com/streamtest/streamtest/params"
)

const usage = "streamtest validate FILE..."

const help = `Validate checks parameters files: YAML syntax, where the streams are
defined, stream ids, types (every type linked into this program) and each
type's parameters. It prints every problem as file:line:column: message and
exits with status 1, or prints "FILE: ok" for each good file.`

// Options are the arguments of `streamtest validate`.
type Options struct {
	Files []string
}

// Validate checks the options.
func (o *Options) Validate() error {
	if len(o.Files) == 0 {
		return base.Usagef(usage, "no file to validate")
	}
	return nil
}

// Run runs `streamtest validate ARGS`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := base.NewFlagSet("validate", usage, help)
	files, err := fs.Parse(args, stdout)
	if errors.Is(err, base.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	o := &Options{Files: files}
	if err := o.Validate(); err != nil {
		return err
	}
	failed := 0
	for _, name := range o.Files {
		if err := check(name); err != nil {
			failed++
			for _, line := range base.ErrorLines(err) {
				fmt.Fprintln(stdout, line)
			}
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", name)
	}
	if failed > 0 {
		return &base.ExitError{Code: 1}
	}
	return nil
}

func check(name string) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	_, err = params.ParseFile(name, data)
	return err
}
