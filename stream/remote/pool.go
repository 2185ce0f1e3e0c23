package remote

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Streams on the same host, as the same user, with the same login and
// host-key settings share SSH connections: a process-wide pool holds the
// connections, reference-counted, and a stream takes a slot on one that
// has room. Each stream keeps its own guard session, base directory,
// heartbeat and work directory on the shared connection.

// channelsPerStream is how many channels a stream is counted to hold at
// once on its connection: its guard session, a running block, its SFTP
// subsystem, and one more (a WaitPort dial, a NetAdmin or uname session).
// A connection takes max_sessions / channelsPerStream streams (at least
// one), so that its channels stay within the server's MaxSessions.
const channelsPerStream = 4

// defaultMaxSessions is OpenSSH's MaxSessions default.
const defaultMaxSessions = 10

// maxHandshakes bounds the SSH handshakes (TCP connect, key exchange,
// login) in flight at once to one address. OpenSSH's MaxStartups default,
// 10:30:100, starts dropping new connections at random once 10 are not
// logged in yet; 8 keeps a test that sets up many streams at once below
// that, with room for another client.
const maxHandshakes = 8

var (
	handshakesMu sync.Mutex
	handshakes   = map[string]chan struct{}{} // address -> semaphore
)

// handshakeSlot waits for a handshake slot to addr and returns its release.
func handshakeSlot(ctx context.Context, addr string) (func(), error) {
	handshakesMu.Lock()
	sem := handshakes[addr]
	if sem == nil {
		sem = make(chan struct{}, maxHandshakes)
		handshakes[addr] = sem
	}
	handshakesMu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// conn is one SSH connection of the pool, with the jump hosts' connections
// and the agent connections it was made through.
type conn struct {
	key     string
	cap     int // streams it takes
	addr    string
	ready   chan struct{} // closed once dialled (err says how)
	err     error
	client  *ssh.Client
	closers []func()
	gone    chan struct{} // closed when the connection ended
	stopKA  chan struct{}

	// under pool.mu
	refs   int
	full   bool // the server refused a channel: take no more streams
	closed bool // out of the pool: lost, failed to dial, or freed
	freed  bool // its last stream let it go: closed with what it holds

	lostMu  sync.Mutex
	lost    error
	closing bool
}

// pool is the process's shared connections.
var pool struct {
	mu    sync.Mutex
	conns map[string][]*conn
	dials int // connections dialled, for tests
}

// lostErr says why the connection is gone, or nil while it is up or when
// the pool closed it.
func (c *conn) lostErr() error {
	c.lostMu.Lock()
	defer c.lostMu.Unlock()
	return c.lost
}

func (c *conn) setLost(err error) {
	c.lostMu.Lock()
	defer c.lostMu.Unlock()
	if c.lost == nil && !c.closing {
		c.lost = err
	}
}

// connKey is what makes two streams' connections equivalent: every hop
// as resolved (address, user, identity and known_hosts files, in order),
// the password, the agent settings and socket, the host-key check, the
// timeouts and the channel limit.
// The pool holds its SHA-256, so that no password sits in its map keys.
func (e *Env) connKey(hops []hop) string {
	var b strings.Builder
	for _, h := range hops {
		fmt.Fprintf(&b, "hop %s %q %q %q;", h.addr(), h.user, h.keys, h.known)
	}
	fmt.Fprintf(&b, "pw %q agent %v %v %q insecure %v ka %v ct %v ms %d",
		e.s.password, e.s.agent, e.s.agentSet, os.Getenv("SSH_AUTH_SOCK"), e.s.insecure,
		e.s.keepalive, e.s.connectTimeout, e.s.maxSessions)
	sum := sha256.Sum256([]byte(b.String()))
	return string(sum[:])
}

// hops returns the hops to the stream's host: its ProxyJump hosts, then the
// host itself.
func (e *Env) hops() []hop {
	target := e.s.resolve(e.s.host, e.s.user, e.s.port, true)
	var hops []hop
	if target.jump != "" && target.jump != "none" {
		for _, spec := range strings.Split(target.jump, ",") {
			hops = append(hops, e.s.resolve(strings.TrimPrefix(strings.TrimSpace(spec), "ssh://"), "", 0, false))
		}
	}
	return append(hops, target)
}

// acquire takes a slot on a pooled connection to the stream's host that
// has room and is not in not, dialling a new one when none has.
func (e *Env) acquire(ctx context.Context, not ...*conn) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", e.s.host, err)
	}
	hops := e.hops()
	key := e.connKey(hops)
	pool.mu.Lock()
	if pool.conns == nil {
		pool.conns = map[string][]*conn{}
	}
	var c *conn
	for _, o := range pool.conns[key] {
		if !o.full && !o.closed && o.refs < o.cap && !contains(not, o) {
			c = o
			break
		}
	}
	dial := c == nil
	if dial {
		c = &conn{key: key, cap: max(e.s.maxSessions/channelsPerStream, 1), ready: make(chan struct{})}
		pool.conns[key] = append(pool.conns[key], c)
		pool.dials++
	}
	c.refs++
	pool.mu.Unlock()
	if !dial && e.s.insecure {
		// The dial that checked no host key logged it in its own
		// stream's log: say it in this one's too.
		for _, h := range hops {
			warnInsecure(e.cfg.Logf, h)
		}
	}
	if dial {
		// The dial serves every stream waiting for the connection: it is
		// bounded by connect_timeout per hop, not by this stream's ctx.
		go e.dial(context.WithoutCancel(ctx), c, hops)
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		release(c)
		return nil, fmt.Errorf("cannot connect to %s: %w", e.s.host, ctx.Err())
	}
	if c.err != nil {
		release(c)
		return nil, c.err
	}
	return c, nil
}

