package local

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/streamtest/streamtest/stream"
)

var _ stream.Dialer = (*Env)(nil)

// DialContext connects to addr from this machine, where a local stream's
// blocks run. A stream with network "none" gives each block a network
// namespace of its own that nothing reaches: dialling it is unsupported.
func (e *Env) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if e.netNone {
		return nil, fmt.Errorf("the stream has network \"none\": each block has a network namespace of its own that nothing outside reaches (%w)", errors.ErrUnsupported)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
