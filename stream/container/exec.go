package container

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/stream"
)

// wrapper is the shell program every block runs under, inside the
// container, as one exec. It checks what Start promises before it says
// "ready": the directory exists, the program is found and executable.
//
// `docker exec` has no way to signal what it started, so the program runs
// in a session (and process group) of its own, made with setsid, which
// Signal reaches through a second exec. The wrapper stays outside that
// group, waits for the program and writes its exit status as the end
// marker: the engine ends an exec's output only when every process holding
// it has closed it (and waits 2 s for background processes that keep it),
// so the marker is how Wait learns that the program ended at once.
//
// Its control lines go to stderr, each starting with the byte 0x1e. Before
// anything of the program: "nodir", "noprog" or "noexec" (then it exits),
// or "ready" (a gated wrapper then reads one line from stdin: the gate),
// then "go PID" (the program's pid, which leads its group; "go -PID" when
// the image has no setsid: a plain pid, the program replaces the wrapper
// and there is no end marker). After the program: MARKER STATUS, where
// MARKER is the process's random token. The program's stdin is the rest of
// the wrapper's stdin.
//
//	$1: 1 for a gated start, else 0; $2: the directory to run in; $3: the
//	marker; the rest: the program and its arguments
const wrapper = mkWorkDir + `
cd "$2" 2>/dev/null || { printf '\036nodir\n' >&2; exit 126; }
g=$1 m=$3; shift 3
case $1 in
*/*) if [ ! -e "$1" ]; then printf '\036noprog\n' >&2; exit 127; fi
     if [ -d "$1" ] || [ ! -x "$1" ]; then printf '\036noexec\n' >&2; exit 126; fi ;;
*) command -v "$1" >/dev/null 2>&1 || { printf '\036noprog\n' >&2; exit 127; } ;;
esac
printf '\036ready\n' >&2
if [ "$g" = 1 ]; then read -r _ || exit 125; fi
if ! command -v setsid >/dev/null 2>&1; then
  printf '\036go -%s\n' $$ >&2
  ` + tagVar + `=$m exec "$@"
fi
exec 3<&0
` + tagVar + `=$m setsid /bin/sh -c 'printf "\036go %s\n" $$ >&2; exec "$@"' sh "$@" <&3 3<&- &
exec 3<&-
wait $!
printf '\036%s %s\n' "$m" $? >&2`

// The wrapper's exit statuses when it stops before the program.
const (
	statusNoDir  = 126
	statusGate   = 125
	statusNoProg = 127
)

// tagVar is in the environment of every process of a block, with the
// block's token: it is how Signal finds the block's processes that made a
// session or group of their own.
const tagVar = "STREAMTEST_BLOCK"

// signalScript sends signal $1 to a block's group ("-PGID") or plain pid
// $2 (none when ""), and to the processes tagged with the block's token $3
// that are not in that group. A tree that is gone is not an error. (dash
// needs the "--" before a group; busybox complains of it, and signals.)
const signalScript = `s=$1 g=$2 t=` + tagVar + `=$3
[ -z "$g" ] || kill -s "$s" -- "$g" 2>/dev/null
for f in $(grep -l -- "$t" /proc/[0-9]*/environ 2>/dev/null); do
  p=${f#/proc/}; p=${p%/environ}
  read -r _ _ _ _ pg _ <"/proc/$p/stat" 2>/dev/null || continue
  [ "-$pg" = "$g" ] || [ "$p" = "$g" ] || kill -s "$s" "$p" 2>/dev/null
done
exit 0`

