// Package labcmd is `streamtest lab`: it brings a local multi-host lab up and
// down. Each lab kind (netns, docker) registers itself with RegisterKind;
// extra subcommands (image) with RegisterSubcommand.
package labcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// UpOptions are the flags of `streamtest lab up`.
type UpOptions struct {
	Hosts    int    // --hosts N: number of test hosts
	Dir      string // --dir DIR: where the lab's state, keys and parameters file go
	Isolated int    // --isolated N: hosts on a second subnet the first cannot reach
}

// Kind is one way to make lab hosts.
type Kind interface {
	// Up creates the hosts, writes DIR/params.yaml (and whatever else the
	// kind needs) and prints to stdout how to use it.
	Up(ctx context.Context, opts UpOptions, stdout io.Writer) error
	// Down removes everything Up created in DIR's lab. It succeeds when there
	// is nothing to remove.
	Down(ctx context.Context, dir string, stdout io.Writer) error
}

// Subcommand is an extra `streamtest lab NAME` subcommand.
type Subcommand func(ctx context.Context, args []string, stdout, stderr io.Writer) error

var (
	kinds       = map[string]Kind{}
	subcommands = map[string]Subcommand{}
)

// RegisterKind makes `--kind name` available. Call it from an init function.
func RegisterKind(name string, k Kind) { kinds[name] = k }

// RegisterSubcommand adds `streamtest lab name`. Call it from an init function.
func RegisterSubcommand(name string, f Subcommand) { subcommands[name] = f }

// ErrUsage marks an error in the command line (exit status 2).
var ErrUsage = errors.New("usage")

// DefaultDir is where the lab lives when --dir is not given.
const DefaultDir = ".lab"

const labHelp = `Lab brings up a local multi-host lab: test hosts that remote streams can
reach over SSH, with a generated key, a known_hosts file and a parameters
file for them.

  lab up [--kind netns|docker] [--hosts N] [--isolated M] [--dir DIR]
  lab down [--kind netns|docker] [--dir DIR]

Run 'streamtest lab up -h' for the flags of up. The netns kind needs root.`

// Run runs `streamtest lab ARGS`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: streamtest lab up|down|%s [flags]", ErrUsage, strings.Join(names(subcommands), "|"))
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintf(stdout, "usage: streamtest lab up|down|%s [flags]\n\n%s\n", strings.Join(names(subcommands), "|"), labHelp)
		return nil
	case "up":
		fs := flag.NewFlagSet("lab up", flag.ContinueOnError)
		fs.SetOutput(stderr)
		var o UpOptions
		kind := fs.String("kind", "netns", "lab kind: "+strings.Join(names(kinds), ", "))
		fs.IntVar(&o.Hosts, "hosts", 2, "number of test hosts")
		fs.StringVar(&o.Dir, "dir", DefaultDir, "directory for the lab's state and parameters file")
		fs.IntVar(&o.Isolated, "isolated", 0, "extra hosts on a second subnet the first cannot reach")
		if err := fs.Parse(args[1:]); err != nil {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
		k, ok := kinds[*kind]
		if !ok {
			return fmt.Errorf("%w: unknown lab kind %q; known kinds: %s", ErrUsage, *kind, strings.Join(names(kinds), ", "))
		}
		if o.Hosts < 1 || o.Isolated < 0 {
			return fmt.Errorf("%w: --hosts must be at least 1 and --isolated not negative", ErrUsage)
		}
		return k.Up(ctx, o, stdout)
	case "down":
		fs := flag.NewFlagSet("lab down", flag.ContinueOnError)
		fs.SetOutput(stderr)
		kind := fs.String("kind", "", "lab kind; empty: every kind")
		dir := fs.String("dir", DefaultDir, "directory of the lab")
		if err := fs.Parse(args[1:]); err != nil {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
		var errs []error
		for _, name := range names(kinds) {
			if *kind == "" || *kind == name {
				errs = append(errs, kinds[name].Down(ctx, *dir, stdout))
			}
		}
		return errors.Join(errs...)
	}
	if f, ok := subcommands[args[0]]; ok {
		return f(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown lab subcommand %q", ErrUsage, args[0])
}

func names[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
