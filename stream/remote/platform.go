package remote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/streamtest/streamtest/stream"
)

var _ stream.Platformer = (*Env)(nil)

// platformCache keeps what the host's uname said: it does not change
// while the connection lives.
type platformCache struct {
	mu           sync.Mutex
	goos, goarch string
	known        bool
}

// Platform is the host's operating system and machine as `uname -sm`
// prints them on the stream's SSH connection, in Go's names. The first
// answer is kept; a failure is not, so that a later call asks again.
func (e *Env) Platform(ctx context.Context) (goos, goarch string, err error) {
	c := &e.platform
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.known {
		return c.goos, c.goarch, nil
	}
	if _, _, err := e.ready(); err != nil {
		return "", "", e.cause(err)
	}
	out, stderr, err := e.session(ctx, "uname -sm", "")
	if err != nil {
		return "", "", fmt.Errorf("uname -sm on the host: %w (%s)", e.cause(err), strings.TrimSpace(string(stderr)))
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return "", "", errors.New("uname -sm on the host printed " + fmt.Sprintf("%q", out) + ", not a system and a machine")
	}
	c.goos, c.goarch, _ = stream.UnamePlatform(f[0], f[1])
	c.known = true
	return c.goos, c.goarch, nil
}
