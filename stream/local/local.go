package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/helper"
)

func init() {
	stream.Register("local", New, stream.Info{
		Doc:     "a process on this machine, in a private work directory",
		Aliases: []string{"process"},
		Params: []stream.Param{
			{Name: "host", Kind: stream.String, Doc: "the address other streams use to reach this stream", Default: "127.0.0.1"},
			{Name: "network", Kind: stream.String, Doc: `"host" shares this machine's network; "none" gives each block a network namespace of its own with no route anywhere`, Default: "host"},
			{Name: "env", Kind: stream.StringMap, Doc: "environment variables added to every block"},
			{Name: "kill_grace", Kind: stream.Duration, Doc: "time between SIGTERM and SIGKILL when a block is stopped", Default: "1s"},
			{Name: "work_root", Kind: stream.Path, Doc: "directory in which the stream's work directory is made", Default: "the system's temporary directory"},
		},
	})
}

// Env is a local execution stream.
type Env struct {
	cfg     stream.Config
	host    string
	netNone bool
	env     []string
	grace   time.Duration
	root    string
	tag     string // ownerTag.streamTag: see tag.go

	mu      sync.Mutex
	workDir string
	procs   map[*process]struct{}
	closed  bool
}

// New creates a local stream from its configuration. It creates nothing on
// the machine until Setup.
func New(cfg stream.Config) (stream.Environment, error) {
	e := &Env{
		cfg:   cfg,
		host:  cfg.Params.String("host", "127.0.0.1"),
		grace: cfg.Params.Duration("kill_grace", time.Second),
		root:  cfg.Params.Path("work_root", cfg.Dir, ""),
		procs: map[*process]struct{}{},
		tag:   ownerTag + "." + newTag(),
	}
	switch n := cfg.Params.String("network", "host"); n {
	case "host":
	case "none":
		e.netNone = true
	default:
		return nil, fmt.Errorf("network: want \"host\" or \"none\", got %q", n)
	}
	var keys []string
	for k := range cfg.Params.StringMap("env") {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.env = append(e.env, k+"="+cfg.Params.StringMap("env")[k])
	}
	return e, nil
}

// Setup makes the stream's private work directory (mode 0700).
func (e *Env) Setup(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("stream is closed")
	}
	if e.workDir != "" {
		return nil
	}
	dir, err := os.MkdirTemp(e.root, "streamtest-"+safe(e.cfg.ID)+"-")
	if err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return err
	}
	e.workDir = dir
	theGuard.add("dir", dir)
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

// Send copies a file or directory into the stream; see stream.Environment.
func (e *Env) Send(ctx context.Context, local, remote string) error {
	if !filepath.IsAbs(remote) {
		remote = filepath.Join(e.WorkDir(), remote)
	}
	return copyPath(ctx, local, remote)
}

// Close stops every process the stream started and removes its work
// directory.
func (e *Env) Close() error {
	e.mu.Lock()
	e.closed = true
	procs := make([]*process, 0, len(e.procs))
	for p := range e.procs {
		procs = append(procs, p)
	}
	dir := e.workDir
	e.workDir = ""
	e.mu.Unlock()

	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Stop(e.grace); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// What left the blocks' process trees (a daemon that detached itself)
	// still carries the stream's tag.
	killTagged(e.tag, false)
	if dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
		theGuard.remove("dir", dir)
	}
	return errors.Join(errs...)
}

// Start starts cmd in a process group of its own; see stream.Environment.
func (e *Env) Start(ctx context.Context, cmd *stream.Command) (stream.Process, error) {
	if len(cmd.Args) == 0 {
		return nil, errors.New("no program given")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errors.New("stream is closed")
	}
	workDir := e.workDir
	e.mu.Unlock()

	dir := cmd.Dir
	if dir == "" {
		dir = workDir
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(workDir, dir)
	}
	env := append(append(append(os.Environ(), e.env...), cmd.Env...), tagVar+"="+e.tag)
	p := &process{env: e, done: make(chan struct{})}
	var c *exec.Cmd
	if cmd.Gated {
		var err error
		if c, err = p.gateCommand(cmd.Args); err != nil {
			return nil, err
		}
		c.Env = append(env, helper.Env+"="+gateHelper)
	} else {
		path, err := lookPath(cmd.Args[0], dir, env)
		if err != nil {
			return nil, err
		}
		c = &exec.Cmd{Path: path, Args: cmd.Args, Env: env}
	}
	c.Dir = dir
	c.Stdin = cmd.Stdin
	c.Stdout = cmd.Stdout
	c.Stderr = cmd.Stderr
	c.WaitDelay = 200 * time.Millisecond // output of background processes after the block ends is not waited for
	// No parent-death signal: it would kill the leader first and orphan the
	// rest of the tree, which the guard finds by descent from the leader.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if e.netNone {
		c.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
		if os.Geteuid() != 0 {
			c.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
			c.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
			c.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
		}
	}
	p.cmd = c

	started := time.Now()
	if err := c.Start(); err != nil {
		p.closeGate()
		p.closePipes()
		if e.netNone {
			return nil, fmt.Errorf("%w (network: none needs root or unprivileged user namespaces)", err)
		}
		return nil, err
	}
	p.pid = c.Process.Pid
	p.started = started
	e.mu.Lock()
	e.procs[p] = struct{}{}
	e.mu.Unlock()
	go p.wait()

	if cmd.Gated {
		if err := p.awaitReady(ctx); err != nil {
			p.Stop(0)
			return nil, err
		}
	}
	return p, nil
}

// lookPath finds a program the way the process would: relative to dir when
// it has a slash, else in the PATH of env.
func lookPath(name, dir string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		fi, err := os.Stat(name)
		if err != nil {
			return "", fmt.Errorf("exec %s: %w", name, err)
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("exec %s: not an executable file", name)
		}
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			path = kv[len("PATH="):]
		}
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %q: executable file not found in $PATH", name)
}

func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
