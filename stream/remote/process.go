package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/streamtest/streamtest/stream"
)

// process is one block: an SSH session running the wrapper, which became
// the program. Signals go through the stream's guard, to the block's
// process group.
type process struct {
	stream.Ending
	e     *Env
	g     *guard
	c     *conn // the connection of its session
	ch    ssh.Channel
	gated bool
	stdin io.Reader // the program's input, nil for none

	mu       sync.Mutex
	pgid     int            // the block's process group on the host
	started  time.Time      // non-gated: when the host took the command
	released bool           // the gate line was written
	gateSig  syscall.Signal // the signal that closed the gate instead of opening it
	gateAt   time.Time      // gated: when the gate opened, on the host's clock

	tail bytes.Buffer // the start of stderr, for a wrapper that ended early
}

// controlByte starts the wrapper's report lines on stderr.
const controlByte = 0x1e

// lostWait bounds how long a session that ended without an exit status
// waits for the connection's end to be known, to report its cause.
const lostWait = 2 * time.Second

// Start starts cmd through the wrapper and returns once the wrapper found
// the directory and the program and is about to run it (gated: parked at
// its gate). A missing program or directory is an error of Start.
func (e *Env) Start(ctx context.Context, cmd *stream.Command) (stream.Process, error) {
	if len(cmd.Args) == 0 {
		return nil, errors.New("no program given (Command.Args is empty)")
	}
	pre, err := preamble(cmd.Env)
	if err != nil {
		return nil, err
	}
	g, base, err := e.ready()
	if err != nil {
		return nil, err
	}
	flags := wrapperFlags(cmd.Gated, len(pre) > 0, cmd.Stdin != nil)
	line := wrapperLine(base, flags, cmd.Dir, cmd.Args)
	type block struct {
		ch     ssh.Channel
		status <-chan stream.Exit
	}
	b, c, err := onConn(ctx, e, func(c *conn) (block, error) {
		ch, status, err := e.openBlock(c.client, line)
		return block{ch, status}, err
	})
	if err != nil {
		return nil, err
	}
	ch, status := b.ch, b.status
	p := &process{e: e, g: g, c: c, ch: ch, gated: cmd.Gated, stdin: cmd.Stdin, started: time.Now()}
	// The preamble goes first; the program's input follows it, or, gated,
	// follows the gate line that Release writes. A block without input
	// reads /dev/null: nothing more is sent, not even the end of input.
	if len(pre) > 0 {
		if _, err := ch.Write(pre); err != nil {
			ch.Close()
			return nil, e.cause(fmt.Errorf("cannot send the environment: %w", err))
		}
	}
	if !cmd.Gated && cmd.Stdin != nil {
		go p.copyStdin()
	}
	ready, ended := p.copyOutput(status, cmd.Stdout, cmd.Stderr)
	if err := p.awaitReady(ctx, ready, ended, cmd.Args[0]); err != nil {
		return nil, err
	}
	if err := e.procs.Add(p); err != nil {
		g.signal(p.pgid, syscall.SIGKILL)
		ch.Close()
		return nil, err
	}
	go func() {
		<-ended
		e.procs.Remove(p)
	}()
	return p, nil
}

// copyOutput copies the block's output to stdout and stderr, less the
// wrapper's reports, and waits for its end in the background. ready says
// whether the wrapper is ready; ended is closed once the process's end is
// recorded.
func (p *process) copyOutput(status <-chan stream.Exit, stdout, stderr io.Writer) (ready <-chan error, ended <-chan struct{}) {
	out, errOut := newOutput(stdout), newOutput(stderr)
	r := make(chan error, 1)
	var copies sync.WaitGroup
	copies.Add(2)
	go func() {
		defer copies.Done()
		io.Copy(out, p.ch)
	}()
	go func() {
		defer copies.Done()
		p.readStderr(bufio.NewReader(p.ch.Stderr()), io.MultiWriter(errOut, &limitWriter{w: &p.tail, n: 2048}), r)
	}()
	e := make(chan struct{})
	go func() {
		p.wait(status, &copies, out, errOut)
		close(e)
	}()
	return r, e
}

