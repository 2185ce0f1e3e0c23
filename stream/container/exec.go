package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/streamtest/streamtest/stream"
)

// wrapper is the shell program every block runs under, inside the
// container. `docker exec` has no way to kill what it started, so the
// program must run in a process group of its own, which Stop signals
// through a second exec. An exec'd process normally leads a group of its
// own already (runc makes it so): then the wrapper execs the program in
// place and that group is the program's. Where it does not, the wrapper
// starts the program with setsid (when the image has it) and waits for it.
//
// It writes control lines to stderr before anything of the program, each
// starting with the byte 0x1e: "ready PID" once it runs, then (a gated
// wrapper first reads one line from stdin: the gate) "go" and "pgid N" (a
// negative N is a plain pid: no group could be made). The program's stdin
// is the rest of the wrapper's stdin. STREAMTEST_WRAPPER_SETSID=1 in the
// block's environment forces the setsid way (the tests use it).
//
//	$1: 1 for a gated start, else 0; $2: the directory to run in; the
//	rest: the program and its arguments
const wrapper = mkWorkDir + `
cd "$2" || exit 126
g=$1; shift 2
pg=
read -r _ _ _ _ pg _ </proc/$$/stat 2>/dev/null
printf '\036ready %s\n' $$ >&2
if [ "$g" = 1 ]; then read -r _ || exit 125; fi
if [ "$pg" = "$$" ] && [ -z "${STREAMTEST_WRAPPER_SETSID:-}" ]; then
  printf '\036go\n\036pgid %s\n' $$ >&2
  exec "$@"
fi
printf '\036go\n' >&2
exec 3<&0
if command -v setsid >/dev/null 2>&1; then
  setsid /bin/sh -c 'printf "\036pgid %s\n" $$ >&2; exec "$@"' sh "$@" <&3 3<&- &
else
  /bin/sh -c 'printf "\036pgid -%s\n" $$ >&2; exec "$@"' sh "$@" <&3 3<&- &
fi
exec 3<&-
wait $!`

// Start runs cmd in the container through exec, under the wrapper.
func (e *Env) Start(ctx context.Context, cmd *stream.Command) (stream.Process, error) {
	if cmd == nil || len(cmd.Args) == 0 {
		return nil, e.lockedErr("start", "no program given")
	}
	eng, id, err := e.ready(ctx, "start")
	if err != nil {
		return nil, err
	}
	dir := cmd.Dir
	if dir == "" {
		dir = workDir
	} else if !path.IsAbs(dir) {
		dir = path.Join(workDir, dir)
	}
	gate := "0"
	if cmd.Gated {
		gate = "1"
	}
	argv := append([]string{"/bin/sh", "-c", wrapper, "streamtest-wrapper", gate, dir}, cmd.Args...)
	created, err := eng.cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Env:          cmd.Env,
		WorkingDir:   "/",
		Cmd:          argv,
	})
	if err != nil {
		return nil, e.execErr(ctx, "start", err)
	}
	hj, err := eng.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, e.execErr(ctx, "start", err)
	}
	p := &process{
		env:    e,
		eng:    eng,
		execID: created.ID,
		hj:     hj,
		stdin:  cmd.Stdin,
		gated:  cmd.Gated,
		ready:  make(chan struct{}),
		pgidCh: make(chan struct{}),
		done:   make(chan struct{}),
	}
	p.ctl = &control{p: p}
	e.mu.Lock()
	e.procs[p] = true
	e.mu.Unlock()
	go p.copyOut(cmd.Stdout, cmd.Stderr)
	if !cmd.Gated {
		go p.copyIn()
	}
	// Start returns once the wrapper runs in its directory (and, gated,
	// waits at its gate).
	select {
	case <-p.ready:
		return p, nil
	case <-p.done:
		select {
		case <-p.ready:
			return p, nil // it ran, and ended already
		default:
		}
		exit, err := p.Wait()
		switch {
		case err != nil:
			return nil, err
		case exit.Code == 126:
			return nil, e.lockedErr("start", "cannot enter the directory %s in the container", dir)
		}
		return nil, e.lockedErr("start", "the wrapper ended (%s) before it started the program: does the image have /bin/sh?", exitText(exit))
	case <-ctx.Done():
		p.hj.Close()
		<-p.done
		return nil, e.lockedErr("start", "waiting for the process to start: %w", ctx.Err())
	}
}

