package labcmd

import (
	"context"
	"io"

	"github.com/streamtest/streamtest/lab/netns"
)

// netnsKind is `streamtest lab up --kind netns`: hosts in Linux network
// namespaces, each with its own sshd, for remote streams.
type netnsKind struct{}

func init() { RegisterKind("netns", netnsKind{}) }

func (netnsKind) Up(ctx context.Context, o UpOptions, stdout io.Writer) error {
	_, err := netns.Up(ctx, netns.Options{Hosts: o.Hosts, Isolated: o.Isolated, Dir: o.Dir, Stdout: stdout})
	return err
}

func (netnsKind) Down(ctx context.Context, dir string, stdout io.Writer) error {
	return netns.Down(ctx, dir, stdout)
}
