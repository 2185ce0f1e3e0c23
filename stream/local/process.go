package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/helper"
)

// process is one block's process and its process group (pgid == pid).
type process struct {
	env     *Env
	cmd     *exec.Cmd
	pid     int
	started time.Time

	done chan struct{} // closed when the leader has been waited for
	exit stream.Exit
	err  error

	// The gate of a gated process: the parent writes one byte to release to
	// let it run; the gate reports "ready", "start <unix-nanos>" or
	// "error <text>" on report, which closes when the program is exec'd.
	release  *os.File
	report   *os.File
	reportRd *bufio.Reader
	gateMu   sync.Mutex
	opened   bool
	decided  chan struct{} // closed when awaitReady has decided; then ready says how
	ready    bool

	groupMu   sync.Mutex
	groupGone bool // the process group is known to have no member left
}

// wait reaps the leader, then forgets the group if nothing of it is left.
func (p *process) wait() {
	err := p.cmd.Wait()
	ended := time.Now()
	if p.report != nil {
		// The gate's report is read only now, not as it comes: a reader
		// waking at every member's start would take CPU from the members of
		// a synchronized group at the very instant they start.
		<-p.decided
		if p.ready {
			if gateErr := p.readReport(); gateErr != nil && err == nil {
				err = gateErr
			}
		}
		p.report.Close()
	}
	p.exit = stream.Exit{Code: -1, Started: p.started, Ended: ended}
	if ps := p.cmd.ProcessState; ps != nil {
		p.exit.Code = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.exit.Signal = ws.Signal()
		}
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil, errors.As(err, &exitErr), errors.Is(err, exec.ErrWaitDelay):
	default:
		p.err = err
	}
	if !groupAlive(p.pid) {
		p.forgetGroup()
	}
	close(p.done)
}

func (p *process) forgetGroup() {
	p.groupMu.Lock()
	defer p.groupMu.Unlock()
	if p.groupGone {
		return
	}
	p.groupGone = true
	p.env.mu.Lock()
	delete(p.env.procs, p)
	p.env.mu.Unlock()
}

// Done is closed when the leader has been waited for.
func (p *process) Done() <-chan struct{} { return p.done }

// Signal sends sig to the group and every descendant; see stream.Process.
func (p *process) Signal(sig syscall.Signal) error {
	p.gateMu.Lock()
	parked := p.release != nil && !p.opened
	p.gateMu.Unlock()
	if parked {
		p.closeGate()
	}
	signalTree(p.pid, sig)
	return nil
}

// Wait waits for the leader to end; see stream.Process.
func (p *process) Wait() (stream.Exit, error) {
	<-p.done
	return p.exit, p.err
}