// awaitReady waits for the wrapper's first report: the program is about
// to run (or, gated, parked), or why not.
func (p *process) awaitReady(ctx context.Context, ready <-chan error, ended <-chan struct{}, program string) error {
	var err error
	select {
	case err = <-ready:
	case <-ctx.Done():
		p.ch.Close() // a wrapper still reading its preamble ends
		return ctx.Err()
	}
	switch {
	case err == errNotReady:
		<-ended
		x, werr := p.Wait()
		if werr != nil {
			return werr
		}
		return fmt.Errorf("the block's wrapper ended (%v) before it ran %s: %s", x, program, strings.TrimSpace(p.tail.String()))
	case err != nil:
		<-ended // the wrapper ends at once: nothing is left
	}
	return err
}

var errNotReady = errors.New("the wrapper ended before it was ready")

// openBlock opens a session channel and runs line in it. status receives
// the session's end: its exit-status or exit-signal request, or nothing
// (closed) when the channel ended without one.
func (e *Env) openBlock(client *ssh.Client, line string) (ssh.Channel, <-chan stream.Exit, error) {
	ch, reqs, err := client.OpenChannel("session", nil)
	if err != nil {
		return nil, nil, e.cause(fmt.Errorf("cannot open a session: %w", err))
	}
	status := make(chan stream.Exit, 1)
	go func() {
		defer close(status)
		sent := false
		for r := range reqs {
			if x, ok := exitRequest(r); ok && !sent {
				status <- x
				sent = true
			}
			if r.WantReply {
				r.Reply(false, nil)
			}
		}
	}()
	ok, err := ch.SendRequest("exec", true, ssh.Marshal(struct{ Command string }{line}))
	if err != nil || !ok {
		ch.Close()
		if err == nil {
			err = errors.New("the server refused it")
		}
		return nil, nil, e.cause(fmt.Errorf("cannot run the block's wrapper: %w", err))
	}
	return ch, status, nil
}

// exitRequest reads a session's exit-status or exit-signal request.
func exitRequest(r *ssh.Request) (stream.Exit, bool) {
	switch r.Type {
	case "exit-status":
		if len(r.Payload) >= 4 {
			return stream.Exit{Code: int(binary.BigEndian.Uint32(r.Payload))}, true
		}
	case "exit-signal":
		var p struct {
			Signal     string
			CoreDumped bool
			Msg, Lang  string
		}
		if ssh.Unmarshal(r.Payload, &p) == nil {
			sig, _ := stream.ParseSignal(p.Signal) // "KILL", as RFC 4254 names them
			return stream.Exit{Code: -1, Signal: sig}, true
		}
	}
	return stream.Exit{}, false
}

// cause returns why the connection is gone when it is, else err.
func (e *Env) cause(err error) error {
	if lost := e.lostErr(); lost != nil {
		return lost
	}
	return err
}

// readStderr reads the wrapper's report lines, passes everything else to
// w, and says on ready whether the program is about to run (nil), was not
// usable, or the wrapper ended first (errNotReady).
func (p *process) readStderr(r *bufio.Reader, w io.Writer, ready chan<- error) {
	told := false
	tell := func(err error) {
		if !told {
			told = true
			ready <- err
		}
	}
	defer tell(errNotReady)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			w.Write([]byte(line))
			return
		}
		if line[0] != controlByte {
			w.Write([]byte(line)) // the login shell's complaints
			continue
		}
		word, arg, _ := strings.Cut(strings.TrimSpace(line[1:]), " ")
		switch word {
		case "error":
			tell(errors.New(arg))
			io.Copy(w, r)
			return
		case "ready":
			p.mu.Lock()
			p.pgid, _ = strconv.Atoi(arg)
			p.mu.Unlock()
			tell(nil)
			if !p.gated {
				io.Copy(w, r)
				return
			}
		case "go":
			p.mu.Lock()
			p.gateAt = parseGateTime(arg)
			p.mu.Unlock()
			io.Copy(w, r)
			return
		}
	}
}

