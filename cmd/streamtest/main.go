// Command streamtest runs multi-stream test suites and writes reports, fans a
// command out over streams, and brings up a local multi-host lab.
//
//	streamtest run [flags] [packages] [-- go test flags]
//	streamtest exec [-p FILE] [--on 1,3-4|all] [--sync] [--timeout D] -- CMD [ARGS]
//	streamtest validate FILE...
//	streamtest types
//	streamtest config
//	streamtest lab up|down|image [flags]
//	streamtest version
//	streamtest help [COMMAND]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"text/tabwriter"

	"github.com/streamtest/streamtest/internal/cli/base"
	"github.com/streamtest/streamtest/internal/cli/config"
	execcmd "github.com/streamtest/streamtest/internal/cli/exec"
	"github.com/streamtest/streamtest/internal/cli/labcmd"
	runcmd "github.com/streamtest/streamtest/internal/cli/run"
	"github.com/streamtest/streamtest/internal/cli/types"
	"github.com/streamtest/streamtest/internal/cli/validate"

	// Every stream type, so that validate, types, config and exec know them.
	_ "github.com/streamtest/streamtest/stream/container"
	_ "github.com/streamtest/streamtest/stream/local"
	_ "github.com/streamtest/streamtest/stream/remote"
	_ "github.com/streamtest/streamtest/stream/sandbox"
)

type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// commands are the subcommands, in the order help lists them, each with its
// one-line purpose.
var commands = []struct {
	name, purpose string
	run           command
}{
	{"run", "run test packages with streams and write reports (HTML, JUnit, TAP, JSON)", runcmd.Run},
	{"exec", "run one command on many streams at once, like pdsh", execcmd.Run},
	{"validate", "check parameters files; errors at file:line:column", validate.Run},
	{"types", "list the stream types, their parameters and the block kinds", types.Run},
	{"config", "show the effective settings and where each came from", config.Run},
	{"lab", "bring a local lab of test hosts up or down, build its images", labcmd.Run},
	{"version", "print the version of streamtest and of Go", versionCmd},
	{"help", "show this list, or a command's help: streamtest help COMMAND", nil},
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name && c.run != nil {
			return c.run, true
		}
	}
	return nil, false
}

// printUsage lists every command with its purpose.
func printUsage(w io.Writer) {
	fmt.Fprintln(w, "streamtest: multi-stream test support for Go.")
	fmt.Fprintln(w, "\nusage: streamtest COMMAND [flags] [arguments]\n\nCommands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.purpose)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nRun 'streamtest help COMMAND' (or 'streamtest COMMAND -h') for a command's flags.")
}

// versionCmd prints the module's version and the Go version it was built
// with. A binary built from a clone (go install ./cmd/streamtest) has no
// module version: it says "(devel)" and the commit, when known.
func versionCmd(_ context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return base.Usagef("streamtest version", "no arguments expected, got %q", args[0])
	}
	fmt.Fprintln(stdout, versionLine(debug.ReadBuildInfo()))
	return nil
}

func versionLine(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "streamtest (unknown version) " + runtime.Version()
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	line := "streamtest " + v
	if rev != "" {
		line += fmt.Sprintf(" (commit %.12s%s)", rev, modified)
	}
	return line + " " + bi.GoVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "--help":
		printUsage(stdout)
		return 0
	case "--version", "-version":
		name = "version"
	case "help":
		if len(args) == 1 {
			printUsage(stdout)
			return 0
		}
		// help COMMAND is COMMAND -h.
		name, args = args[1], []string{args[1], "-h"}
		if name == "help" {
			printUsage(stdout)
			return 0
		}
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "streamtest: unknown command %q\n\n", name)
		printUsage(stderr)
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	var exit *base.ExitError
	switch {
	case err == nil, errors.Is(err, base.ErrHelp):
		return 0
	case errors.As(err, &exit):
		if exit.Err != nil {
			fmt.Fprintf(stderr, "streamtest %s: %v\n", name, exit.Err)
		}
		return exit.Code
	case errors.Is(err, base.ErrUsage), errors.Is(err, labcmd.ErrUsage):
		fmt.Fprintf(stderr, "streamtest %s: %v\n", name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "streamtest %s: %v\n", name, err)
		return 1
	}
}
