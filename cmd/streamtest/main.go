// Command streamtest runs multi-stream test suites and writes reports, fans a
// command out over streams, and brings up a local multi-host lab.
//
//	streamtest run [flags] [packages] [-- go test flags]
//	streamtest exec [-p FILE] [--on 1,3-4|all] [--sync] [--timeout D] -- CMD [ARGS]
//	streamtest validate FILE...
//	streamtest types
//	streamtest config
//	streamtest lab up|down|image [flags]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

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

var commands = map[string]command{
	"run":      runcmd.Run,
	"exec":     execcmd.Run,
	"validate": validate.Run,
	"types":    types.Run,
	"config":   config.Run,
	"lab":      labcmd.Run,
}

const usage = "usage: streamtest run|exec|validate|types|config|lab ...\nRun 'streamtest COMMAND -h' for a command's flags."

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "streamtest: unknown command %q\n%s\n", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	var exit *base.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if exit.Err != nil {
			fmt.Fprintf(stderr, "streamtest %s: %v\n", args[0], exit.Err)
		}
		return exit.Code
	case errors.Is(err, base.ErrUsage), errors.Is(err, labcmd.ErrUsage):
		fmt.Fprintf(stderr, "streamtest %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "streamtest %s: %v\n", args[0], err)
		return 1
	}
}