func contains(cs []*conn, c *conn) bool {
	for _, o := range cs {
		if o == c {
			return true
		}
	}
	return false
}

// markFull keeps further streams off c: the server refused it a channel.
func markFull(c *conn) {
	pool.mu.Lock()
	c.full = true
	pool.mu.Unlock()
}

// release gives back a slot on c; the last one closes it.
func release(c *conn) {
	pool.mu.Lock()
	c.refs--
	last := c.refs == 0 && !c.freed
	if last {
		c.freed = true
		if !c.closed {
			c.closed = true
			drop(c)
		}
	}
	pool.mu.Unlock()
	if !last {
		return
	}
	<-c.ready
	if c.err != nil {
		return
	}
	c.lostMu.Lock()
	c.closing = true
	c.lostMu.Unlock()
	close(c.stopKA)
	c.client.Close()
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
}

// drop takes c out of the pool; pool.mu is held.
func drop(c *conn) {
	cs := pool.conns[c.key]
	for i, o := range cs {
		if o == c {
			pool.conns[c.key] = append(cs[:i:i], cs[i+1:]...)
			break
		}
	}
	if len(pool.conns[c.key]) == 0 {
		delete(pool.conns, c.key)
	}
}

// dial connects c through its hops and closes c.ready.
func (e *Env) dial(ctx context.Context, c *conn, hops []hop) {
	defer close(c.ready)
	var via *ssh.Client
	for i, h := range hops {
		cl, err := e.dialHop(ctx, via, h, &c.closers)
		if err != nil {
			for _, f := range c.closers {
				f()
			}
			c.closers = nil
			if i < len(hops)-1 {
				err = fmt.Errorf("via ProxyJump %s: %w", h.alias, err)
			}
			c.err = err
			pool.mu.Lock()
			if !c.closed {
				c.closed = true
				drop(c)
			}
			pool.mu.Unlock()
			return
		}
		if i < len(hops)-1 {
			c.closers = append(c.closers, func() { cl.Close() })
		}
		via = cl
	}
	c.client = via
	c.addr = hops[len(hops)-1].addr()
	c.gone = make(chan struct{})
	c.stopKA = make(chan struct{})
	go c.watch()
	if e.s.keepalive > 0 {
		go c.keepalive(e.s.keepalive)
	}
}

// watch records why the connection ended, takes it out of the pool, and
// closes gone: every stream on it sees it lost.
func (c *conn) watch() {
	err := c.client.Wait()
	if err == nil {
		err = io.EOF
	}
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("the server closed it (%w)", err)
	}
	c.setLost(fmt.Errorf("connection lost to %s: %w", c.addr, err))
	pool.mu.Lock()
	if !c.closed {
		c.closed = true
		drop(c)
	}
	pool.mu.Unlock()
	close(c.gone)
}

// keepalive asks the server for an answer every interval; one that does not
// come within interval ends the connection, so that every Wait on it
// returns. It runs once per connection, whatever the streams on it.
func (c *conn) keepalive(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.stopKA:
			return
		case <-c.gone:
			return
		case <-t.C:
		}
		answered := make(chan struct{})
		go func() {
			c.client.SendRequest("keepalive@openssh.com", true, nil)
			close(answered)
		}()
		select {
		case <-answered:
		case <-c.stopKA:
			return
		case <-time.After(interval):
			c.setLost(fmt.Errorf("connection lost to %s: no answer to a keepalive within %v", c.client.RemoteAddr(), interval))
			c.client.Close()
			return
		}
	}
}

// refused says whether err is the server refusing to open a channel for
// want of room (its MaxSessions reached), as opposed to the connection's
// end or a port that refused a dial.
func refused(err error) bool {
	var oe *ssh.OpenChannelError
	if errors.As(err, &oe) {
		return oe.Reason == ssh.Prohibited || oe.Reason == ssh.ResourceShortage
	}
	return false
}

// onConn runs open on the stream's connection; when the server refuses the
// channel for want of room, it takes a slot on another connection (that
// the stream keeps until Close) and runs open there, once.
func onConn[T any](ctx context.Context, e *Env, open func(c *conn) (T, error)) (T, *conn, error) {
	e.connMu.Lock()
	c := e.conn
	extra := append([]*conn(nil), e.extra...)
	e.connMu.Unlock()
	var zero T
	if c == nil {
		return zero, nil, errors.New("the stream is not set up")
	}
	// Where the server refused a channel before, another connection the
	// stream holds is tried first.
	pool.mu.Lock()
	full := c.full
	pool.mu.Unlock()
	try := append([]*conn{c}, extra...)
	if full {
		try = append(extra, c)
	}
	var err error
	for _, o := range try {
		if o != c && o.lostErr() != nil {
			continue
		}
		var v T
		v, err = open(o)
		if err == nil || !refused(err) {
			return v, o, err
		}
		markFull(o)
	}
	o, aerr := e.acquire(ctx, try...)
	if aerr != nil {
		return zero, nil, fmt.Errorf("%w; another connection: %v", err, aerr)
	}
	e.connMu.Lock()
	if e.frozen || e.conn == nil {
		e.connMu.Unlock()
		release(o)
		return zero, nil, err
	}
	e.extra = append(e.extra, o)
	e.connMu.Unlock()
	v, err := open(o)
	return v, o, err
}

// poolStats is a test's view of the pool: connections open and dialled.
func poolStats() (open, dialled int) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	for _, cs := range pool.conns {
		open += len(cs)
	}
	return open, pool.dials
}