// Start runs cmd in the container through exec, under the wrapper.
func (e *Env) Start(ctx context.Context, cmd *stream.Command) (stream.Process, error) {
	if cmd == nil || len(cmd.Args) == 0 {
		return nil, errors.New("no program given")
	}
	eng, id, err := e.ready(ctx)
	if err != nil {
		return nil, err
	}
	dir := cmd.DirIn(workDir)
	p := &process{
		env:     e,
		eng:     eng,
		gated:   cmd.Gated,
		stdin:   cmd.Stdin,
		token:   newToken(),
		ready:   make(chan struct{}),
		running: make(chan struct{}),
	}
	argv := append([]string{"/bin/sh", "-c", wrapper, "streamtest-wrapper", gateArg(cmd.Gated), dir, p.token}, cmd.Args...)
	created, err := eng.cli.ExecCreate(ctx, id, client.ExecCreateOptions{
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Env:          cmd.Env,
		WorkingDir:   "/",
		Cmd:          argv,
	})
	if err != nil {
		return nil, e.execErr(err)
	}
	p.execID = created.ID
	attached, err := eng.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, e.execErr(err)
	}
	p.hj = attached.HijackedResponse
	if err := e.procs.Add(p); err != nil {
		p.hj.Close()
		return nil, err
	}
	stdout, stderr := newRelay(orDiscard(cmd.Stdout)), newRelay(orDiscard(cmd.Stderr))
	p.ctl = newControl(stderr, p.token, p.event)
	go p.copyOut(stdout, stderr)
	if !cmd.Gated {
		go p.copyIn()
	}
	if err := p.waitStarted(ctx, dir, cmd.Args[0]); err != nil {
		return nil, err
	}
	return p, nil
}

func gateArg(gated bool) string {
	if gated {
		return "1"
	}
	return "0"
}

// newToken returns a random token for a block: its end marker and its tag.
func newToken() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// waitStarted waits until the program runs (gated: until it is parked at
// its gate) and returns Start's error when it does not get there.
func (p *process) waitStarted(ctx context.Context, dir, prog string) error {
	want := p.running
	if p.gated {
		want = p.ready
	}
	select {
	case <-want:
		return nil
	case <-p.Done():
	case <-ctx.Done():
		// The program may be running already: kill what carries the
		// block's tag, and close the gate.
		p.closeGate(syscall.SIGKILL)
		_ = p.signal(syscall.SIGKILL, "")
		p.hj.Close()
		<-p.Done()
		return fmt.Errorf("waiting for the process to start: %w", ctx.Err())
	}
	select {
	case <-want:
		return nil // it ran, and ended already
	default:
	}
	exit, err := p.Wait()
	if err != nil {
		return err
	}
	switch p.ctl.failure() {
	case "nodir":
		return fmt.Errorf("directory %s: %w", dir, errNotExist)
	case "noprog":
		return fmt.Errorf("program %s: %w", prog, errNotExist)
	case "noexec":
		return fmt.Errorf("program %s is not an executable file", prog)
	}
	return p.env.failf("the block's wrapper ended (%s) before it started the program: does the image have /bin/sh?", exit)
}

// errNotExist is the cause when Start's directory or program is missing;
// it is an fs.ErrNotExist.
var errNotExist error = notExist{}

type notExist struct{}

func (notExist) Error() string        { return "not found in the container" }
func (notExist) Is(target error) bool { return target == fs.ErrNotExist }

// execErr words a failed exec call, saying when the container is gone. It
// asks the engine rather than reading its message, whose words differ:
// Docker's "container X is not running", Podman's "can only create exec
// sessions on running containers: container state improper" or a 409 to
// the attach.
func (e *Env) execErr(err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	if serr := e.containerState(ctx, 0); serr != nil && e.gone.Load() {
		return e.fail(serr)
	}
	return e.fail(err)
}

// process is one block run: an exec of the wrapper.
type process struct {
	stream.Ending

	env    *Env
	eng    *engine
	execID string
	hj     client.HijackedResponse
	stdin  io.Reader
	gated  bool
	token  string // the block's end marker and tag (tagVar)
	ctl    *control

	ready   chan struct{} // closed when the wrapper said "ready"
	running chan struct{} // closed when the program runs ("go"): started and target are set

	gateMu   sync.Mutex
	released bool           // Release opened the gate
	gateSig  syscall.Signal // Signal closed the gate

	closing atomic.Bool // Close removes the container: the end is its SIGKILL
	cut     atomic.Bool // the output was cut OutputWait after the program ended

	mu      sync.Mutex
	started time.Time
	target  string // what Signal signals: "-PGID", or a plain pid
	status  int    // the program's exit status from the end marker
	endAt   time.Time
	hasEnd  bool
}

