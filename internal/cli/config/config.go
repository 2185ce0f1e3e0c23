// Package config is `streamtest config`: it shows the effective settings
// (default type, strict mode), the parameters files read and the streams
// they define, and where each came from: the system file, the user file,
// the environment or a flag.
package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/streamtest/streamtest/internal/cli/base"
	"github.com/streamtest/streamtest/params"
	"github.com/streamtest/streamtest/stream"
)

const usage = "streamtest config [-p FILE]... [--inventory FILE]... [--strict] [--default-type TYPE]"

const help = `Config shows the settings a test would use: the default stream type, strict
mode and the parameters files, read from (lowest precedence first) the
system file /etc/streamtest/config.yaml, the user file
~/.config/streamtest/config.yaml, the environment (STREAMTEST_PARAMS,
STREAMTEST_INVENTORY, STREAMTEST_STRICT, STREAMTEST_DEFAULT_TYPE) and the
flags; then every stream the files and Ansible inventories define, with its
type, where it is defined and its parameters (secrets hidden), and the
named groups with their streams.`

// Options are the flags of `streamtest config`.
type Options struct {
	Params      []string // -p, --params FILE
	Inventories []string // --inventory FILE
	Strict      *bool    // --strict
	DefaultType string   // --default-type TYPE
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.DefaultType != "" && strings.TrimSpace(o.DefaultType) == "" {
		return base.Usagef(usage, "--default-type: empty type")
	}
	return nil
}

// Package variables that tests replace.
var (
	getenv     = os.Getenv
	systemFile = params.SystemFile
	userFile   = "" // "" is the params default
)

// Run runs `streamtest config ARGS`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := &Options{}
	fs := base.NewFlagSet("config", usage, help)
	var files, inventories base.Strings
	var strict bool
	fs.Var(&files, "p", "parameters `FILE` (repeatable)")
	fs.Var(&files, "params", "parameters `FILE` (repeatable), like -p")
	fs.Var(&inventories, "inventory", "Ansible inventory `FILE`, INI or YAML (repeatable)")
	fs.BoolVar(&strict, "strict", false, "strict mode, as the flag of streamtest run")
	fs.StringVar(&o.DefaultType, "default-type", "", "default stream `TYPE`, as the flag of streamtest run")
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
	o.Params = files
	o.Inventories = inventories
	fs.FlagSet.Visit(func(f *flag.Flag) {
		if f.Name == "strict" {
			o.Strict = &strict
		}
	})
	if err := o.Validate(); err != nil {
		return err
	}
	c, err := params.Load(params.Options{
		SystemFile:  systemFile,
		UserFile:    userFile,
		Getenv:      getenv,
		Files:       o.Params,
		Inventories: o.Inventories,
		Strict:      o.Strict,
		DefaultType: o.DefaultType,
	})
	if err != nil {
		for _, l := range base.ErrorLines(err) {
			fmt.Fprintln(stdout, l)
		}
		return &base.ExitError{Code: 1}
	}
	return Write(stdout, c, o.sources())
}

// sources says where each parameters file came from, by absolute path.
func (o *Options) sources() map[string]string {
	m := map[string]string{}
	add := func(name, source string) {
		if name == "" || name == "-" {
			return
		}
		if abs, err := filepath.Abs(name); err == nil {
			m[abs] = source
		}
	}
	add(systemFile, "system")
	uf := userFile
	if uf == "" {
		if x := getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
			uf = filepath.Join(x, "streamtest", "config.yaml")
		} else if home := getenv("HOME"); home != "" {
			uf = filepath.Join(home, ".config", "streamtest", "config.yaml")
		}
	}
	add(uf, "user")
	for _, f := range filepath.SplitList(getenv("STREAMTEST_PARAMS")) {
		add(f, "env STREAMTEST_PARAMS")
	}
	for _, f := range filepath.SplitList(getenv("STREAMTEST_INVENTORY")) {
		add(f, "env STREAMTEST_INVENTORY")
	}
	for _, f := range o.Params {
		add(f, "flag --params")
	}
	for _, f := range o.Inventories {
		add(f, "flag --inventory")
	}
	return m
}

// Write prints the configuration c; sources says where each file came from.
func Write(w io.Writer, c *params.Config, sources map[string]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "default type:\t%s\t(%s)\n", c.DefaultType.Value, source(c.DefaultType.Source, sources))
	fmt.Fprintf(tw, "strict:\t%t\t(%s)\n", c.Strict.Value, source(c.Strict.Source, sources))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nparameters files:")
	if len(c.Files) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, f := range c.Files {
		src := sources[f]
		if src == "" {
			src = "read"
		}
		fmt.Fprintf(w, "  %s (%s)\n", f, src)
	}
	fmt.Fprintln(w, "\nstreams:")
	if len(c.Order) == 0 {
		fmt.Fprintln(w, "  none defined: every stream a test uses gets the default type")
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tTYPE\tDEFINED AT\tPARAMETERS")
	for _, id := range c.Order {
		s := c.Streams[id]
		typ := s.Type
		if s.Untyped {
			typ += " (default)"
		}
		if _, ok := stream.Lookup(s.Type); !ok {
			typ += " (not linked)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", id, typ, s.Pos, values(s.Redacted()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeGroups(w, c)
}

// writeGroups prints the named groups: Manager.Group's and exec --on
// @GROUP's.
func writeGroups(w io.Writer, c *params.Config) error {
	if len(c.GroupOrder) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\ngroups:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  GROUP\tDECLARED AT\tSTREAMS")
	for _, name := range c.GroupOrder {
		g := c.Groups[name]
		members := strings.Join(g.Members, " ")
		if members == "" {
			members = "none"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", name, g.Pos, members)
	}
	return tw.Flush()
}

// source describes where a setting came from, naming a file's origin.
func source(s string, sources map[string]string) string {
	for f, src := range sources {
		if strings.HasPrefix(s, f+":") || s == f {
			return src + " " + s
		}
	}
	return s
}

func values(v stream.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, v[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
