package streamtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// ErrBlockEnded is wrapped by the error of WaitOutput when the block ended
// before a line of its output matched.
var ErrBlockEnded = errors.New("the block ended")

// tailLines is how many of the last lines of stdout and of stderr a failed
// wait quotes.
const tailLines = 5

// How WaitPort retries: the first retry after minBackoff, each next one
// after twice as long, at most maxBackoff; one attempt lasts at most
// dialTimeout (an address that drops the connection's packets).
var (
	minBackoff  = 20 * time.Millisecond
	maxBackoff  = 100 * time.Millisecond
	dialTimeout = 3 * time.Second
)

// WaitOutput waits until a line of the output of the stream's block matches
// re, and returns the match and its submatches (re.FindStringSubmatch of
// the line), so that a server that prints "listening on port 34567" tells
// its port.
//
// Lines of stdout and of stderr are matched one by one, apart, without
// their newline, from the start of the block's output: a line printed
// before WaitOutput was called counts. A line counts once its newline has
// arrived (a half-written line never matches half a pattern); the last
// line, unended, counts too once the block has ended.
//
// It waits for the stream's current block, or the last one if it has
// ended: started with Run, without Wait. It wakes on each write of the
// block, with no polling. It fails the test, as t.Fatal does (call it from
// the test's goroutine), when timeout passes first, when the block ends
// first, or when the test ends: the message names the stream and quotes the
// last lines of the block's stdout and stderr. TryWaitOutput returns the
// error instead.
func (s *Stream) WaitOutput(re *regexp.Regexp, timeout time.Duration) []string {
	s.m.t.Helper()
	m, err := s.TryWaitOutput(re, timeout)
	if err != nil {
		s.m.t.Fatalf("streamtest: %v", err)
	}
	return m
}

// TryWaitOutput is WaitOutput for code that handles the failure itself.
// The error, a *stream.Error naming the stream, wraps
// context.DeadlineExceeded when timeout passed, ErrBlockEnded when the
// block ended, context.Canceled when the test ended.
func (s *Stream) TryWaitOutput(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	const op = "wait for output"
	if re == nil {
		return nil, s.error(op, errors.New("nil pattern"))
	}
	r := s.last()
	if r == nil {
		return nil, s.error(op, fmt.Errorf("no block has run on the stream, so no output can match `%s`", re))
	}
	ctx, cancel := context.WithTimeout(s.m.ctx, timeout)
	defer cancel()
	stdout, stderr := lineScanner{buf: &r.stdout}, lineScanner{buf: &r.stderr}
	for {
		// The channels first: a write after them wakes the select below.
		outGrew, errGrew := r.stdout.changed(), r.stderr.changed()
		ended := isClosed(r.done) // then all the output is in
		if m := stdout.scan(re, ended); m != nil {
			return m, nil
		}
		if m := stderr.scan(re, ended); m != nil {
			return m, nil
		}
		if ended {
			return nil, s.error(op, &waitError{
				msg:   fmt.Sprintf("%s (%s, %s) without a line of stdout or stderr matching `%s`", ErrBlockEnded, r.describe(), r.ending(), re),
				tail:  r.tail(),
				cause: []error{ErrBlockEnded},
			})
		}
		select {
		case <-outGrew:
		case <-errGrew:
		case <-r.done:
		case <-ctx.Done():
			if s.m.ctx.Err() != nil {
				return nil, s.error(op, &waitError{
					msg:   fmt.Sprintf("the test ended before a line of stdout or stderr matched `%s` (the block: %s)", re, r.describe()),
					tail:  r.tail(),
					cause: []error{context.Canceled},
				})
			}
			return nil, s.error(op, &waitError{
				msg:   fmt.Sprintf("no line of stdout or stderr matched `%s` within %v; the block (%s) %s", re, timeout, r.describe(), r.state()),
				tail:  r.tail(),
				cause: []error{context.DeadlineExceeded},
			})
		}
	}
}

// WaitPort waits until TCP port port of the stream accepts connections at
// the stream's Host(), the address other streams use, checked from the
// stream's side: a remote stream connects from its host, through its own
// SSH connection (behind a jump host too); a local stream and a container
// on this machine's engine from the test process. It connects, closes the
// connection at once, and retries every 20 to 100 ms until it succeeds.
//
// It fails the test, as t.Fatal does (call it from the test's goroutine),
// when timeout passes first or the test ends; the message names the
// stream, the address and the last connection error, and quotes the last
// lines of the stream's block, if one ran. A stream that cannot be reached
// this way (network "none", a container on an engine elsewhere, a type
// that does not implement stream.Dialer) fails at once. TryWaitPort returns
// the error instead. WaitAddr waits for any address, as the stream sees
// it.
func (s *Stream) WaitPort(port int, timeout time.Duration) {
	s.m.t.Helper()
	if err := s.TryWaitPort(port, timeout); err != nil {
		s.m.t.Fatalf("streamtest: %v", err)
	}
}