// event handles the wrapper's control lines (from copyOut's goroutine).
func (p *process) event(word, arg string) {
	now := time.Now()
	switch word {
	case "ready":
		close(p.ready)
	case "go":
		p.mu.Lock()
		p.started = now
		// "PID": the group -PID; "-PID": the plain pid PID.
		if strings.HasPrefix(arg, "-") {
			p.target = arg[1:]
		} else {
			p.target = "-" + arg
		}
		p.mu.Unlock()
		close(p.running)
	case "end":
		status, _ := strconv.Atoi(arg)
		p.mu.Lock()
		p.status, p.endAt, p.hasEnd = status, now, true
		p.mu.Unlock()
		// Background processes may hold the output open: give them
		// OutputWait, then cut the copy.
		time.AfterFunc(stream.OutputWait, func() {
			if !p.Ended() {
				p.cut.Store(true)
				p.hj.Close()
			}
		})
	}
}

// copyOut demultiplexes the exec's output until it ends (or is cut), then
// records how the process ended.
func (p *process) copyOut(stdout, stderr *relay) {
	_, err := stdcopy.StdCopy(stdout, p.ctl, p.hj.Reader)
	p.ctl.flush()
	p.hj.Close()
	stdout.close()
	stderr.close()
	if p.cut.Load() {
		err = nil
	}
	exit, werr := p.outcome(err)
	p.env.procs.Remove(p)
	p.End(exit, werr)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// copyIn feeds the process's stdin as it comes, then closes it.
func (p *process) copyIn() {
	if p.stdin != nil {
		_, _ = io.Copy(p.hj.Conn, p.stdin)
	}
	_ = p.hj.CloseWrite()
}

// outcome says how the process ended once its output ended; copyErr is
// the output copy's error.
func (p *process) outcome(copyErr error) (stream.Exit, error) {
	ended := time.Now()
	p.mu.Lock()
	started, status, endAt, hasEnd := p.started, p.status, p.endAt, p.hasEnd
	p.mu.Unlock()
	if hasEnd {
		return exitOf(status, started, endAt), nil
	}
	if sig := p.gateSignal(); sig != 0 {
		return stream.Exit{Code: -1, Signal: sig, Ended: ended}, nil
	}
	if p.closing.Load() || p.env.procs.Closed() {
		// Close removed the container: everything in it was killed.
		return stream.Exit{Code: -1, Signal: syscall.SIGKILL, Started: started, Ended: ended}, nil
	}
	// No end marker: the program replaced the wrapper (no setsid), the
	// wrapper stopped before the program, or the exec was cut short.
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	code, err := p.execStatus(ctx)
	// A killed exec may mean a killed container: look (for a moment, as
	// the engine is slow to say).
	var settle time.Duration
	if err != nil || code == 128+int(syscall.SIGKILL) || copyErr != nil {
		settle = goneSettle
	}
	if serr := p.env.containerState(ctx, settle); serr != nil {
		return stream.Exit{}, p.env.failf("while the block ran, %w", serr)
	}
	switch {
	case err != nil:
		return stream.Exit{}, p.env.failf("learning the exit status: %w", err)
	case copyErr != nil:
		return stream.Exit{}, p.env.failf("reading the output: %w", copyErr)
	}
	return exitOf(code, started, ended), nil
}

// execStatus asks the engine for the exec's exit status; the exec may be
// reported running for a moment after its output ended.
func (p *process) execStatus(ctx context.Context) (int, error) {
	return execStatus(ctx, p.eng, p.execID)
}

// execStatus asks eng for the exit status of exec execID, whose output has
// ended: the engine may report it running for a moment more.
func execStatus(ctx context.Context, eng *engine, execID string) (int, error) {
	for {
		ins, err := eng.cli.ExecInspect(ctx, execID, client.ExecInspectOptions{})
		if err != nil {
			return 0, err
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		t := time.NewTimer(enginePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, errors.New("the exec still runs after its output ended")
		case <-t.C:
		}
	}
}

// exitOf turns a shell's exit status into an Exit: above 128 is death by
// signal status-128, as a shell reports it.
func exitOf(status int, started, ended time.Time) stream.Exit {
	x := stream.Exit{Code: status, Started: started, Ended: ended}
	if status > 128 && status <= 128+64 {
		x.Code, x.Signal = -1, syscall.Signal(status-128)
	}
	return x
}

// Release opens the gate: the wrapper reads one line, then runs the program.
func (p *process) Release() error {
	p.gateMu.Lock()
	defer p.gateMu.Unlock()
	switch {
	case !p.gated:
		return errors.New("release of a process that was not gated")
	case p.released:
		return errors.New("release called twice")
	case p.gateSig != 0:
		return fmt.Errorf("release after the gate was closed by %s", stream.SignalName(p.gateSig))
	}
	p.released = true
	if _, err := p.hj.Conn.Write([]byte("\n")); err != nil {
		return p.env.failf("opening the gate: %w", err)
	}
	go p.copyIn()
	return nil
}

// closeGate closes the gate of a gated process that was not released, so
// that the program never runs and the process ends as killed by sig. It
// reports whether it did.
func (p *process) closeGate(sig syscall.Signal) bool {
	p.gateMu.Lock()
	defer p.gateMu.Unlock()
	if !p.gated || p.released {
		return false
	}
	if p.gateSig == 0 {
		p.gateSig = sig
		_ = p.hj.CloseWrite() // the gate's read fails: the wrapper exits
	}
	return true
}

func (p *process) gateSignal() syscall.Signal {
	p.gateMu.Lock()
	defer p.gateMu.Unlock()
	return p.gateSig
}

// Signal sends sig to the program's process group through a second exec;
// it reaches the group after the program ended too. On a gated process
// that was not released, it closes the gate instead.
func (p *process) Signal(sig syscall.Signal) error {
	if p.closeGate(sig) {
		return nil
	}
	// The program's group is known right after it starts (Start waits
	// for it unless the process was gated).
	select {
	case <-p.running:
	case <-p.Done():
		select {
		case <-p.running:
		default:
			return nil // the program never ran: nothing to signal
		}
	}
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	return p.signal(sig, target)
}

// signal sends sig to target (a group "-PGID", a pid, or "" for none) and
// to the processes tagged with the block's token, through a second exec.
func (p *process) signal(sig syscall.Signal, target string) error {
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	err := p.env.run(ctx, []string{"/bin/sh", "-c", signalScript, "streamtest-signal", strconv.Itoa(int(sig)), target, p.token})
	if err != nil && !p.env.gone.Load() && !p.env.procs.Closed() {
		return p.env.failf("sending %s: %w", stream.SignalName(sig), err)
	}
	return nil
}

// run runs argv in the container to its end, without the wrapper, and
// returns an error when it could not run or exited non-zero.
func (e *Env) run(ctx context.Context, argv []string) error {
	e.mu.Lock()
	eng, id := e.eng, e.id
	e.mu.Unlock()
	if eng == nil || id == "" {
		return errors.New("no container")
	}
	created, err := eng.cli.ExecCreate(ctx, id, client.ExecCreateOptions{
		AttachStdout: true, AttachStderr: true, Cmd: argv,
	})
	if err != nil {
		return err
	}
	hj, err := eng.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return err
	}
	defer hj.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, hj.Reader); err != nil {
		return err
	}
	ins, err := eng.cli.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		return err
	}
	if ins.ExitCode != 0 {
		return &exitError{argv0: argv[0], code: ins.ExitCode, out: strings.TrimSpace(out.String())}
	}
	return nil
}

// exitError is a helper exec's non-zero exit.
type exitError struct {
	argv0 string
	code  int
	out   string
}

func (x *exitError) Error() string {
	if x.out == "" {
		return fmt.Sprintf("%s exited with status %d", x.argv0, x.code)
	}
	return fmt.Sprintf("%s exited with status %d: %s", x.argv0, x.code, x.out)
}
