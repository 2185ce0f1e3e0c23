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
// error instead. To wait for a line printed after some instant only (a
// new leader elected after a crash), use Mark and WaitOutputAfter.
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
	return s.waitOutput("wait for output", nil, re, timeout)
}

// OutputMark is where the output of a stream's block had reached at an
// instant: got with Stream.Mark, given to WaitOutputAfter so that only the
// lines printed after it count. The zero OutputMark is before every block:
// with it, WaitOutputAfter is WaitOutput.
type OutputMark struct {
	s              *Stream
	r              *run // the block it was taken on; nil: before any
	stdout, stderr int  // the lengths of its stdout and stderr then
	at             time.Time
}

// Mark returns where the output of the stream's current block (the last
// one, if it has ended) has reached now, on stdout and on stderr, for
// WaitOutputAfter: a test that crashes a leader marks the survivors'
// output before the crash, then waits for a line of a new election, which
// the lines of an earlier election cannot satisfy.
//
//	mark := follower.Mark()
//	leader.Kill()
//	follower.WaitOutputAfter(mark, regexp.MustCompile(`elected leader (\w+) at term (\d+)`), 10*time.Second)
//
// A mark taken before the stream ran a block, or on a block before the one
// that WaitOutputAfter then waits for (the member was restarted since),
// marks the start of that block's output: every line of it counts.
func (s *Stream) Mark() OutputMark {
	m := OutputMark{s: s, at: time.Now()}
	if r := s.last(); r != nil {
		m.r = r
		m.stdout, m.stderr = r.stdout.len(), r.stderr.len()
	}
	return m
}

// WaitOutputAfter is WaitOutput for the lines that begin after mark, got
// with Mark on this stream: a line printed, or begun, before the mark does
// not count, even if its end arrives after it. Lines of stdout and of
// stderr are matched as by WaitOutput, each from its own mark. When the
// stream's current block is not the one the mark was taken on (the stream
// has run another block since, a restarted server), every line of the
// current block counts.
//
// It fails the test, as t.Fatal does, when timeout passes first, the block
// ends first or the test ends; the message names the stream, says how many
// lines came after the mark and quotes the last lines of the block's
// output. TryWaitOutputAfter returns the error instead; a mark taken on
// another stream is an error too.
func (s *Stream) WaitOutputAfter(mark OutputMark, re *regexp.Regexp, timeout time.Duration) []string {
	s.m.t.Helper()
	m, err := s.TryWaitOutputAfter(mark, re, timeout)
	if err != nil {
		s.m.t.Fatalf("streamtest: %v", err)
	}
	return m
}

// TryWaitOutputAfter is WaitOutputAfter for code that handles the failure
// itself; its errors are those of TryWaitOutput.
func (s *Stream) TryWaitOutputAfter(mark OutputMark, re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	const op = "wait for output after a mark"
	if mark.s != nil && mark.s != s {
		return nil, s.error(op, fmt.Errorf("the mark was taken on stream %s, not on this one", mark.s.id))
	}
	return s.waitOutput(op, &mark, re, timeout)
}

// waitOutput waits until a line of the stream's current block matches re;
// with a mark, a line that begins after it.
func (s *Stream) waitOutput(op string, mark *OutputMark, re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	if re == nil {
		return nil, s.error(op, errors.New("nil pattern"))
	}
	r := s.last()
	if r == nil {
		return nil, s.error(op, fmt.Errorf("no block has run on the stream, so no output can match `%s`", re))
	}
	stdout, stderr := lineScanner{buf: &r.stdout}, lineScanner{buf: &r.stderr}
	what := "a line of stdout or stderr"
	if mark != nil {
		what = "a line of stdout or stderr begun after the mark"
		if mark.r == r {
			stdout.skipTo(mark.stdout)
			stderr.skipTo(mark.stderr)
		}
	}
	// after says how many lines followed the mark, for a failure.
	after := func() string {
		if mark == nil {
			return ""
		}
		if mark.r != r {
			return "; the mark was taken before this block began, so every line of it counted"
		}
		return fmt.Sprintf("; since the mark, taken %s ago, %s and %s",
			fmtDuration(time.Since(mark.at)), linesSince(&r.stdout, mark.stdout, "stdout"), linesSince(&r.stderr, mark.stderr, "stderr"))
	}
	ctx, cancel := context.WithTimeout(s.m.ctx, timeout)
	defer cancel()
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
				msg:   fmt.Sprintf("%s (%s, %s) without %s matching `%s`%s", ErrBlockEnded, r.describe(), r.ending(), what, re, after()),
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
					msg:   fmt.Sprintf("the test ended before %s matched `%s` (the block: %s)%s", what, re, r.describe(), after()),
					tail:  r.tail(),
					cause: []error{context.Canceled},
				})
			}
			return nil, s.error(op, &waitError{
				msg:   fmt.Sprintf("no %s matched `%s` within %v; the block (%s) %s%s", strings.TrimPrefix(what, "a "), re, timeout, r.describe(), r.state(), after()),
				tail:  r.tail(),
				cause: []error{context.DeadlineExceeded},
			})
		}
	}
}

