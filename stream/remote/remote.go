package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/streamtest/streamtest/stream"
)

func init() {
	stream.Register("remote", New, stream.Info{
		Doc:     "a host reached over SSH (OpenSSH client config honoured); blocks run as the SSH user in a private work directory",
		Aliases: []string{"ssh"},
		Params:  Params,
	})
}

// Params are the parameters of a remote stream.
var Params = []stream.Param{
	{Name: "host", Kind: stream.String, Doc: "host name, address or ssh_config Host alias to connect to (required); Host() returns it as given",
		Required: true, Check: stream.NonEmpty},
	{Name: "port", Kind: stream.Int, Doc: "TCP port of the SSH server", Default: "ssh_config Port, else 22", Check: stream.PortNumber},
	{Name: "user", Kind: stream.String, Doc: "user to log in as", Default: "ssh_config User, else the local user"},
	{Name: "key", Kind: stream.Strings, Doc: "identity files (private keys, without passphrase) to log in with; relative to the parameters file", Default: "ssh_config IdentityFile, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa"},
	{Name: "password", Kind: stream.Secret, Doc: "password to log in with (never logged)"},
	{Name: "agent", Kind: stream.Bool, Doc: "use the ssh-agent at SSH_AUTH_SOCK", Default: "true when neither key nor password is given and SSH_AUTH_SOCK is set"},
	{Name: "known_hosts", Kind: stream.Strings, Doc: "known_hosts files to verify the host key against", Default: "ssh_config UserKnownHostsFile, else ~/.ssh/known_hosts"},
	{Name: "insecure_ignore_host_key", Kind: stream.Bool, Doc: "accept any host key (logs a warning); for throw-away hosts only", Default: "false"},
	{Name: "connect_timeout", Kind: stream.Duration, Doc: "bound on connecting and logging in (each hop)", Default: "10s"},
	{Name: "keepalive", Kind: stream.Duration, Doc: "interval of keepalive requests; a connection that misses one answer for that long is taken as lost (0 turns keepalives off); the host kills the stream's processes after the same silence from the client, at least 3 s", Default: "5s"},
	{Name: "net_admin", Kind: stream.String, Doc: "command prefix that runs a program as root on the host, for network faults (Partition, Isolate, Degrade); \"\" when the user is root", Default: "sudo -n"},
	{Name: "max_sessions", Kind: stream.Int, Doc: "channels one SSH connection may hold at once (the server's MaxSessions); streams on the same host and user share a connection, 4 channels counted per stream, and open another when it is full", Default: "10", Check: positive},
	{Name: "ssh_config", Kind: stream.Path, Doc: "OpenSSH client configuration to honour (Host, HostName, User, Port, IdentityFile, UserKnownHostsFile, ProxyJump)", Default: "~/.ssh/config"},
}

// positive is a Check for an Int parameter that is at least 1.
func positive(v any) error {
	if n, _ := v.(int); n < 1 {
		return fmt.Errorf("want a number of at least 1, got %d", n)
	}
	return nil
}

// Env is a remote stream. Its methods are safe for concurrent use.
//
// Its SSH connection is shared with the other streams of the process on
// the same host with the same login settings (pool.go); the stream has its
// own guard session, base directory, heartbeat and work directory on it.
type Env struct {
	cfg   stream.Config
	s     *settings
	procs stream.ProcessSet[*process]

	mu     sync.Mutex
	client *ssh.Client // the connection of the guard
	guard  *guard
	base   string // remote: base/work is WorkDir, base/run holds the guard's state
	sftp   *sftp.Client
	stopKA chan struct{} // closed to stop the heartbeat

	// connMu guards the connections the stream holds slots on and what
	// Close kept of their state; lostErr reads them while Setup holds mu.
	connMu sync.Mutex
	conn   *conn   // the guard's
	extra  []*conn // taken when the server refused conn a channel
	frozen bool    // Close began: lost no longer changes
	lost   error

	platform platformCache // what Platform learnt (platform.go)
}

var _ stream.Environment = (*Env)(nil)

// New creates a remote stream. Nothing is dialled before Setup.
func New(cfg stream.Config) (stream.Environment, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	return &Env{cfg: cfg, s: s}, nil
}

// Host returns the host as the parameters gave it.
func (e *Env) Host() string { return e.s.host }

// WorkDir returns the stream's private remote work directory, "" before
// Setup.
func (e *Env) WorkDir() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.base == "" {
		return ""
	}
	return e.base + "/work"
}

// Setup takes a slot on a connection to the host that other streams share
// or dials one (through ProxyJump hosts when configured, and logs in), and
// starts the stream's guard, which makes the work directory.
func (e *Env) Setup(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.procs.Closed() {
		return stream.ErrClosed
	}
	if e.client != nil {
		return nil
	}
	c, err := e.acquire(ctx)
	if err != nil {
		return err
	}
	e.connMu.Lock()
	e.conn = c
	e.connMu.Unlock()
	gctx, cancel := context.WithTimeout(ctx, e.s.connectTimeout)
	g, gc, err := onConn(gctx, e, func(c *conn) (*guard, error) {
		return startGuard(gctx, c.client, e.s.connectTimeout, e.s.keepalive)
	})
	cancel()
	e.connMu.Lock()
	if err == nil && gc != c {
		// The server had no room on c: the guard's connection is the
		// stream's.
		for i, o := range e.extra {
			if o == gc {
				e.extra = append(e.extra[:i:i], e.extra[i+1:]...)
			}
		}
		e.conn = gc
		release(c)
	}
	held := e.held()
	if err != nil {
		e.conn, e.extra = nil, nil
	}
	e.connMu.Unlock()
	if err != nil {
		for _, c := range held {
			release(c)
		}
		return err
	}
	e.client = gc.client
	e.guard, e.base = g, g.base
	e.stopKA = make(chan struct{})
	go g.heartbeat(e.stopKA, gc.gone)
	return nil
}

