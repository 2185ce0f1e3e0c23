package remote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/streamtest/streamtest/stream"
)

// wrapperScript runs one block on the host. Closing an SSH channel does not
// end the remote process, so the wrapper does:
//
//   - it starts the program in a session (and process group) of its own with
//     setsid, its input from a file or /dev/null;
//   - it reads control lines from its own standard input, the SSH channel:
//     "term" and "kill" signal the program's whole group; the end of input
//     (channel closed, connection gone, test binary killed) kills it;
//   - gated, it first prints "R", parks until it reads "go", then prints
//     "G <time>" (the instant the gate opened, on the host's clock) before
//     it starts the program. Gated blocks run the wrapper with bash when the
//     host has it: its $EPOCHREALTIME reads the clock without starting a
//     process, which keeps the gates of a group close together;
//   - it registers the group in $b/run for the stream's guard;
//   - when the program ends it kills what is left of its group, and ends the
//     way the program did (same status, or the same signal).
//
// Arguments: base dir, gated (0/1), dir, stdin file, NAME=value..., --, argv.
const wrapperScript = `b=$1 g=$2 d=$3 in=$4
shift 4
while [ $# -gt 0 ] && [ "$1" != -- ]; do export "$1"; shift; done
shift
exec 3<&0 </dev/null
cd "$b/work" && cd "$d" || exit 126
command -v setsid >/dev/null 2>&1 || { echo "streamtest: setsid (util-linux) is missing on this host" >&2; exit 126; }
if [ "$g" = 1 ]; then
  echo R
  read -r c <&3 || exit 125
  case $c in go) ;; term) kill -TERM $$ ;; *) kill -KILL $$ ;; esac
  if [ -n "${EPOCHREALTIME:-}" ]; then echo "G $EPOCHREALTIME"; else echo "G $(date +%s%N)"; fi
fi
setsid "$@" <"$in" 3<&- &
p=$!
: >"$b/run/$p"
( while read -r c; do case $c in term) kill -TERM -"$p" ;; kill) kill -KILL -"$p" ;; esac; done; kill -KILL -"$p" ) <&3 2>/dev/null &
w=$!
exec 3<&-
wait "$p"; rc=$?
kill -KILL -"$p" 2>/dev/null
kill -KILL "$w" 2>/dev/null
case $in in "$b"/run/*) rm -f "$in" ;; esac
rm -f "$b/run/$p" >/dev/null 2>&1 &
if [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then kill -$((rc - 128)) $$; fi
exit "$rc"`

type process struct {
	e     *Env
	sess  *ssh.Session
	gated bool

	mu       sync.Mutex
	in       io.WriteCloser
	released bool

	started time.Time
	gateAt  chan time.Time // gated: the remote instant the gate opened
	done    chan struct{}  // closed when Wait's result is known
	exit    stream.Exit
	err     error
}

// Start starts cmd through the wrapper. Gated, it returns once the wrapper
// is parked at its gate.
func (e *Env) Start(ctx context.Context, cmd *stream.Command) (stream.Process, error) {
	p, err := e.start(ctx, cmd)
	if err != nil {
		return nil, e.wrap("start", err)
	}
	return p, nil
}

