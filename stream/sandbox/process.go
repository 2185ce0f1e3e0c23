package sandbox

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/gate"
)

// process is one block, a child of the sandbox's init in a process group
// of its own.
type process struct {
	stream.Ending
	env     *Env
	id      int
	gate    *gate.Gate // nil unless gated
	started time.Time

	ours   []*os.File // our ends of the output pipes, closed after the end
	copies sync.WaitGroup
}

// start hands c (the block, or its gate) to the init with its standard
// files and, when gated, waits for the gate to be ready.
func (p *process) start(ctx context.Context, c *exec.Cmd, cmd *stream.Command) error {
	e := p.env
	files, theirs, err := p.stdio(cmd)
	if err != nil {
		if p.gate != nil {
			p.gate.Close()
		}
		return err
	}
	files = append(files, c.ExtraFiles...)
	e.mu.Lock()
	e.nextID++
	p.id = e.nextID
	e.running[p.id] = p
	e.mu.Unlock()
	p.started = time.Now()
	err = e.request(message{Op: "start", ID: p.id, Path: c.Path, Args: c.Args, Env: c.Env, Dir: c.Dir}, files, theirs)
	if err != nil {
		e.mu.Lock()
		delete(e.running, p.id)
		e.mu.Unlock()
		for _, f := range p.ours {
			f.Close()
		}
		if p.gate != nil {
			p.gate.Close()
		}
		return err
	}
	if err := e.procs.Add(p); err != nil {
		p.kill()
		return err
	}
	if p.Ended() {
		e.procs.Remove(p) // it ended before it was added
	}
	if p.gate != nil {
		if err := p.gate.AwaitReady(ctx); err != nil {
			p.kill()
			return err
		}
	}
	return nil
}

// stdio returns the standard files to give the process, and those of them
// to close once the init has them; it starts the copies from and to
// cmd's readers and writers that are not files.
func (p *process) stdio(cmd *stream.Command) (files, theirs []*os.File, err error) {
	fail := func(err error) ([]*os.File, []*os.File, error) {
		for _, f := range append(theirs, p.ours...) {
			f.Close()
		}
		return nil, nil, err
	}
	// Standard input: copied until it ends; not waited for.
	switch r := cmd.Stdin.(type) {
	case nil:
		f, err := os.Open(os.DevNull)
		if err != nil {
			return fail(err)
		}
		files, theirs = append(files, f), append(theirs, f)
	case *os.File:
		files = append(files, r)
	default:
		pr, pw, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		files, theirs = append(files, pr), append(theirs, pr)
		go func() {
			io.Copy(pw, r)
			pw.Close()
		}()
	}
	var stdoutPipe *os.File
	for i, w := range []io.Writer{cmd.Stdout, cmd.Stderr} {
		switch w := w.(type) {
		case nil:
			f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				return fail(err)
			}
			files, theirs = append(files, f), append(theirs, f)
		case *os.File:
			files = append(files, w)
		default:
			if i == 1 && stdoutPipe != nil && sameWriter(cmd.Stdout, cmd.Stderr) {
				files = append(files, stdoutPipe) // one pipe, one copy: as exec.Cmd
				continue
			}
			pr, pw, err := os.Pipe()
			if err != nil {
				return fail(err)
			}
			files, theirs = append(files, pw), append(theirs, pw)
			p.ours = append(p.ours, pr)
			if i == 0 {
				stdoutPipe = pw
			}
			p.copies.Add(1)
			go func() {
				defer p.copies.Done()
				io.Copy(w, pr)
			}()
		}
	}
	return files, theirs, nil
}

// sameWriter reports whether a and b are the same writer; writers that
// cannot be compared are not.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() { recover() }()
	return a == b
}

// kill ends a process that Start gives up on, and waits for its end.
func (p *process) kill() {
	if p.gate != nil {
		p.gate.Close()
	}
	p.env.signal(p.id, syscall.SIGKILL)
	<-p.Done()
}

// exited records the end the init reported (or err, when the sandbox
// ended first): it waits for the output at most stream.OutputWait, then
// stops the copies.
func (p *process) exited(ws syscall.WaitStatus, err error) {
	ended := time.Now()
	done := make(chan struct{})
	go func() {
		p.copies.Wait()
		close(done)
	}()
	t := time.NewTimer(stream.OutputWait)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	for _, f := range p.ours {
		f.Close()
	}
	<-done
	exit := stream.Exit{Code: ws.ExitStatus(), Started: p.started, Ended: ended}
	if ws.Signaled() {
		exit.Code, exit.Signal = -1, ws.Signal()
	}
	if err != nil {
		exit.Code = -1
	}
	if p.gate != nil {
		var gerr error
		exit, gerr = p.gate.Finish(exit) // the gate's report is read only now
		if err == nil {
			err = gerr
		}
	}
	p.env.procs.Remove(p)
	p.End(exit, err)
}

// Signal sends sig to the process's tree in the sandbox: its group and
// every descendant the init finds; on a gated process that was not
// released, it closes the gate instead.
func (p *process) Signal(sig syscall.Signal) error {
	if p.gate != nil && p.gate.Abort(sig) {
		return nil
	}
	p.env.signal(p.id, sig)
	return nil
}

// Release opens the gate; see stream.Process.
func (p *process) Release() error {
	if p.gate == nil {
		return errors.New("the process was not started gated")
	}
	return p.gate.Release()
}