// TryWaitPort is WaitPort for code that handles the failure itself. The
// error, a *stream.Error naming the stream, wraps context.DeadlineExceeded
// and the last connection error when timeout passed, context.Canceled when
// the test ended, errors.ErrUnsupported when the stream cannot be reached
// so.
func (s *Stream) TryWaitPort(port int, timeout time.Duration) error {
	if port < 1 || port > 65535 {
		return s.error("wait for a port", fmt.Errorf("port %d is out of range", port))
	}
	env, err := s.ensureEnv(s.m.ctx)
	if err != nil {
		return err
	}
	return s.waitAddr(env, net.JoinHostPort(env.Host(), strconv.Itoa(port)), timeout)
}

// WaitAddr is WaitPort for any TCP address, "host:port", as the stream
// sees it: WaitAddr("127.0.0.1:2379", d) on a remote stream waits for a
// server bound to the remote host's loopback; WaitAddr(s.At(2).Host()+":2380",
// d) on stream 1 waits until stream 1 reaches stream 2's port.
func (s *Stream) WaitAddr(addr string, timeout time.Duration) {
	s.m.t.Helper()
	if err := s.TryWaitAddr(addr, timeout); err != nil {
		s.m.t.Fatalf("streamtest: %v", err)
	}
}

// TryWaitAddr is WaitAddr for code that handles the failure itself; see
// TryWaitPort.
func (s *Stream) TryWaitAddr(addr string, timeout time.Duration) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return s.error("wait for a port", fmt.Errorf("address %q: %w", addr, err))
	}
	env, err := s.ensureEnv(s.m.ctx)
	if err != nil {
		return err
	}
	return s.waitAddr(env, addr, timeout)
}

// waitAddr connects to addr through the stream's Dialer until it succeeds.
func (s *Stream) waitAddr(env stream.Environment, addr string, timeout time.Duration) error {
	const op = "wait for a port"
	d, ok := env.(stream.Dialer)
	if !ok {
		return s.errorEnv(env, op, fmt.Errorf("cannot connect to %s from the stream's side: the %s type does not implement stream.Dialer (%w)",
			addr, s.typeForMessage(), errors.ErrUnsupported))
	}
	ctx, cancel := context.WithTimeout(s.m.ctx, timeout)
	defer cancel()
	backoff := minBackoff
	var last error
	for tries := 1; ; tries++ {
		actx, acancel := context.WithTimeout(ctx, dialTimeout)
		conn, err := d.DialContext(actx, "tcp", addr)
		acancel()
		if err == nil {
			conn.Close()
			return nil
		}
		if errors.Is(err, errors.ErrUnsupported) {
			return s.errorEnv(env, op, fmt.Errorf("cannot connect to %s: %w", addr, err))
		}
		if last == nil || ctx.Err() == nil {
			last = err // not the cut of the last attempt by the deadline
		}
		if ctx.Err() == nil {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
				backoff = min(2*backoff, maxBackoff)
				continue
			case <-ctx.Done():
				t.Stop()
			}
		}
		attempts := strconv.Itoa(tries) + " attempts"
		if tries == 1 {
			attempts = "1 attempt"
		}
		var block, tail string
		if r := s.last(); r != nil {
			block = fmt.Sprintf("; the block (%s) %s", r.describe(), r.state())
			tail = r.tail()
		}
		if s.m.ctx.Err() != nil {
			return s.errorEnv(env, op, &waitError{
				msg:   fmt.Sprintf("the test ended before %s accepted a connection (%s; the last: %v)%s", addr, attempts, last, block),
				tail:  tail,
				cause: []error{context.Canceled, last},
			})
		}
		return s.errorEnv(env, op, &waitError{
			msg:   fmt.Sprintf("nothing accepted a connection at %s within %v (%s from the stream's side; the last: %v)%s", addr, timeout, attempts, last, block),
			tail:  tail,
			cause: []error{context.DeadlineExceeded, last},
		})
	}
}

// WaitPort waits, as Stream.WaitPort, until port accepts connections on
// every member, all at once; it fails the test with every member's
// failure. TryWaitPort returns them, joined.
func (g *Group) WaitPort(port int, timeout time.Duration) {
	g.m.t.Helper()
	if err := g.TryWaitPort(port, timeout); err != nil {
		g.m.t.Fatalf("streamtest: %v", err)
	}
}

// TryWaitPort is WaitPort for code that handles the failures itself.
func (g *Group) TryWaitPort(port int, timeout time.Duration) error {
	return g.each("wait for port "+strconv.Itoa(port), func(s *Stream) error { return s.TryWaitPort(port, timeout) })
}

