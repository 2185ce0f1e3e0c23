package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/gate"
	"github.com/streamtest/streamtest/stream/guard"
	"github.com/streamtest/streamtest/stream/proctree"
	"github.com/streamtest/streamtest/stream/sendtree"
)

func init() {
	stream.Register("local", New, stream.Info{
		Doc:     "a process on this machine, in a private work directory",
		Aliases: []string{"process"},
		Params: []stream.Param{
			{Name: "host", Kind: stream.String, Doc: "the address other streams use to reach this stream", Default: "127.0.0.1"},
			{Name: "network", Kind: stream.String, Doc: `"host" shares this machine's network; "none" gives each block a network namespace of its own with no route anywhere`, Default: "host",
				Check: stream.OneOf("host", "none")},
			{Name: "env", Kind: stream.StringMap, Doc: "environment variables added to every block"},
			{Name: "work_root", Kind: stream.Path, Doc: "directory in which the stream's work directory is made", Default: "the system's temporary directory"},
		},
	})
}

// Env is a local execution stream.
type Env struct {
	cfg     stream.Config
	host    string
	netNone bool
	env     []string // from the env parameter, sorted by key
	root    string
	tag     string // the stream's tag: see package guard

	procs stream.ProcessSet[*process]

	mu      sync.Mutex
	workDir string
}

// New creates a local stream from its configuration. It creates nothing on
// the machine until Setup.
func New(cfg stream.Config) (stream.Environment, error) {
	e := &Env{
		cfg:  cfg,
		host: cfg.Params.String("host", "127.0.0.1"),
		root: cfg.Params.Path("work_root", cfg.Dir, ""),
		tag:  guard.Default().NewTag(),
		env:  cfg.Params.Environ("env"),
	}
	switch n := cfg.Params.String("network", "host"); n {
	case "host":
	case "none":
		e.netNone = true
	default:
		return nil, fmt.Errorf("network: want \"host\" or \"none\", got %q", n)
	}
	return e, nil
}

// Setup makes the stream's private work directory (mode 0700) and has the
// guard remove it should the test binary die.
func (e *Env) Setup(ctx context.Context) error {
	if e.procs.Closed() {
		return stream.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.workDir != "" {
		return nil
	}
	dir, err := guard.Default().MakeDir(e.root, "streamtest-"+safe(e.cfg.ID)+"-")
	if err != nil {
		return err
	}
	e.workDir = dir
	return nil
}

// Host returns the configured host, 127.0.0.1 by default.
func (e *Env) Host() string { return e.host }

// WorkDir returns the stream's work directory ("" before Setup).
func (e *Env) WorkDir() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.workDir
}

// Send copies a file or directory into the stream, as package sendtree
// says; a relative remote is relative to WorkDir.
func (e *Env) Send(ctx context.Context, local, remote string) error {
	if e.procs.Closed() {
		return stream.ErrClosed
	}
	if !filepath.IsAbs(remote) {
		remote = filepath.Join(e.WorkDir(), remote)
	}
	return sendtree.Copy(ctx, sendtree.OS{}, local, remote)
}

// Close stops every block's tree (SIGTERM, SIGKILL after the manager's
// grace), kills what still carries the stream's tag and removes the work
// directory.
func (e *Env) Close() error {
	procs, first := e.procs.Close()
	if !first {
		return nil
	}
	err := stream.StopAll(procs, e.cfg.GraceOrDefault())
	// What left the blocks' process trees (a daemon that detached itself)
	// still carries the stream's tag.
	proctree.KillTagged(e.tag, false)
	e.mu.Lock()
	dir := e.workDir
	e.workDir = ""
	e.mu.Unlock()
	if dir != "" {
		err = errors.Join(err, guard.Default().RemoveAll(dir))
	}
	return err
}

// Start starts cmd in a process group of its own; see stream.Environment.
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
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("directory %s: not a directory", dir)
	}
	env := append(append(append(os.Environ(), e.env...), cmd.Env...), proctree.TagEnv(e.tag))
	c := &exec.Cmd{
		Path: cmd.Args[0], Args: cmd.Args, Env: env, Dir: dir,
		Stdin: cmd.Stdin, Stdout: cmd.Stdout, Stderr: cmd.Stderr,
		WaitDelay: stream.OutputWait,
		// No parent-death signal: see package guard.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if e.netNone {
		c.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
		if os.Geteuid() != 0 {
			c.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
			c.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
			c.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
		}
	}
	p := &process{env: e, cmd: c}
	var err error
	if cmd.Gated {
		p.gate, err = gate.Wrap(c)
	} else {
		c.Path, err = gate.LookPath(cmd.Args[0], dir, env)
	}
	if err != nil {
		return nil, err
	}
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
