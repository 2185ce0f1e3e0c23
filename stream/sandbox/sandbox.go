package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/gate"
	"github.com/streamtest/streamtest/stream/guard"
	"github.com/streamtest/streamtest/stream/helper"
	"github.com/streamtest/streamtest/stream/proctree"
	"github.com/streamtest/streamtest/stream/sendtree"
)

func init() {
	stream.Register("sandbox", New, stream.Info{
		Doc:     "a process on this machine in a bubblewrap sandbox: its own PID and mount namespaces, a read-only system",
		Aliases: []string{"bwrap"},
		Params: []stream.Param{
			{Name: "host", Kind: stream.String, Doc: "the address other streams use to reach this stream", Default: "127.0.0.1"},
			{Name: "network", Kind: stream.String, Doc: `"host" shares this machine's network; "none" gives the stream a network namespace of its own with no route anywhere (its loopback is down)`, Default: "host",
				Check: stream.OneOf("host", "none")},
			{Name: "env", Kind: stream.StringMap, Doc: "environment variables added to every block"},
			{Name: "binds", Kind: stream.Strings, Doc: `more directories of this machine in the sandbox, each "src:dst" (writable) or "src:dst:ro"`},
		},
	})
}

// Env is a sandbox stream: one bwrap, started by Setup, holds the
// stream's namespaces; its PID 1 is this executable as the helper
// "sandbox-init", which starts the blocks.
type Env struct {
	cfg     stream.Config
	host    string
	netNone bool
	env     []string
	binds   []bind
	tag     string

	procs stream.ProcessSet[*process]

	mu       sync.Mutex
	workDir  string    // the same path on this machine and in the sandbox
	bwrap    *exec.Cmd // nil before Setup
	bwrapEnd chan struct{}
	initPID  int // the init's pid on this machine
	conn     *net.UnixConn
	nextID   int
	waiting  map[int]chan message // start replies awaited, by id
	running  map[int]*process     // by id, until their end is reported
	dead     bool                 // the init is gone

	stderrMu sync.Mutex
	stderr   bytes.Buffer // bwrap's and the init's
}

// stderrText returns what bwrap and the init wrote on their standard
// error.
func (e *Env) stderrText() string {
	e.stderrMu.Lock()
	defer e.stderrMu.Unlock()
	return strings.TrimSpace(e.stderr.String())
}

type bind struct {
	src, dst string
	ro       bool
}

