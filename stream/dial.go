package stream

import (
	"context"
	"net"
)

// Dialer is the optional interface of an Environment that can open a
// connection from where the stream is: the manager's WaitPort and WaitAddr
// use it to learn that a server on the stream accepts connections.
//
// DialContext connects to addr on network ("tcp") as a process of the
// stream would: the address is resolved and reached from the stream's side
// (a remote stream dials from its host, through its own SSH connection, so
// that it works behind a jump host and reaches the host's loopback). A
// type whose streams the test process can reach directly (a local stream,
// a container on this machine's engine) may dial from the test process,
// and must then refuse what it cannot reach so (the stream's own
// loopback). An error that wraps errors.ErrUnsupported says the address
// can never be reached this way (a stream without network, an engine on
// another machine): callers do not retry it.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}