// held returns the connections the stream holds slots on; connMu is held.
func (e *Env) held() []*conn {
	if e.conn == nil {
		return nil
	}
	return append([]*conn{e.conn}, e.extra...)
}

// ready returns the guard and the base directory of a stream that is set
// up and connected, or why it is not.
func (e *Env) ready() (*guard, string, error) {
	e.mu.Lock()
	client, g, base := e.client, e.guard, e.base
	e.mu.Unlock()
	switch {
	case e.procs.Closed():
		return nil, "", stream.ErrClosed
	case client == nil:
		return nil, "", errors.New("the stream is not set up")
	}
	if lost := e.lostErr(); lost != nil {
		return nil, "", lost
	}
	return g, base, nil
}

// dialHop connects to h, directly or through via, and logs in; the agent
// connection it opens is added to closers.
func (e *Env) dialHop(ctx context.Context, via *ssh.Client, h hop, closers *[]func()) (*ssh.Client, error) {
	auth, closeAuth, err := e.s.authMethods(h)
	if err != nil {
		return nil, err
	}
	*closers = append(*closers, closeAuth)
	check, algos, err := e.s.hostKeyCheck(h, e.cfg.Logf)
	if err != nil {
		return nil, err
	}
	timeout := e.s.connectTimeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	free, err := handshakeSlot(ctx, h.addr())
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: no handshake slot within connect_timeout %v (%d at once per address)", h.addr(), timeout, maxHandshakes)
	}
	defer free()
	var conn net.Conn
	if via == nil {
		d := net.Dialer{}
		conn, err = d.DialContext(ctx, "tcp", h.addr())
	} else {
		conn, err = via.DialContext(ctx, "tcp", h.addr())
	}
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("cannot connect to %s: no answer within connect_timeout %v", h.addr(), timeout)
		}
		return nil, fmt.Errorf("cannot connect to %s: %w", h.addr(), err)
	}
	cc := &ssh.ClientConfig{
		User:              h.user,
		Auth:              auth,
		HostKeyCallback:   check,
		HostKeyAlgorithms: algos,
		Timeout:           timeout,
	}
	type result struct {
		c     ssh.Conn
		chans <-chan ssh.NewChannel
		reqs  <-chan *ssh.Request
		err   error
	}
	done := make(chan result, 1)
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	go func() {
		c, chans, reqs, err := ssh.NewClientConn(conn, h.addr(), cc)
		done <- result{c, chans, reqs, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		conn.Close()
		r = <-done
		if r.err == nil {
			r.c.Close()
		}
		return nil, fmt.Errorf("cannot log in to %s: no answer within connect_timeout %v", h.addr(), timeout)
	}
	if r.err != nil {
		conn.Close()
		var he *HostKeyError
		if errors.As(r.err, &he) {
			return nil, he
		}
		if ctx.Err() != nil || isTimeout(r.err) {
			return nil, fmt.Errorf("cannot log in to %s: no answer within connect_timeout %v", h.addr(), timeout)
		}
		if strings.Contains(r.err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("login as %s on %s refused: %w", h.user, h.addr(), r.err)
		}
		return nil, fmt.Errorf("cannot log in to %s: %w", h.addr(), r.err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(r.c, r.chans, r.reqs), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// lostErr says why the stream's connection (its guard's) is gone, or nil
// while it is up; from Close on, what it said when Close began.
func (e *Env) lostErr() error { return e.lostOn(nil) }

// lostOn is lostErr, or, with the guard's connection up, why c is gone: a
// block on another connection (the server had no room on the stream's)
// ends with its connection.
func (e *Env) lostOn(c *conn) error {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	if e.lost != nil || e.frozen {
		return e.lost
	}
	if e.conn != nil {
		if err := e.conn.lostErr(); err != nil {
			return err
		}
	}
	if c != nil {
		return c.lostErr()
	}
	return nil
}

// Close ends every process the stream started (whole process groups,
// after the grace), has the guard kill what blocks left running and remove
// the work directory, and gives back its slots on the shared connections:
// the last stream on a connection closes it.
func (e *Env) Close() error {
	procs, first := e.procs.Close()
	if !first {
		return nil
	}
	lost := e.lostErr()
	e.connMu.Lock()
	e.lost, e.frozen = lost, true
	e.connMu.Unlock()
	var errs []error
	if err := stream.StopAll(procs, e.cfg.GraceOrDefault()); err != nil && e.lostErr() == nil {
		errs = append(errs, err)
	}
	e.mu.Lock()
	g := e.guard
	e.mu.Unlock()
	if g != nil && e.lostErr() == nil {
		if err := g.close(); err != nil && e.lostErr() == nil {
			errs = append(errs, err)
		}
	}
	e.mu.Lock()
	if e.stopKA != nil {
		close(e.stopKA)
		e.stopKA = nil
	}
	if e.sftp != nil {
		e.sftp.Close()
		e.sftp = nil
	}
	e.mu.Unlock()
	e.connMu.Lock()
	held := e.held()
	e.conn, e.extra = nil, nil
	e.connMu.Unlock()
	for _, c := range held {
		release(c)
	}
	return errors.Join(errs...)
}

// limitWriter keeps the first n bytes written to it.
type limitWriter struct {
	mu sync.Mutex
	w  io.Writer
	n  int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
