package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/streamtest/streamtest/stream"
)

var _ stream.Dialer = (*Env)(nil)

// DialContext connects to addr from this machine, whose network a sandbox
// with network "host" shares. A sandbox with network "none" has a network
// namespace of its own with its loopback down: nothing reaches it, and
// dialling it is unsupported.
func (e *Env) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if e.netNone {
		return nil, fmt.Errorf("the sandbox has network \"none\": nothing outside reaches its network namespace (%w)", errors.ErrUnsupported)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
