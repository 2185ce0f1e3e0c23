package sandbox

import (
	"context"

	"github.com/streamtest/streamtest/stream"
)

var _ stream.Platformer = (*Env)(nil)

// Platform is this machine's, as uname says: a sandbox runs on this
// machine's kernel.
func (e *Env) Platform(ctx context.Context) (goos, goarch string, err error) {
	return stream.MachinePlatform()
}