func exitText(x stream.Exit) string {
	return x.String()
}

func (e *Env) lockedErr(op, format string, args ...any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.errorf(op, format, args...)
}

// execErr words a failed exec call, saying when the container is gone.
func (e *Env) execErr(ctx context.Context, op string, err error) error {
	if isGone(err) {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if serr := e.containerState(sctx, 0); serr != nil {
			return e.lockedErr(op, "%w", serr)
		}
	}
	return e.lockedErr(op, "%w", err)
}

// Send copies local (a file or a directory, recursively) into the container
// at remote, keeping modes; a relative remote is relative to WorkDir.
func (e *Env) Send(ctx context.Context, local, remote string) error {
	eng, id, err := e.ready(ctx, "send")
	if err != nil {
		return err
	}
	if !path.IsAbs(remote) {
		remote = path.Join(workDir, remote)
	}
	r, err := tarOf(local, strings.TrimPrefix(remote, "/"))
	if err != nil {
		return e.lockedErr("send", "%w", err)
	}
	// tar in the container is several times faster than the engine's
	// archive upload (which mounts the container's file system for each
	// copy); without tar, the upload it is.
	if !e.noTar.Load() {
		err := e.runIn(ctx, []string{"/bin/sh", "-c", mkWorkDir + "; exec tar -x -f - -C /"}, r)
		var ee *exitError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ee) && ee.code == 127:
			e.noTar.Store(true)
			if r, err = tarOf(local, strings.TrimPrefix(remote, "/")); err != nil {
				return e.lockedErr("send", "%w", err)
			}
		default:
			return e.execErr(ctx, "send", fmt.Errorf("copying %s to %s: %w", local, remote, err))
		}
	}
	if err := eng.cli.CopyToContainer(ctx, id, "/", r, container.CopyToContainerOptions{}); err != nil {
		return e.execErr(ctx, "send", fmt.Errorf("copying %s to %s: %w", local, remote, err))
	}
	return nil
}

// process is one block run: an exec of the wrapper.
type process struct {
	env    *Env
	eng    *engine
	execID string
	hj     types.HijackedResponse
	stdin  io.Reader
	gated  bool
	ctl    *control

	ready  chan struct{} // closed when the wrapper reported "ready"
	pgidCh chan struct{} // closed when the program's group is known
	done   chan struct{} // closed when the output is copied and the exit known

	readyOnce, pgidOnce sync.Once

	released atomic.Bool
	stopped  atomic.Bool // Stop was called
	closing  atomic.Bool // the stream is being closed

	mu      sync.Mutex
	started time.Time
	wrapPID int
	pgid    int // negative: a plain pid (no setsid in the image)
	exit    stream.Exit
	err     error
	copyErr error
}

// copyOut demultiplexes the exec's output until it ends, then learns the
// exit status.
func (p *process) copyOut(stdout, stderr io.Writer) {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	p.ctl.out = stderr
	_, err := stdcopy.StdCopy(stdout, p.ctl, p.hj.Reader)
	p.ctl.flush()
	p.hj.Close()
	ended := time.Now()
	p.mu.Lock()
	p.copyErr = err
	p.mu.Unlock()
	p.finish(ended)
	close(p.done)
	p.env.mu.Lock()
	delete(p.env.procs, p)
	p.env.mu.Unlock()
}

// copyIn feeds the process's stdin and closes it.
func (p *process) copyIn() {
	if p.stdin != nil {
		_, _ = io.Copy(p.hj.Conn, p.stdin)
	}
	_ = p.hj.CloseWrite()
}

