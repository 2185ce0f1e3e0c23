package container

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/streamtest/streamtest/stream"
)

var _ stream.Dialer = (*Env)(nil)

// DialContext connects to addr from the test process, which reaches the
// container's address when the engine runs on this machine (a unix socket
// endpoint: Docker's bridge networks and rootful Podman's are routed from
// the host). It is unsupported on an engine elsewhere (tcp://, ssh://),
// whose containers' addresses are on that machine's networks, and for the
// container's own loopback (127.0.0.1, localhost), which only its own
// processes reach: bind the server to the container's address, or to all
// addresses, to wait for it. (A container on the "host" network shares
// this machine's loopback.)
func (e *Env) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if !localEngine(e.endpoint) {
		return nil, fmt.Errorf("the engine %s is not on this machine: the test process cannot reach the container's network (%w)", e.endpoint, errors.ErrUnsupported)
	}
	if host, _, err := net.SplitHostPort(addr); err == nil && isLoopback(host) && e.netName != "host" {
		return nil, fmt.Errorf("%s is the container's loopback, which only its own processes reach (%w)", addr, errors.ErrUnsupported)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
