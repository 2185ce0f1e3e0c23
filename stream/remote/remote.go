package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
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
	{Name: "host", Kind: stream.String, Doc: "host name, address or ssh_config Host alias to connect to (required); Host() returns it as given"},
	{Name: "port", Kind: stream.Int, Doc: "TCP port of the SSH server", Default: "ssh_config Port, else 22"},
	{Name: "user", Kind: stream.String, Doc: "user to log in as", Default: "ssh_config User, else the local user"},
	{Name: "key", Kind: stream.Strings, Doc: "identity files (private keys, without passphrase) to log in with; relative to the parameters file", Default: "ssh_config IdentityFile, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa"},
	{Name: "password", Kind: stream.Secret, Doc: "password to log in with (never logged)"},
	{Name: "agent", Kind: stream.Bool, Doc: "use the ssh-agent at SSH_AUTH_SOCK", Default: "true when neither key nor password is given and SSH_AUTH_SOCK is set"},
	{Name: "known_hosts", Kind: stream.Strings, Doc: "known_hosts files to verify the host key against", Default: "ssh_config UserKnownHostsFile, else ~/.ssh/known_hosts"},
	{Name: "insecure_ignore_host_key", Kind: stream.Bool, Doc: "accept any host key (logs a warning); for throw-away hosts only", Default: "false"},
	{Name: "connect_timeout", Kind: stream.Duration, Doc: "bound on connecting and logging in (each hop)", Default: "10s"},
	{Name: "keepalive", Kind: stream.Duration, Doc: "interval of keepalive requests; a connection that misses one answer for that long is taken as lost (0 turns keepalives off)", Default: "5s"},
	{Name: "ssh_config", Kind: stream.Path, Doc: "OpenSSH client configuration to honour (Host, HostName, User, Port, IdentityFile, UserKnownHostsFile, ProxyJump)", Default: "~/.ssh/config"},
}

// Env is a remote stream. Its methods are safe for concurrent use.
type Env struct {
	cfg stream.Config
	s   *settings
	err error // from parsing the parameters, reported by Setup

	mu      sync.Mutex
	client  *ssh.Client
	closers []func() // jump hosts' clients, agent connection
	guardIn io.WriteCloser
	guard   *ssh.Session
	base    string // remote: base/work is WorkDir, base/run holds the guard's state
	sftp    *sftp.Client
	procs   map[*process]struct{}
	nstdin  int
	closed  bool
	gone    chan struct{} // closed when the connection ended
	stopKA  chan struct{}

	// lost says why the connection ended when it ended on its own. It has
	// its own lock so that the keepalive can record it while Setup holds mu.
	lostMu  sync.Mutex
	lost    error
	closing atomic.Bool
}

var _ stream.Environment = (*Env)(nil)

// New creates a remote stream. Nothing is dialled before Setup.
func New(cfg stream.Config) (stream.Environment, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Type == "" {
		cfg.Type = "remote"
	}
	s, err := parseSettings(cfg)
	e := &Env{cfg: cfg, s: s, procs: map[*process]struct{}{}}
	if err != nil {
		return nil, e.wrap("configure", err)
	}
	return e, nil
}

func (e *Env) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *stream.Error
	if errors.As(err, &se) {
		return err
	}
	host := ""
	if e.s != nil {
		host = e.s.host
	}
	return &stream.Error{ID: e.cfg.ID, Type: e.cfg.Type, Host: host, Op: op, Err: err}
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
	if e.closed {
		return e.wrap("set up", errors.New("stream is closed"))
	}
	if e.client != nil {
		return nil
	}
	if err := e.connect(ctx); err != nil {
		return e.wrap("set up", err)
	}
	gctx, cancel := context.WithTimeout(ctx, e.s.connectTimeout)
	err := e.startGuard(gctx)
	cancel()
	if err != nil {
		e.closeConn()
		e.client = nil
		return e.wrap("set up", err)
	}
	return nil
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