// linesSince says how many lines of a buffer begin at or after offset off:
// "3 lines of stdout", "no line of stderr".
func linesSince(b *buffer, off int, name string) string {
	data := b.since(off)
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++ // an unended last line
	}
	if off > 0 && b.at(off-1) != '\n' && len(data) > 0 {
		n-- // the rest of a line begun before the mark
	}
	switch n {
	case 0:
		return "no line of " + name
	case 1:
		return "1 line of " + name
	}
	return fmt.Sprintf("%d lines of %s", n, name)
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

// GroupMark is where the output of every member of a group had reached:
// got with Group.Mark, given to Group.WaitOutputAfter.
type GroupMark struct {
	marks map[*Stream]OutputMark
}

// Of returns the mark of one member, for Stream.WaitOutputAfter; the zero
// OutputMark (every line counts) for a stream the group did not have.
func (m GroupMark) Of(st *Stream) OutputMark { return m.marks[st] }

// Mark marks the output of every member, as Stream.Mark.
func (g *Group) Mark() GroupMark {
	m := GroupMark{marks: make(map[*Stream]OutputMark, len(g.members))}
	for _, s := range g.members {
		m.marks[s] = s.Mark()
	}
	return m
}

// WaitOutputAfter waits, as Stream.WaitOutputAfter, until a line that
// every member's block printed after its mark matches re, all at once; it
// fails the test with every member's failure. A member that mark does not
// hold (it was not in the group that was marked) is an error naming it.
// TryWaitOutputAfter returns the failures, joined.
func (g *Group) WaitOutputAfter(mark GroupMark, re *regexp.Regexp, timeout time.Duration) {
	g.m.t.Helper()
	if err := g.TryWaitOutputAfter(mark, re, timeout); err != nil {
		g.m.t.Fatalf("streamtest: %v", err)
	}
}

// TryWaitOutputAfter is WaitOutputAfter for code that handles the failures
// itself.
func (g *Group) TryWaitOutputAfter(mark GroupMark, re *regexp.Regexp, timeout time.Duration) error {
	return g.each("wait for output after a mark", func(s *Stream) error {
		m, ok := mark.marks[s]
		if !ok {
			return s.error("wait for output after a mark", errors.New("the group's mark holds no mark of this stream (take it with Mark on a group that has it)"))
		}
		_, err := s.TryWaitOutputAfter(m, re, timeout)
		return err
	})
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
	// partial: the bytes at from end a line begun before from, which does
	// not count: skipTo a mark in the middle of a line.
	partial bool
}

// skipTo makes the scanner match only the lines that begin at offset off
// or later.
func (l *lineScanner) skipTo(off int) {
	l.from = off
	l.partial = off > 0 && l.buf.at(off-1) != '\n'
}

// scan matches every complete line not matched yet, and the last, unended
// line too when final, against re; it returns the first match.
func (l *lineScanner) scan(re *regexp.Regexp, final bool) []string {
	data := l.buf.since(l.from)
	if l.partial {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil // the line begun before the mark goes on, or ended the output
		}
		l.from += i + 1
		data = data[i+1:]
		l.partial = false
	}
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

// len returns how many bytes the buffer holds.
func (b *buffer) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.b)
}

// at returns the byte at offset off, or 0 beyond what the buffer holds.
func (b *buffer) at(off int) byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if off < 0 || off >= len(b.b) {
		return 0
	}
	return b.b[off]
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
