package remote

import (
	"context"
	"net"

	"github.com/streamtest/streamtest/stream"
)

var _ stream.Dialer = (*Env)(nil)

// DialContext connects to addr from the remote host, through the stream's
// SSH connection (a direct-tcpip channel: the host's sshd makes the
// connection), so that it works behind ProxyJump hosts and reaches
// addresses only the host reaches, its loopback included. The stream's
// Host(), which may be an ssh_config alias only this machine knows, is
// dialled as the HostName it stands for.
func (e *Env) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if _, _, err := e.ready(); err != nil {
		return nil, err
	}
	if h, port, err := net.SplitHostPort(addr); err == nil && h == e.s.host {
		addr = net.JoinHostPort(e.s.resolve(e.s.host, e.s.user, e.s.port, true).hostname, port)
	}
	// No retry on another connection: sshd's MaxSessions does not count
	// direct-tcpip channels, and its refusal of one means that forwarding
	// is not allowed, on any connection.
	e.mu.Lock()
	client := e.client
	e.mu.Unlock()
	return client.DialContext(ctx, network, addr)
}