// guardScript makes the stream's base directory and holds it: when its
// standard input ends (Close asks, or the connection is gone, including when
// the test binary was killed) it kills every process group the stream's
// blocks started and removes the base directory.
const guardScript = `b=$(mktemp -d "${TMPDIR:-/tmp}/streamtest.XXXXXXXXXX") || exit 1
mkdir "$b/work" "$b/run" || { rm -rf "$b"; exit 1; }
echo "$b"
read -r _
for f in "$b"/run/*; do p=${f##*/}; case $p in ''|*[!0-9]*) ;; *) kill -KILL -"$p" 2>/dev/null;; esac; done
rm -rf "$b"
echo closed`

func (e *Env) startGuard(ctx context.Context) error {
	// A connection that died after the login would block the session's
	// opening: closing it on ctx's end unblocks that.
	stop := context.AfterFunc(ctx, func() { e.client.Close() })
	defer stop()
	sess, err := e.client.NewSession()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("the host did not start the stream's guard within connect_timeout %v", e.s.connectTimeout)
		}
		return fmt.Errorf("cannot open a session: %w", err)
	}
	in, err := sess.StdinPipe()
	if err != nil {
		return err
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	sess.Stderr = &limitWriter{w: &stderr, n: 4096}
	if err := sess.Start("exec /bin/sh -c " + quote(guardScript)); err != nil {
		sess.Close()
		return fmt.Errorf("cannot start the remote guard: %w", err)
	}
	line := make(chan string, 1)
	rd := bufio.NewReader(out)
	go func() {
		l, _ := rd.ReadString('\n')
		line <- l
	}()
	var l string
	select {
	case l = <-line:
	case <-ctx.Done():
		sess.Close()
		return fmt.Errorf("the host did not start the stream's guard within connect_timeout %v", e.s.connectTimeout)
	}
	l = strings.TrimSpace(l)
	if !strings.HasPrefix(l, "/") {
		sess.Close()
		sess.Wait()
		return fmt.Errorf("cannot make a work directory on the host: %s", strings.TrimSpace(stderr.String()))
	}
	go io.Copy(io.Discard, rd)
	e.guard, e.guardIn, e.base = sess, in, l
	return nil
}

// Send copies local (a file or a directory, recursively) to remote over
// SFTP, keeping modes. A relative remote is relative to WorkDir.
func (e *Env) Send(ctx context.Context, local, remote string) error {
	c, base, err := e.sftpClient()
	if err != nil {
		return e.wrap("send", err)
	}
	if !path.IsAbs(remote) {
		remote = path.Join(base, "work", remote)
	}
	if err := sendTree(ctx, c, local, remote); err != nil {
		if lost := e.lostErr(); lost != nil {
			err = fmt.Errorf("%w (%v)", lost, err)
		}
		return e.wrap("send", err)
	}
	return nil
}

func (e *Env) sftpClient() (*sftp.Client, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client == nil || e.closed {
		return nil, "", errors.New("stream is not set up")
	}
	if lost := e.lostErr(); lost != nil {
		return nil, "", lost
	}
	if e.sftp == nil {
		c, err := sftp.NewClient(e.client, sftp.UseConcurrentWrites(true))
		if err != nil {
			return nil, "", fmt.Errorf("cannot start SFTP: %w", err)
		}
		e.sftp = c
	}
	return e.sftp, e.base, nil
}

// Close ends every process the stream started (whole process groups),
// removes the remote work directory and closes the connection.
func (e *Env) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	procs := make([]*process, 0, len(e.procs))
	for p := range e.procs {
		procs = append(procs, p)
	}
	e.mu.Unlock()
	lost := e.lostErr()
	e.closing.Store(true)

	var errs []error
	for _, p := range procs {
		p.control("kill")
	}
	if e.guard != nil && lost == nil {
		// The guard kills what is left and removes the work directory.
		e.guardIn.Write([]byte("close\n"))
		done := make(chan error, 1)
		go func() { done <- e.guard.Wait() }()
		select {
		case err := <-done:
			if err != nil && e.lostErr() == nil {
				errs = append(errs, fmt.Errorf("remote guard: %w", err))
			}
		case <-time.After(closeTimeout):
			errs = append(errs, fmt.Errorf("remote guard did not finish within %v", closeTimeout))
		}
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(closeTimeout):
			p.sess.Close()
		}
	}
	e.mu.Lock()
	e.closeConn()
	e.mu.Unlock()
	return e.wrap("close", errors.Join(errs...))
}

var closeTimeout = 10 * time.Second

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

// quote quotes s for a POSIX shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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
