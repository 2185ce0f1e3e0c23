package local

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/gate"
	"github.com/streamtest/streamtest/stream/proctree"
)

// process is one block's process and its process group (pgid == pid).
type process struct {
	stream.Ending
	env  *Env
	cmd  *exec.Cmd
	gate *gate.Gate // nil unless gated
	pid  int

	mu        sync.Mutex
	groupGone bool // the process group is known to have no member left
}

// start starts the command and, when gated, waits for the gate to be
// ready. On an error nothing of the process is left.
func (p *process) start(ctx context.Context) error {
	started := time.Now()
	if err := p.cmd.Start(); err != nil {
		if p.gate != nil {
			p.gate.Close()
		}
		if p.env.netNone {
			return fmt.Errorf("%w (network: none needs root or unprivileged user namespaces)", err)
		}
		return err
	}
	p.pid = p.cmd.Process.Pid
	go p.wait(started)
	if err := p.env.procs.Add(p); err != nil {
		p.kill()
		return err
	}
	if p.gate != nil {
		if err := p.gate.AwaitReady(ctx); err != nil {
			p.kill()
			return err
		}
	}
	return nil
}

// kill ends a process that Start gives up on, and waits for its end.
func (p *process) kill() {
	if p.gate != nil {
		p.gate.Close()
	}
	proctree.SignalTree(p.pid, syscall.SIGKILL)
	<-p.Done()
	p.forget()
}

// wait reaps the leader and records how it ended; it forgets the group if
// nothing of it is left.
func (p *process) wait(started time.Time) {
	err := p.cmd.Wait()
	exit := stream.Exit{Code: p.cmd.ProcessState.ExitCode(), Started: started, Ended: time.Now()}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		exit.Signal = ws.Signal()
	}
	var exitErr *exec.ExitError
	if err == nil || errors.As(err, &exitErr) || errors.Is(err, exec.ErrWaitDelay) {
		err = nil // ended, or left background processes holding its output
	}
	if p.gate != nil {
		var gerr error
		exit, gerr = p.gate.Finish(exit) // the gate's report is read only now
		if err == nil {
			err = gerr
		}
	}
	if !proctree.GroupAlive(p.pid) {
		p.forget()
	}
	p.End(exit, err)
}

// forget marks the group gone and takes the process out of the stream's
// set: nothing is left to signal.
func (p *process) forget() {
	p.mu.Lock()
	p.groupGone = true
	p.mu.Unlock()
	p.env.procs.Remove(p)
}

// Signal sends sig to the process group and every descendant; on a gated
// process that was not released, it closes the gate instead. See
// stream.Process.
func (p *process) Signal(sig syscall.Signal) error {
	if p.gate != nil && p.gate.Abort(sig) {
		return nil
	}
	p.mu.Lock()
	gone := p.groupGone
	p.mu.Unlock()
	if gone {
		return nil
	}
	proctree.SignalTree(p.pid, sig)
	if p.Ended() && !proctree.GroupAlive(p.pid) {
		p.forget()
	}
	return nil
}

// Release opens the gate; see stream.Process.
func (p *process) Release() error {
	if p.gate == nil {
		return errors.New("the process was not started gated")
	}
	return p.gate.Release()
}