// finish learns how the exec ended.
func (p *process) finish(ended time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var code int
	var err error
	for i := 0; ; i++ {
		var ins container.ExecInspect
		ins, err = p.eng.cli.ContainerExecInspect(ctx, p.execID)
		if err != nil || !ins.Running {
			code = ins.ExitCode
			break
		}
		if i > 100 || ctx.Err() != nil {
			err = errors.New("the exec still runs after its output ended")
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	exit := stream.Exit{Code: code, Started: p.started, Ended: ended}
	if exit.Started.IsZero() {
		exit.Started = ended
	}
	switch {
	case p.closing.Load() || p.env.isClosed():
		// Close removed the container: everything in it was killed.
		p.exit = stream.Exit{Code: -1, Signal: syscall.SIGKILL, Started: exit.Started, Ended: ended}
		return
	case p.gated && !p.released.Load():
		// Stopped (or lost) at the gate: the program never ran.
		if p.stopped.Load() {
			p.exit = stream.Exit{Code: -1, Signal: syscall.SIGKILL, Started: exit.Started, Ended: ended}
			return
		}
	}
	// A killed exec may mean a killed container: look (for a moment,
	// as the engine is slow to say) unless the stop was ours.
	var settle time.Duration
	// An outside kill or removal KILLs every process of the container.
	if (err != nil || code == 128+9 || p.copyErr != nil) && !p.stopped.Load() {
		settle = 500 * time.Millisecond
	}
	if serr := p.env.containerState(ctx, settle); serr != nil {
		p.err = p.env.lockedErr("wait", "while the block ran, %w", serr)
		return
	}
	if err != nil {
		p.err = p.env.lockedErr("wait", "learning the exit status: %w", err)
		return
	}
	if p.copyErr != nil && !p.stopped.Load() {
		p.err = p.env.lockedErr("wait", "reading the output: %w", p.copyErr)
		return
	}
	if code > 128 && code <= 128+64 {
		exit.Code = -1
		exit.Signal = syscall.Signal(code - 128)
	}
	p.exit = exit
}

func (e *Env) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// Release opens the gate: the wrapper reads one line, then runs the program.
func (p *process) Release() error {
	if !p.gated {
		return errors.New("container: Release of a process that was not gated")
	}
	if p.released.Swap(true) {
		return errors.New("container: Release called twice")
	}
	if _, err := p.hj.Conn.Write([]byte("\n")); err != nil {
		return p.env.lockedErr("start", "opening the gate: %w", err)
	}
	go p.copyIn()
	return nil
}

// Done is closed when the exec has ended.
func (p *process) Done() <-chan struct{} { return p.done }

// Signal sends sig to the program's process group through a second exec.
// A gated process that was not released is ended by closing its gate.
func (p *process) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if p.gated && !p.released.Load() {
		p.stopped.Store(true)
		p.released.Store(true)
		_ = p.hj.CloseWrite()
		return nil
	}
	if sig == syscall.SIGTERM || sig == syscall.SIGKILL {
		p.stopped.Store(true)
	}
	select {
	case <-p.pgidCh:
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("the process never reported its process group")
	}
	p.mu.Lock()
	target := "-" + strconv.Itoa(p.pgid) // a group
	if p.pgid < 0 {
		target = strconv.Itoa(-p.pgid) // a plain pid
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := p.env.run(ctx, []string{"/bin/sh", "-c", `kill -s "$1" -- "$2" 2>/dev/null; exit 0`, "streamtest-signal", strconv.Itoa(int(sig)), target})
	if err != nil && !p.env.gone.Load() && !p.env.isClosed() {
		select {
		case <-p.done:
			return nil
		default:
		}
		return err
	}
	return nil
}

// Wait waits for the exec to end.
func (p *process) Wait() (stream.Exit, error) {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit, p.err
}

// Stop signals the program's process group through a second exec: TERM,
// then KILL after grace. A gated process that was not released is ended by
// closing its gate.
func (p *process) Stop(grace time.Duration) error {
	p.stopped.Store(true)
	select {
	case <-p.done:
		return nil
	default:
	}
	if p.gated && !p.released.Load() {
		p.released.Store(true)
		_ = p.hj.CloseWrite()
		return p.waitDone(grace + 5*time.Second)
	}
	// The group is reported right after the program starts.
	select {
	case <-p.pgidCh:
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
		return p.env.lockedErr("wait", "stopping: the process never reported its process group")
	}
	p.mu.Lock()
	target := "-" + strconv.Itoa(p.pgid) // a group
	if p.pgid < 0 {
		target = strconv.Itoa(-p.pgid) // a plain pid
	}
	p.mu.Unlock()
	script := `t=$1; n=$2
kill -s TERM "$t" 2>/dev/null || exit 0
i=0
while kill -s 0 "$t" 2>/dev/null; do
  if [ "$i" -ge "$n" ]; then kill -s KILL "$t" 2>/dev/null; exit 0; fi
  sleep 0.05; i=$((i+1))
done`
	steps := int(grace / (50 * time.Millisecond))
	if grace <= 0 {
		script = `kill -s KILL "$1" 2>/dev/null; exit 0`
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace+30*time.Second)
	defer cancel()
	if err := p.env.run(ctx, []string{"/bin/sh", "-c", script, "streamtest-stop", target, strconv.Itoa(steps)}); err != nil {
		select {
		case <-p.done:
			return nil
		default:
		}
		if p.env.gone.Load() || p.env.isClosed() {
			return nil
		}
		return p.env.lockedErr("wait", "stopping: %w", err)
	}
	return p.waitDone(10 * time.Second)
}

func (p *process) waitDone(d time.Duration) error {
	select {
	case <-p.done:
		return nil
	case <-time.After(d):
		return p.env.lockedErr("wait", "stopping: the exec did not end within %v", d)
	}
}

// run runs argv in the container to its end, without the wrapper, and
// returns an error when it could not run or exited non-zero.
func (e *Env) run(ctx context.Context, argv []string) error { return e.runIn(ctx, argv, nil) }

// exitError is a helper exec's non-zero exit.
type exitError struct {
	argv0 string
	code  int
	out   string
}

func (x *exitError) Error() string {
	return fmt.Sprintf("%s exited with status %d: %s", x.argv0, x.code, x.out)
}

// runIn is run with stdin.
func (e *Env) runIn(ctx context.Context, argv []string, stdin io.Reader) error {
	e.mu.Lock()
	eng, id := e.eng, e.id
	e.mu.Unlock()
	if eng == nil || id == "" {
		return errors.New("no container")
	}
	created, err := eng.cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		AttachStdin: stdin != nil, AttachStdout: true, AttachStderr: true, Cmd: argv,
	})
	if err != nil {
		return err
	}
	hj, err := eng.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return err
	}
	defer hj.Close()
	inErr := make(chan error, 1)
	if stdin != nil {
		go func() {
			_, err := io.Copy(hj.Conn, stdin)
			if cerr := hj.CloseWrite(); err == nil {
				err = cerr
			}
			inErr <- err
		}()
	} else {
		inErr <- nil
	}
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, hj.Reader); err != nil {
		return err
	}
	ins, err := eng.cli.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return err
	}
	if ins.ExitCode != 0 {
		return &exitError{argv0: argv[0], code: ins.ExitCode, out: strings.TrimSpace(out.String())}
	}
	return <-inErr
}

