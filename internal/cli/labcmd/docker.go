package labcmd

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/lab/dockerlab"
	"github.com/streamtest/streamtest/stream/container"
)

// dockerKind is `streamtest lab up --kind docker`: hosts in containers
// running sshd on a private Docker network, for remote streams.
type dockerKind struct{}

func init() {
	RegisterKind("docker", dockerKind{})
	RegisterSubcommand("image", imageCommand)
	RegisterSubcommand("sweep", sweepCommand)
}

// sweepCommand is `streamtest lab sweep [--all]`: it removes the
// containers and networks that container streams of dead test processes
// left behind (--all: of every test process, alive or not).
func sweepCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	all := fs.Bool("all", false, "remove what every test process made, even running ones")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	cli, err := dockerClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	var n int
	if *all {
		n, err = container.Sweep(ctx, cli)
	} else {
		n, err = container.SweepDead(ctx, cli)
	}
	if n > 0 {
		fmt.Fprintf(stdout, "removed %d containers and networks of container streams\n", n)
	}
	return err
}

func (dockerKind) Up(ctx context.Context, o UpOptions, stdout io.Writer) error {
	if o.Isolated > 0 {
		return fmt.Errorf("%w: the docker lab has no --isolated hosts; use --kind netns", ErrUsage)
	}
	cli, err := dockerClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = dockerlab.Up(ctx, cli, dockerlab.Options{Hosts: o.Hosts, Dir: o.Dir, Stdout: stdout})
	return err
}

func (dockerKind) Down(ctx context.Context, dir string, stdout io.Writer) error {
	cli, err := dockerClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	err = dockerlab.Down(ctx, cli, dir, stdout)
	if client.IsErrConnectionFailed(err) {
		// No engine, no docker lab: `lab down` of every kind still works
		// on a machine without Docker.
		return nil
	}
	return err
}

// imageCommand is `streamtest lab image [IMAGE...]`: it builds the
// streamtest images from this machine's own binaries.
func imageCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	missing := fs.Bool("missing", false, "build only the images that are not on the engine yet")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: streamtest lab image [--missing] [IMAGE...]\n\nBuilds FROM scratch, with this machine's binaries (no registry):\n")
		for _, n := range dockerlab.Images {
			fmt.Fprintf(stderr, "  %s\n", n)
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	cli, err := dockerClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	names := fs.Args()
	if len(names) == 0 {
		names = dockerlab.Images
	}
	if *missing {
		return dockerlab.Ensure(ctx, cli, stdout, names...)
	}
	return dockerlab.Build(ctx, cli, stdout, names...)
}

func dockerClient() (*client.Client, error) {
	return client.New(client.FromEnv)
}