// WaitOutput waits, as Stream.WaitOutput, until a line of every member's
// block matches re, all at once; it fails the test with every member's
// failure. TryWaitOutput returns them, joined.
func (g *Group) WaitOutput(re *regexp.Regexp, timeout time.Duration) {
	g.m.t.Helper()
	if err := g.TryWaitOutput(re, timeout); err != nil {
		g.m.t.Fatalf("streamtest: %v", err)
	}
}

// TryWaitOutput is WaitOutput for code that handles the failures itself.
func (g *Group) TryWaitOutput(re *regexp.Regexp, timeout time.Duration) error {
	return g.each("wait for output", func(s *Stream) error { _, err := s.TryWaitOutput(re, timeout); return err })
}

// waitError is why a wait failed: a message, the last lines of the block's
// output, and the causes it wraps.
type waitError struct {
	msg   string
	tail  string
	cause []error
}

func (e *waitError) Error() string   { return e.msg + e.tail }
func (e *waitError) Unwrap() []error { return e.cause }

// lineScanner matches the lines of a buffer that it has not matched yet.
type lineScanner struct {
	buf  *buffer
	from int // the offset of the first line not matched yet
}

// scan matches every complete line not matched yet, and the last, unended
// line too when final, against re; it returns the first match.
func (l *lineScanner) scan(re *regexp.Regexp, final bool) []string {
	data := l.buf.since(l.from)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := data[:i]
		l.from += i + 1
		data = data[i+1:]
		if m := re.FindSubmatch(bytes.TrimSuffix(line, []byte("\r"))); m != nil {
			return strs(m)
		}
	}
	if final && len(data) > 0 {
		if m := re.FindSubmatch(data); m != nil {
			return strs(m)
		}
	}
	return nil
}

func strs(m [][]byte) []string {
	out := make([]string, len(m))
	for i, b := range m {
		out[i] = string(b)
	}
	return out
}

// changed returns a channel that the next Write closes.
func (b *buffer) changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.grew == nil {
		b.grew = make(chan struct{})
	}
	return b.grew
}

// since returns a copy of what the buffer holds from offset off on.
func (b *buffer) since(off int) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if off >= len(b.b) {
		return nil
	}
	return append([]byte(nil), b.b[off:]...)
}

// describe names the run's block: `shell "echo ready"`.
func (r *run) describe() string { return r.block.Kind() + " " + quoteSummary(r.block.String()) }

// state says whether the run's block still runs or how it ended: "is
// still running", "ended (exit status 3) 1.20s ago".
func (r *run) state() string {
	if !isClosed(r.done) {
		return "is still running"
	}
	return fmt.Sprintf("ended (%s) %s ago", r.ending(), fmtDuration(time.Since(r.outcome.Ended)))
}

// ending says how the ended run ended: "exit status 3", "killed by
// SIGKILL, timed out after 5s", "could not start: ...".
func (r *run) ending() string {
	oc := r.outcome
	var parts []string
	switch {
	case oc.Exited:
		parts = append(parts, oc.Exit.String())
	case oc.Err != nil:
		err := oc.Err
		if se, ok := errors.AsType[*stream.Error](err); ok && se.ID == r.s.id {
			parts = append(parts, se.Op+" failed: "+se.Err.Error()) // the prefix is the wait's
		} else {
			parts = append(parts, "failed: "+err.Error())
		}
	default:
		parts = append(parts, "did not run")
	}
	if oc.Stopped != NotStopped {
		parts = append(parts, oc.StopMessage())
	}
	return strings.Join(parts, ", ")
}

// tail quotes the last lines of the run's stdout and stderr, for a failed
// wait's message.
func (r *run) tail() string {
	return "\n" + quoteTail("stdout", &r.stdout) + "\n" + quoteTail("stderr", &r.stderr)
}

func quoteTail(name string, b *buffer) string {
	data, dropped := b.bytes()
	text := strings.TrimRight(string(data), "\n")
	if text == "" && dropped == 0 {
		return "  " + name + ": empty"
	}
	lines := strings.Split(text, "\n")
	head := fmt.Sprintf("  %s (%d lines):", name, len(lines))
	if len(lines) == 1 {
		head = "  " + name + " (1 line):"
	}
	if len(lines) > tailLines {
		head = fmt.Sprintf("  %s (the last %d of %d lines):", name, tailLines, len(lines))
		lines = lines[len(lines)-tailLines:]
	}
	if dropped > 0 {
		head = fmt.Sprintf("  %s (the last %d lines kept; %d bytes past %d MiB were not kept):", name, len(lines), dropped, maxOutput>>20)
	}
	var sb strings.Builder
	sb.WriteString(head)
	for _, l := range lines {
		sb.WriteString("\n    | " + strings.TrimSuffix(l, "\r"))
	}
	return sb.String()
}