// copyStdin streams the program's input, then ends it.
func (p *process) copyStdin() {
	if p.stdin != nil {
		io.Copy(p.ch, p.stdin)
	}
	p.ch.CloseWrite()
}

// wait waits for the session's end, then for its output at most
// stream.OutputWait (background processes may hold it open), and records
// how the process ended.
func (p *process) wait(status <-chan stream.Exit, copies *sync.WaitGroup, out, errOut *output) {
	x, ok := <-status
	ended := time.Now()
	copied := make(chan struct{})
	go func() {
		copies.Wait()
		close(copied)
	}()
	t := time.NewTimer(stream.OutputWait)
	select {
	case <-copied:
	case <-t.C:
	}
	t.Stop()
	out.stop()
	errOut.stop()
	p.ch.Close()

	var err error
	if !ok {
		t := time.NewTimer(lostWait)
		select {
		case <-p.c.gone:
		case <-t.C:
		}
		t.Stop()
		err = p.e.lostOn(p.c)
		if err == nil {
			err = errors.New("the session ended without an exit status")
		}
	}
	p.mu.Lock()
	if p.gateSig != 0 {
		x = stream.Exit{Code: -1, Signal: p.gateSig}
	} else if p.gated {
		x.Started = p.gateAt
	} else {
		x.Started = p.started
	}
	p.mu.Unlock()
	x.Ended = ended
	p.End(x, err)
}

// Release opens the gate: one short write on the channel, and nothing
// else when the block has no input. The program's input follows.
func (p *process) Release() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !p.gated:
		return errors.New("Release of a process that was not gated")
	case p.gateSig != 0:
		return fmt.Errorf("Release of a process whose gate %s closed", stream.SignalName(p.gateSig))
	case p.released:
		return errors.New("Release called twice")
	}
	p.released = true
	if _, err := p.ch.Write([]byte("go\n")); err != nil {
		return p.e.cause(fmt.Errorf("cannot open the gate: %w", err))
	}
	if p.stdin != nil {
		go p.copyStdin()
	}
	return nil
}

// Signal sends sig to the block's process group through the stream's
// guard; it reaches what the block left running after its program ended.
// On a gated process not released yet, it closes the gate instead: the
// program never runs and the process ends as killed by sig.
func (p *process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	if p.gated && !p.released {
		p.released = true
		p.gateSig = sig
		p.mu.Unlock()
		p.ch.Write([]byte("no\n")) // the wrapper ends at its gate
		p.ch.CloseWrite()
		return nil
	}
	pgid := p.pgid
	p.mu.Unlock()
	if err := p.g.signal(pgid, sig); err != nil {
		return p.e.cause(err)
	}
	return nil
}

// output is a destination of a block's output that can be stopped: after
// stop, nothing more is written to it.
type output struct {
	mu      sync.Mutex
	w       io.Writer
	stopped bool
}

var errOutputStopped = errors.New("the output of the block is no longer copied")

func newOutput(w io.Writer) *output {
	if w == nil {
		w = io.Discard
	}
	return &output{w: w}
}

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped {
		return 0, errOutputStopped
	}
	return o.w.Write(b)
}

func (o *output) stop() {
	o.mu.Lock()
	o.stopped = true
	o.mu.Unlock()
}

// parseGateTime reads the wrapper's clock reading: nanoseconds since the
// epoch (date +%s%N) or seconds with a fraction ($EPOCHREALTIME). It falls
// back to the local clock.
func parseGateTime(s string) time.Time {
	sec, frac, hasFrac := strings.Cut(s, ".")
	if !hasFrac {
		sec, frac, hasFrac = strings.Cut(s, ",") // a locale's decimal comma
	}
	if hasFrac {
		secs, err1 := strconv.ParseInt(sec, 10, 64)
		frac = (frac + "000000000")[:9]
		ns, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 == nil && err2 == nil {
			return time.Unix(secs, ns)
		}
	} else if ns, err := strconv.ParseInt(s, 10, 64); err == nil && len(s) > 12 {
		return time.Unix(0, ns)
	}
	return time.Now()
}
