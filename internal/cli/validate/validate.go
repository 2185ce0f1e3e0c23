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

const usage = "streamtest validate [--inventory FILE]... [FILE...]"

const help = `Validate checks parameters files: YAML syntax, where the streams are
defined, stream ids, types (every type linked into this program) and each
type's parameters. With --inventory it checks Ansible inventories (INI or
YAML) the same way: every host as the remote stream it becomes, its
variables as that stream's parameters. It prints every problem as
file:line:column: message and exits with status 1, or prints "FILE: ok" for
each good file.`

// Options are the arguments of `streamtest validate`.
type Options struct {
	Files       []string
	Inventories []string // --inventory FILE (repeatable)
}

// Validate checks the options.
func (o *Options) Validate() error {
	if len(o.Files) == 0 && len(o.Inventories) == 0 {
		return base.Usagef(usage, "no file to validate")
	}
	return nil
}

// Run runs `streamtest validate ARGS`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := base.NewFlagSet("validate", usage, help)
	var inventories base.Strings
	fs.Var(&inventories, "inventory", "Ansible inventory `FILE`, INI or YAML, to check (repeatable)")
	files, err := fs.Parse(args, stdout)
	if errors.Is(err, base.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	o := &Options{Files: files, Inventories: inventories}
	if err := o.Validate(); err != nil {
		return err
	}
	failed := 0
	for i, name := range append(append([]string(nil), o.Files...), o.Inventories...) {
		parse := params.ParseFile
		if i >= len(o.Files) {
			parse = inventory
		}
		if err := check(name, parse); err != nil {
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

func check(name string, parse func(string, []byte) (*params.File, error)) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	_, err = parse(name, data)
	return err
}

func inventory(name string, data []byte) (*params.File, error) {
	return params.ParseInventory(name, data)
}