func (e *Env) start(ctx context.Context, cmd *stream.Command) (*process, error) {
	if len(cmd.Args) == 0 {
		return nil, errors.New("no program given (Command.Args is empty)")
	}
	for _, kv := range cmd.Env {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || !validName(name) {
			return nil, fmt.Errorf("environment entry %q is not NAME=value with a shell variable name", kv)
		}
	}
	e.mu.Lock()
	client, base, closed := e.client, e.base, e.closed
	e.nstdin++
	n := e.nstdin
	e.mu.Unlock()
	lost := e.lostErr()
	switch {
	case closed:
		return nil, errors.New("stream is closed")
	case client == nil:
		return nil, errors.New("stream is not set up")
	case lost != nil:
		return nil, lost
	}
	in := "/dev/null"
	if cmd.Stdin != nil {
		// The channel's input is the wrapper's control line, so the
		// program's input is shipped as a file first.
		c, _, err := e.sftpClient()
		if err != nil {
			return nil, err
		}
		in = path.Join(base, "run", "stdin-"+strconv.Itoa(n))
		if err := sendReader(ctx, c, cmd.Stdin, -1, in, 0o600); err != nil {
			return nil, fmt.Errorf("sending standard input: %w", err)
		}
	}
	dir := cmd.Dir
	if dir == "" {
		dir = "."
	}
	gated := "0"
	if cmd.Gated {
		gated = "1"
	}
	args := []string{"streamtest-block", quote(base), gated, quote(dir), quote(in)}
	for _, kv := range cmd.Env {
		args = append(args, quote(kv))
	}
	args = append(args, "--")
	for _, a := range cmd.Args {
		args = append(args, quote(a))
	}
	line := "exec /bin/sh -c " + quote(wrapperScript) + " " + strings.Join(args, " ")
	if cmd.Gated {
		line = "command -v bash >/dev/null 2>&1 && exec bash -c " + quote(wrapperScript) + " " + strings.Join(args, " ") + "; " + line
	}

	sess, err := client.NewSession()
	if err != nil {
		if l := e.lostErr(); l != nil {
			return nil, l
		}
		return nil, fmt.Errorf("cannot open a session: %w", err)
	}
	stdin, err1 := sess.StdinPipe()
	stdout, err2 := sess.StdoutPipe()
	stderr, err3 := sess.StderrPipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		sess.Close()
		return nil, err
	}
	p := &process{e: e, sess: sess, in: stdin, gated: cmd.Gated, done: make(chan struct{}), gateAt: make(chan time.Time, 1)}
	if err := sess.Start(line); err != nil {
		sess.Close()
		return nil, fmt.Errorf("cannot start %s: %w", cmd.Args[0], err)
	}
	p.started = time.Now()

	var errTail bytes.Buffer
	errW := io.MultiWriter(orDiscard(cmd.Stderr), &limitWriter{w: &errTail, n: 2048})
	outW := orDiscard(cmd.Stdout)
	ready := make(chan bool, 1)
	var copies sync.WaitGroup
	copies.Add(2)
	go func() {
		defer copies.Done()
		io.Copy(errW, stderr)
	}()
	go func() {
		defer copies.Done()
		rd := bufio.NewReader(stdout)
		if cmd.Gated {
			l, err := rd.ReadString('\n')
			ready <- err == nil && l == "R\n"
			if err != nil {
				return
			}
			l, err = rd.ReadString('\n')
			if err != nil {
				return
			}
			p.gateAt <- parseGateTime(strings.TrimSpace(strings.TrimPrefix(l, "G ")))
		}
		io.Copy(outW, rd)
	}()
	e.mu.Lock()
	e.procs[p] = struct{}{}
	e.mu.Unlock()
	go p.wait(&copies)

	if cmd.Gated {
		select {
		case ok := <-ready:
			if !ok {
				<-p.done
				if p.err != nil {
					return nil, p.err
				}
				return nil, fmt.Errorf("the block did not get ready (exit status %d): %s", p.exit.Code, strings.TrimSpace(errTail.String()))
			}
		case <-ctx.Done():
			p.control("kill")
			p.sess.Close()
			return nil, ctx.Err()
		}
	}
	return p, nil
}

func (p *process) wait(copies *sync.WaitGroup) {
	err := p.sess.Wait()
	copies.Wait()
	ended := time.Now()
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		p.exit.Code = exitErr.ExitStatus()
		if s := exitErr.Signal(); s != "" {
			p.exit.Code = -1
			p.exit.Signal, _ = stream.ParseSignal(s)
		}
	default:
		// When the connection went, the session usually learns first.
		p.e.mu.Lock()
		gone := p.e.gone
		p.e.mu.Unlock()
		select {
		case <-gone:
		case <-time.After(2 * time.Second):
		}
		cause := p.e.lostErr()
		if cause == nil {
			cause = fmt.Errorf("the outcome never came: %w", err)
		}
		p.err = p.e.wrap("wait", cause)
	}
	p.exit.Started = p.started
	if p.gated {
		select {
		case t := <-p.gateAt:
			p.exit.Started = t
		default:
		}
	}
	p.exit.Ended = ended
	p.sess.Close()
	p.e.mu.Lock()
	delete(p.e.procs, p)
	p.e.mu.Unlock()
	close(p.done)
}

// Release opens the gate: one short write on the channel.
func (p *process) Release() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.gated {
		return p.e.wrap("synchronize", errors.New("Release of a process that was not gated"))
	}
	if p.released {
		return p.e.wrap("synchronize", errors.New("Release called twice"))
	}
	p.released = true
	if _, err := p.in.Write([]byte("go\n")); err != nil {
		return p.e.wrap("synchronize", fmt.Errorf("cannot open the gate: %w", err))
	}
	return nil
}

func (p *process) Done() <-chan struct{} { return p.done }

// Signal sends TERM or KILL through the wrapper's control line (other
// signals are sent as KILL until the wrapper learns them).
func (p *process) Signal(sig syscall.Signal) error {
	if sig == syscall.SIGTERM {
		p.control("term")
	} else {
		p.control("kill")
	}
	return nil
}

func (p *process) Wait() (stream.Exit, error) {
	<-p.done
	return p.exit, p.err
}

// Stop signals the program's process group: TERM, then KILL after grace.
func (p *process) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if grace > 0 {
		p.control("term")
		select {
		case <-p.done:
			return nil
		case <-time.After(grace):
		}
	}
	p.control("kill")
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	// No answer: closing the channel ends the wrapper's input, and the
	// wrapper kills the group when it notices.
	p.sess.Close()
	return p.e.wrap("stop", fmt.Errorf("no answer from the host within %v after SIGKILL", stopTimeout))
}

var stopTimeout = 10 * time.Second

// control sends a control line to the wrapper.
func (p *process) control(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gated && !p.released {
		p.released = true // the gate reads this line instead of "go"
	}
	p.in.Write([]byte(line + "\n"))
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
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