// New creates a sandbox stream from its configuration; it checks the
// parameters and starts nothing.
func New(cfg stream.Config) (stream.Environment, error) {
	e := &Env{
		cfg:     cfg,
		host:    cfg.Params.String("host", "127.0.0.1"),
		tag:     guard.Default().NewTag(),
		env:     cfg.Params.Environ("env"),
		waiting: map[int]chan message{},
		running: map[int]*process{},
	}
	switch n := cfg.Params.String("network", "host"); n {
	case "host":
	case "none":
		e.netNone = true
	default:
		return nil, fmt.Errorf("network: want \"host\" or \"none\", got %q", n)
	}
	for _, b := range cfg.Params.Strings("binds") {
		parts := strings.Split(b, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !filepath.IsAbs(parts[1]) || len(parts) == 3 && parts[2] != "ro" {
			return nil, fmt.Errorf(`binds: want "src:dst" or "src:dst:ro" with an absolute dst, got %q`, b)
		}
		e.binds = append(e.binds, bind{src: stream.ResolvePath(parts[0], cfg.Dir), dst: parts[1], ro: len(parts) == 3})
	}
	return e, nil
}

// Setup makes the work directory and starts the sandbox.
func (e *Env) Setup(ctx context.Context) error {
	if e.procs.Closed() {
		return stream.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.bwrap != nil {
		return nil
	}
	bwrapPath, err := exec.LookPath("bwrap")
	if err != nil {
		return fmt.Errorf("bubblewrap is needed (apt-get install bubblewrap): %w", err)
	}
	dir, err := guard.Default().MakeDir("", "streamtest-sandbox-")
	if err != nil {
		return err
	}
	if err := e.startSandbox(ctx, bwrapPath, dir); err != nil {
		e.stopSandbox()
		if msg := e.stderrText(); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		guard.Default().RemoveAll(dir)
		return err
	}
	e.workDir = dir
	return nil
}

// startSandbox starts bwrap with the init, learns the init's pid and waits
// for it to be ready.
func (e *Env) startSandbox(ctx context.Context, bwrapPath, dir string) error {
	h, err := helper.Command(initHelper)
	if err != nil {
		return err
	}
	exe := h.Path
	conn, initEnd, err := socketPair()
	if err != nil {
		return err
	}
	infoR, infoW, err := os.Pipe()
	if err != nil {
		conn.Close()
		initEnd.Close()
		return err
	}
	defer infoR.Close()
	args := []string{
		"--ro-bind", "/", "/",
		"--dev", "/dev",
		"--proc", "/proc",
		"--tmpfs", "/tmp",
		"--bind", dir, dir,
		// This executable, which may live in a temporary directory that
		// the private /tmp hides: the init and the gate are it.
		"--ro-bind", exe, exe,
	}
	for _, b := range e.binds {
		op := "--bind"
		if b.ro {
			op = "--ro-bind"
		}
		args = append(args, op, b.src, b.dst)
	}
	// Without CAP_SYS_ADMIN, a block run by root cannot remount the
	// system writable.
	args = append(args, "--unshare-pid", "--unshare-ipc", "--as-pid-1", "--cap-drop", "CAP_SYS_ADMIN",
		"--info-fd", "4", "--chdir", dir)
	if e.netNone {
		args = append(args, "--unshare-net")
	}
	args = append(args, "--", exe)
	if e.netNone {
		args = append(args, "-net=none")
	}
	cmd := exec.Command(bwrapPath, args...)
	cmd.Env = append(h.Env, proctree.TagEnv(e.tag))
	cmd.ExtraFiles = []*os.File{initEnd, infoW} // fd 3 and 4
	cmd.Stderr = &lockedWriter{mu: &e.stderrMu, w: &e.stderr}
	// Its own group: a Ctrl-C to the test does not reach it. No
	// parent-death signal: see package guard; the init ends with the
	// control socket instead.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = time.Second // its end does not wait for a stray holder of its stderr
	err = cmd.Start()
	infoW.Close()
	initEnd.Close() // the init's copy alone keeps the socket open
	if err != nil {
		conn.Close()
		return fmt.Errorf("starting bwrap: %w", err)
	}
	e.bwrap, e.conn = cmd, conn
	e.bwrapEnd = make(chan struct{})
	go func() {
		cmd.Wait()
		close(e.bwrapEnd)
	}()

	type started struct {
		pid int
		err error
	}
	ch := make(chan started, 1)
	go func() {
		var info struct {
			ChildPID int `json:"child-pid"`
		}
		if err := json.NewDecoder(infoR).Decode(&info); err != nil {
			ch <- started{err: errors.New("bwrap did not start the sandbox")}
			return
		}
		m, _, err := receive(conn, make([]byte, 4096), nil)
		switch {
		case err == nil && m.Op == "error":
			err = errors.New(m.Err)
		case err != nil || m.Op != "ready":
			err = errors.New("the sandbox did not start")
		}
		ch <- started{info.ChildPID, err}
	}()
	select {
	case s := <-ch:
		if s.err != nil {
			return s.err
		}
		e.initPID = s.pid
	case <-ctx.Done():
		return ctx.Err()
	}
	go e.readLoop()
	return nil
}

// lockedWriter lets bwrap's output be read while it is written.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// stopSandbox kills the init, which kills every process of the namespace,
// and waits for bwrap to end. Called with e.mu held.
func (e *Env) stopSandbox() {
	if e.bwrap == nil {
		return
	}
	if e.initPID > 0 {
		syscall.Kill(e.initPID, syscall.SIGKILL)
	}
	e.conn.Close() // the init also ends when its socket closes
	e.bwrap.Process.Kill()
	proctree.KillTagged(e.tag, false)
	e.mu.Unlock()
	<-e.bwrapEnd
	e.mu.Lock()
}

// readLoop reads the init's reports until its socket closes.
func (e *Env) readLoop() {
	buf := make([]byte, 64<<10)
	for {
		m, files, err := receive(e.conn, buf, nil)
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			break
		}
		e.mu.Lock()
		switch m.Op {
		case "started", "error":
			if ch, ok := e.waiting[m.ID]; ok {
				delete(e.waiting, m.ID)
				ch <- m
			}
		case "exit":
			if p, ok := e.running[m.ID]; ok {
				delete(e.running, m.ID)
				go p.exited(syscall.WaitStatus(m.Status), nil)
			}
		}
		e.mu.Unlock()
	}
	// The init is gone: nothing more will be reported.
	e.mu.Lock()
	e.dead = true
	closing := e.procs.Closed()
	for id, ch := range e.waiting {
		delete(e.waiting, id)
		ch <- message{Op: "error", ID: id, Err: "the sandbox ended"}
	}
	for id, p := range e.running {
		delete(e.running, id)
		if closing {
			go p.exited(syscall.WaitStatus(syscall.SIGKILL), nil)
		} else {
			go p.exited(0, fmt.Errorf("the sandbox ended while the process ran %s", e.stderrText()))
		}
	}
	e.mu.Unlock()
}

// Host returns the configured host, 127.0.0.1 by default.
func (e *Env) Host() string { return e.host }

// WorkDir returns the stream's work directory: the same path in the
// sandbox and on this machine.
func (e *Env) WorkDir() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.workDir
}