// Stop ends the process group and every descendant: SIGTERM, then SIGKILL
// after grace.
func (p *process) Stop(grace time.Duration) error {
	p.closeGate()
	p.groupMu.Lock()
	gone := p.groupGone
	p.groupMu.Unlock()
	if gone {
		return nil
	}
	if grace > 0 {
		signalTree(p.pid, syscall.SIGTERM)
		deadline := time.Now().Add(grace)
		for time.Now().Before(deadline) {
			if isDone(p.done) && !groupAlive(p.pid) {
				p.forgetGroup()
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	signalTree(p.pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("process %d did not end within 5s of SIGKILL", p.pid)
	}
	for i := 0; i < 100 && groupAlive(p.pid); i++ {
		signalTree(p.pid, syscall.SIGKILL)
		time.Sleep(10 * time.Millisecond)
	}
	if groupAlive(p.pid) {
		return fmt.Errorf("process group %d still has members after SIGKILL", p.pid)
	}
	p.forgetGroup()
	return nil
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// gateCommand returns the helper command that parks args at a gate.
func (p *process) gateCommand(args []string) (*exec.Cmd, error) {
	c, err := helper.Command(gateHelper, args...)
	if err != nil {
		return nil, err
	}
	relR, relW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		relR.Close()
		relW.Close()
		return nil, err
	}
	c.ExtraFiles = []*os.File{relR, repW} // fd 3 and fd 4 in the gate
	p.release, p.report = relW, repR
	p.reportRd = bufio.NewReader(repR)
	p.decided = make(chan struct{})
	return c, nil
}

// closePipes closes every end of the gate's pipes this process holds, after
// a failed start.
func (p *process) closePipes() {
	if p.cmd == nil {
		return
	}
	for _, f := range p.cmd.ExtraFiles {
		f.Close()
	}
	if p.report != nil {
		p.report.Close()
	}
	if p.decided != nil {
		close(p.decided)
	}
}

// awaitReady waits for the gate to say it is ready.
func (p *process) awaitReady(ctx context.Context) error {
	defer close(p.decided)
	for _, f := range p.cmd.ExtraFiles {
		f.Close() // the child holds its own copies
	}
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		line, err := p.reportRd.ReadString('\n')
		ch <- answer{strings.TrimSpace(line), err}
	}()
	select {
	case a := <-ch:
		switch {
		case a.line == "ready":
			p.ready = true
			return nil
		case strings.HasPrefix(a.line, "error "):
			return errors.New(strings.TrimPrefix(a.line, "error "))
		default:
			return fmt.Errorf("gate did not get ready: %q, %v", a.line, a.err)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readReport reads what the gate said after "ready": its start time, or why
// the exec failed. The gate's end of the pipe is closed by then.
func (p *process) readReport() error {
	var gateErr error
	for {
		line, err := p.reportRd.ReadString('\n')
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "start "):
			if ns, perr := strconv.ParseInt(strings.TrimPrefix(line, "start "), 10, 64); perr == nil {
				p.started = time.Unix(0, ns)
			}
		case strings.HasPrefix(line, "error "):
			gateErr = errors.New(strings.TrimPrefix(line, "error "))
		}
		if err != nil {
			return gateErr
		}
	}
}

// Release opens the gate; see stream.Process.
func (p *process) Release() error {
	p.gateMu.Lock()
	defer p.gateMu.Unlock()
	if p.release == nil || p.opened {
		return errors.New("process is not parked at a gate")
	}
	p.opened = true
	_, err := p.release.Write([]byte{1})
	p.release.Close()
	return err
}

// closeGate lets a parked gate exit without running the program.
func (p *process) closeGate() {
	p.gateMu.Lock()
	defer p.gateMu.Unlock()
	if p.release != nil && !p.opened {
		p.opened = true
		p.release.Close()
	}
}

const gateHelper = "local-gate"

func init() { helper.Register(gateHelper, gateMain) }

// gateMain runs in the gate process: it finds the program, says it is ready,
// waits for the release byte, notes the time and becomes the program.
func gateMain(args []string) int {
	release, report := os.NewFile(3, "release"), os.NewFile(4, "report")
	fail := func(err error) int {
		fmt.Fprintf(report, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return 127
	}
	if len(args) == 0 {
		return fail(errors.New("no program given"))
	}
	path, err := exec.LookPath(args[0])
	if err != nil && !errors.Is(err, exec.ErrDot) {
		return fail(err)
	}
	if _, err := report.WriteString("ready\n"); err != nil {
		return 1
	}
	var b [1]byte
	if n, _ := release.Read(b[:]); n == 0 {
		return 1 // aborted: the group was not released
	}
	start := time.Now()
	release.Close()
	fmt.Fprintf(report, "start %d\n", start.UnixNano())
	syscall.CloseOnExec(4)
	err = syscall.Exec(path, args, os.Environ())
	return fail(fmt.Errorf("exec %s: %w", args[0], err))
}

func unix2name(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGSEGV:
		return "SEGV"
	case syscall.SIGABRT:
		return "ABRT"
	case syscall.SIGPIPE:
		return "PIPE"
	}
	return strconv.Itoa(int(s))
}
