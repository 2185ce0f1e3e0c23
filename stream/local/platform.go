package local

import (
	"context"

	"github.com/streamtest/streamtest/stream"
)

var _ stream.Platformer = (*Env)(nil)

// Platform is this machine's: its kernel's name and machine, as uname
// says (not the test binary's GOARCH: a 386 test binary on an amd64
// kernel starts amd64 programs).
func (e *Env) Platform(ctx context.Context) (goos, goarch string, err error) {
	return stream.MachinePlatform()
}