// Send copies a file or directory into the sandbox, as package sendtree
// says. Paths outside the work directory are reached through the init's
// root (/proc/PID/root): the sandbox's /tmp, a writable bind; the
// read-only system refuses them.
func (e *Env) Send(ctx context.Context, local, remote string) error {
	if e.procs.Closed() {
		return stream.ErrClosed
	}
	e.mu.Lock()
	work, pid := e.workDir, e.initPID
	e.mu.Unlock()
	if !filepath.IsAbs(remote) {
		remote = filepath.Join(work, remote)
	}
	remote = filepath.Clean(remote)
	if remote != work && !strings.HasPrefix(remote, work+"/") {
		remote = fmt.Sprintf("/proc/%d/root%s", pid, remote)
	}
	return sendtree.Copy(ctx, sendtree.OS{}, local, remote)
}

// Close stops every block's tree (SIGTERM, SIGKILL after the manager's
// grace), ends the sandbox, which kills whatever is left in it, and
// removes the work directory.
func (e *Env) Close() error {
	procs, first := e.procs.Close()
	if !first {
		return nil
	}
	err := stream.StopAll(procs, e.cfg.GraceOrDefault())
	e.mu.Lock()
	e.stopSandbox()
	dir := e.workDir
	e.workDir = ""
	e.mu.Unlock()
	if dir != "" {
		err = errors.Join(err, guard.Default().RemoveAll(dir))
	}
	return err
}

// Start starts cmd in the sandbox, as a child of its init, in a process
// group of its own; see stream.Environment.
func (e *Env) Start(ctx context.Context, cmd *stream.Command) (stream.Process, error) {
	if len(cmd.Args) == 0 {
		return nil, errors.New("no program given")
	}
	if e.procs.Closed() {
		return nil, stream.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := cmd.DirIn(e.WorkDir())
	env := append(append(append(os.Environ(), e.env...), cmd.Env...), proctree.TagEnv(e.tag))
	c := &exec.Cmd{Path: cmd.Args[0], Args: cmd.Args, Env: env, Dir: dir}
	p := &process{env: e}
	if cmd.Gated {
		g, err := gate.Wrap(c)
		if err != nil {
			return nil, err
		}
		p.gate = g
	}
	if err := p.start(ctx, c, cmd); err != nil {
		return nil, err
	}
	return p, nil
}

// request sends a start to the init with files, closes ours (in flight, a
// file holds its own reference, so the init gets it all the same: and the
// process's output then ends with the process) and returns the answer.
func (e *Env) request(m message, files, ours []*os.File) error {
	closeOurs := func() {
		for _, f := range ours {
			f.Close()
		}
	}
	ch := make(chan message, 1)
	e.mu.Lock()
	if e.dead || e.conn == nil {
		e.mu.Unlock()
		closeOurs()
		return errors.New("the sandbox is not running")
	}
	e.waiting[m.ID] = ch
	e.mu.Unlock()
	err := send(e.conn, m, files)
	closeOurs()
	if err != nil {
		e.mu.Lock()
		delete(e.waiting, m.ID)
		e.mu.Unlock()
		return fmt.Errorf("asking the sandbox's init: %w", err)
	}
	// The answer comes at once: the init only forks. It is awaited even
	// when the caller's context ends, so that no process is left unknown.
	if r := <-ch; r.Op == "error" {
		return errors.New(r.Err)
	}
	return nil
}

// signal asks the init to send sig to the tree of process id.
func (e *Env) signal(id int, sig syscall.Signal) {
	e.mu.Lock()
	conn, dead := e.conn, e.dead
	e.mu.Unlock()
	if conn != nil && !dead {
		send(conn, message{Op: "signal", ID: id, Sig: int(sig)}, nil)
	}
}
