package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
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
	{Name: "ssh_config", Kind: stream.Path, Doc: "OpenSSH client configuration to honour (Host, HostName, User, Port, IdentityFile, UserKnownHostsFile, ProxyJump)", Default: "~/.ssh/config"},
}

// Env is a remote stream. Its methods are safe for concurrent use.
type Env struct {
	cfg   stream.Config
	s     *settings
	procs stream.ProcessSet[*process]

	mu      sync.Mutex
	client  *ssh.Client
	closers []func() // jump hosts' clients, agent connection
	guard   *guard
	base    string // remote: base/work is WorkDir, base/run holds the guard's state
	sftp    *sftp.Client
	gone    chan struct{} // closed when the connection ended
	stopKA  chan struct{}

	// lost says why the connection ended when it ended on its own. It has
	// its own lock so that the keepalive can record it while Setup holds mu.
	lostMu  sync.Mutex
	lost    error
	closing atomic.Bool

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

// Setup connects (through ProxyJump hosts when configured), logs in, and
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
	if err := e.connect(ctx); err != nil {
		return err
	}
	gctx, cancel := context.WithTimeout(ctx, e.s.connectTimeout)
	g, err := startGuard(gctx, e.client, e.s.connectTimeout, e.s.keepalive)
	cancel()
	if err != nil {
		e.closeConn()
		e.client = nil
		return err
	}
	e.guard, e.base = g, g.base
	go g.heartbeat(e.stopKA, e.gone)
	return nil
}

// ready returns the connection and the base directory of a stream that is
// set up and connected, or why it is not.
func (e *Env) ready() (*ssh.Client, *guard, string, error) {
	e.mu.Lock()
	client, g, base := e.client, e.guard, e.base
	e.mu.Unlock()
	switch {
	case e.procs.Closed():
		return nil, nil, "", stream.ErrClosed
	case client == nil:
		return nil, nil, "", errors.New("the stream is not set up")
	}
	if lost := e.lostErr(); lost != nil {
		return nil, nil, "", lost
	}
	return client, g, base, nil
}

func (e *Env) connect(ctx context.Context) error {
	target := e.s.resolve(e.s.host, e.s.user, e.s.port, true)
	var hops []hop
	if target.jump != "" && target.jump != "none" {
		for _, spec := range strings.Split(target.jump, ",") {
			hops = append(hops, e.s.resolve(strings.TrimPrefix(strings.TrimSpace(spec), "ssh://"), "", 0, false))
		}
	}
	hops = append(hops, target)
	var via *ssh.Client
	for i, h := range hops {
		c, err := e.dialHop(ctx, via, h)
		if err != nil {
			for _, f := range e.closers {
				f()
			}
			e.closers = nil
			if i < len(hops)-1 {
				return fmt.Errorf("via ProxyJump %s: %w", h.alias, err)
			}
			return err
		}
		if i < len(hops)-1 {
			e.closers = append(e.closers, func() { c.Close() })
		}
		via = c
	}
	e.client = via
	e.gone = make(chan struct{})
	e.stopKA = make(chan struct{})
	go e.watchConn(via, target.addr(), e.gone)
	if e.s.keepalive > 0 {
		go e.keepalive(via, e.s.keepalive, e.stopKA, e.gone)
	}
	return nil
}

func (e *Env) dialHop(ctx context.Context, via *ssh.Client, h hop) (*ssh.Client, error) {
	auth, closeAuth, err := e.s.authMethods(h)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, closeAuth)
	check, algos, err := e.s.hostKeyCheck(h, e.cfg.Logf)
	if err != nil {
		return nil, err
	}
	timeout := e.s.connectTimeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
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

func (e *Env) watchConn(c *ssh.Client, addr string, gone chan struct{}) {
	err := c.Wait()
	if err == nil {
		err = io.EOF
	}
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("the server closed it (%w)", err)
	}
	e.setLost(fmt.Errorf("connection lost to %s: %w", addr, err))
	close(gone)
}

// keepalive asks the server for an answer every interval; one that does not
// come within interval ends the connection, so that every Wait on it returns.
func (e *Env) keepalive(c *ssh.Client, interval time.Duration, stop, gone chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-gone:
			return
		case <-t.C:
		}
		answered := make(chan struct{})
		go func() {
			c.SendRequest("keepalive@openssh.com", true, nil)
			close(answered)
		}()
		select {
		case <-answered:
		case <-stop:
			return
		case <-time.After(interval):
			e.setLost(fmt.Errorf("connection lost to %s: no answer to a keepalive within %v", c.RemoteAddr(), interval))
			c.Close()
			return
		}
	}
}

// lostErr says why the connection is gone, or nil while it is up.
func (e *Env) lostErr() error {
	e.lostMu.Lock()
	defer e.lostMu.Unlock()
	return e.lost
}

// setLost records the first reason the connection ended, unless Close ended
// it.
func (e *Env) setLost(err error) {
	e.lostMu.Lock()
	defer e.lostMu.Unlock()
	if e.lost == nil && !e.closing.Load() {
		e.lost = err
	}
}

// Close ends every process the stream started (whole process groups,
// after the grace), has the guard kill what blocks left running and remove
// the work directory, and closes the connection.
func (e *Env) Close() error {
	procs, first := e.procs.Close()
	if !first {
		return nil
	}
	e.closing.Store(true)
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
	e.closeConn()
	e.mu.Unlock()
	return errors.Join(errs...)
}

// closeConn closes the connection and what hangs on it; e.mu is held.
func (e *Env) closeConn() {
	if e.stopKA != nil {
		close(e.stopKA)
		e.stopKA = nil
	}
	if e.sftp != nil {
		e.sftp.Close()
		e.sftp = nil
	}
	if e.client != nil {
		e.client.Close()
	}
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
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