// control passes the process's stderr through, less the wrapper's control
// lines, which all come before the program's first byte.
type control struct {
	p    *process
	out  io.Writer
	buf  []byte
	pass bool // all control lines seen: pass everything through
}

func (c *control) Write(b []byte) (int, error) {
	n := len(b)
	if c.pass {
		_, err := c.out.Write(b)
		return n, err
	}
	c.buf = append(c.buf, b...)
	for !c.pass {
		if len(c.buf) == 0 {
			return n, nil
		}
		if c.buf[0] != 0x1e {
			// Not a control line: the wrapper's own complaint, pass it on.
			c.pass = true
			break
		}
		i := bytes.IndexByte(c.buf, '\n')
		if i < 0 {
			return n, nil
		}
		c.line(string(c.buf[1:i]))
		c.buf = c.buf[i+1:]
	}
	if len(c.buf) > 0 {
		_, err := c.out.Write(c.buf)
		c.buf = nil
		return n, err
	}
	return n, nil
}

// flush passes on what is left at the end.
func (c *control) flush() {
	if len(c.buf) > 0 {
		_, _ = c.out.Write(c.buf)
		c.buf = nil
	}
}

func (c *control) line(l string) {
	p := c.p
	f := strings.Fields(l)
	if len(f) == 0 {
		return
	}
	switch f[0] {
	case "ready":
		if len(f) > 1 {
			p.mu.Lock()
			p.wrapPID, _ = strconv.Atoi(f[1])
			p.mu.Unlock()
		}
		p.readyOnce.Do(func() { close(p.ready) })
	case "go":
		// The gate opened (or there was none): the program starts now.
		p.mu.Lock()
		p.started = time.Now()
		p.mu.Unlock()
	case "pgid":
		if len(f) > 1 {
			p.mu.Lock()
			p.pgid, _ = strconv.Atoi(f[1])
			p.mu.Unlock()
		}
		p.pgidOnce.Do(func() { close(p.pgidCh) })
		c.pass = true
	}
}

var signalNames = map[int]string{
	1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS", 8: "FPE",
	9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE", 14: "ALRM", 15: "TERM",
}

func signalName(n int) string {
	if s, ok := signalNames[n]; ok {
		return s
	}
	return "SIG" + strconv.Itoa(n)
}
