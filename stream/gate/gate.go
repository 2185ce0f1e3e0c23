// Package gate parks a process before it runs its program, until one call
// lets it go: how a stream type makes a gated start (stream.Command.Gated)
// that a synchronized group releases at one instant.
//
// A type wraps the *exec.Cmd it is about to start, starts it its own way,
// and waits for the gate to be ready:
//
//	cmd := &exec.Cmd{Path: args[0], Args: args, Env: env, Dir: dir}
//	g, err := gate.Wrap(cmd)      // cmd now runs this executable as the gate
//	if err := cmd.Start(); err != nil { g.Close(); return err }
//	if err := g.AwaitReady(ctx); err != nil { kill and wait; return err }
//	...
//	g.Release()                   // Process.Release: one write, never blocks
//	g.Abort(sig)                  // Process.Signal before Release: never runs
//	cmd.Wait()
//	exit, err = g.Finish(exit)    // after the end: Started, or killed by sig
//
// The gate is this same executable re-run as the helper "gate" (package
// helper: the program must be built with this package linked, which every
// program that imports it is). It runs in cmd's directory and environment,
// looks the program up there (see LookPath), reports "ready" (a program
// that cannot be found is an error of AwaitReady, before "ready"), blocks
// on a pipe, notes the time when the release byte arrives and exec's the
// program, which keeps the gate's pid, process group and standard files.
// A gate that is closed instead exits with status 1 without running the
// program.
//
// Wrap only rewrites cmd's fields, so cmd may be started anywhere its
// extra files reach: here with cmd.Start, or by a process that receives
// cmd's fields and files (the sandbox type's init does). cmd.Path is looked
// up by the gate, where it runs: exec.Command's look-up on this machine is
// not used.
//
// Limits: the gate adds the start-up of this executable to Start (a few
// milliseconds); the instant Started returns is read on the clock of the
// machine where the gate ran. The report with that instant is read only
// after the process ended (Started), not as it comes: a reader that woke
// at the start of every member of a synchronized group would take CPU from
// the members at the very instant they start.
package gate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/helper"
)

// HelperName is the helper name under which the gate runs.
const HelperName = "gate"

func init() { helper.Register(HelperName, gateMain) }

// Gate is the parent's side of one gated process.
type Gate struct {
	release, report *os.File // our ends
	child           []*os.File
	childOnce       sync.Once
	childClosed     bool // set once the gate's ends were closed here
	rd              *bufio.Reader

	mu      sync.Mutex
	state   int            // parked, released or closed
	aborted syscall.Signal // the signal Abort closed the gate for

	firstOnce sync.Once
	first     chan struct{} // closed when the gate's first line was read
	ready     bool
	readyErr  error

	endOnce  sync.Once
	started  time.Time
	startErr error
}

const (
	parked = iota
	released
	closed
)

// Wrap rewrites cmd to start the gate, which runs cmd.Path (looked up
// where the gate runs) with cmd.Args once released: cmd.Path and cmd.Args
// become the gate's, the gate's pipes are added to cmd.ExtraFiles and the
// helper's variable to cmd.Env (nil Env: this process's environment).
// cmd.Dir, Stdin, Stdout, Stderr and SysProcAttr are kept.
func Wrap(cmd *exec.Cmd) (*Gate, error) {
	if len(cmd.Args) == 0 || cmd.Path == "" {
		return nil, errors.New("gate: no program given")
	}
	h, err := helper.Command(HelperName)
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
	fd := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, relR, repW)
	cmd.Args = append([]string{h.Path, strconv.Itoa(fd), strconv.Itoa(fd + 1), cmd.Path}, cmd.Args...)
	cmd.Path = h.Path
	cmd.Err = nil
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env[:len(env):len(env)], helper.Env+"="+HelperName)
	return &Gate{
		release: relW, report: repR, child: []*os.File{relR, repW},
		rd: bufio.NewReader(repR), first: make(chan struct{}),
	}, nil
}

// closeChild closes this process's copies of the gate's ends of the pipes:
// once the gate runs it holds its own, and the report ends only when no
// copy is left.
func (g *Gate) closeChild() {
	g.childOnce.Do(func() {
		for _, f := range g.child {
			f.Close()
		}
		g.childClosed = true
	})
}

// readFirst reads the gate's first line, once, in a goroutine.
func (g *Gate) readFirst() {
	g.firstOnce.Do(func() {
		go func() {
			defer close(g.first)
			line, err := g.rd.ReadString('\n')
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "ready":
				g.ready = true
			case strings.HasPrefix(line, "error "):
				g.readyErr = errors.New(strings.TrimPrefix(line, "error "))
			case err != nil:
				g.readyErr = errors.New("the gate ended before it was ready")
			default:
				g.readyErr = fmt.Errorf("the gate said %q instead of ready", line)
			}
		}()
	})
}

// AwaitReady waits until the started gate has found the program and is
// parked. Call it once the command started. A program that cannot be found
// or is not executable is its error (the gate then exits with status 127);
// so is ctx's end. On an error the caller ends the process.
func (g *Gate) AwaitReady(ctx context.Context) error {
	g.closeChild()
	g.readFirst()
	select {
	case <-g.first:
		return g.readyErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release lets the program run. It writes one byte into a pipe and never
// waits. Releasing twice, or after Close, is an error.
func (g *Gate) Release() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case released:
		return errors.New("the gate was already released")
	case closed:
		return errors.New("the gate was closed")
	}
	g.state = released
	_, err := g.release.Write([]byte{1})
	g.release.Close()
	return err
}

// Close aborts a gate that was not released: the gate exits with status 1
// and the program never runs. It reports whether this call aborted it;
// after Release it does nothing. Call it also when the command could not
// be started, to free the pipes.
func (g *Gate) Close() (aborted bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state != parked {
		return false
	}
	g.state = closed
	g.release.Close()
	if !g.childClosed {
		// Never started (or never awaited): nothing will read the report.
		g.closeChild()
		g.report.Close()
	}
	return true
}

// Abort is Process.Signal(sig) on a gated process: if the gate is still
// parked, it closes it (see Close) and reports true, and Finish will
// report the process as killed by sig, never started. After Release it
// does nothing and reports false: signal the process then.
func (g *Gate) Abort(sig syscall.Signal) bool {
	if !g.Close() {
		return false
	}
	g.mu.Lock()
	g.aborted = sig
	g.mu.Unlock()
	return true
}

// Finish completes exit, how the gated process ended as its type saw it,
// once the process ended: Started becomes the instant the gate opened
// (zero if the program never ran); after Abort, the process ended as
// killed by Abort's signal, whatever the gate's own status. The error is
// Started's.
func (g *Gate) Finish(exit stream.Exit) (stream.Exit, error) {
	started, err := g.Started()
	exit.Started = started
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.aborted != 0 {
		exit = stream.Exit{Code: -1, Signal: g.aborted, Ended: exit.Ended}
	}
	return exit, err
}

// Started returns, once the process ended, the instant the gate opened on
// the clock where it ran, or the zero time when the program never ran; the
// error says why the gate could not exec the program after its release.
// It blocks until the gate's report ends (the program was exec'd or the
// gate exited), so call it after the process's end: the report is read
// only then.
func (g *Gate) Started() (time.Time, error) {
	g.endOnce.Do(func() {
		g.closeChild()
		g.readFirst()
		<-g.first
		defer g.report.Close()
		if !g.ready {
			return
		}
		for {
			line, err := g.rd.ReadString('\n')
			line = strings.TrimSuffix(line, "\n")
			if ns, ok := strings.CutPrefix(line, "start "); ok {
				if n, perr := strconv.ParseInt(ns, 10, 64); perr == nil {
					g.started = time.Unix(0, n)
				}
			} else if msg, ok := strings.CutPrefix(line, "error "); ok {
				g.startErr = errors.New(msg)
				g.started = time.Time{}
			}
			if err != nil {
				return
			}
		}
	})
	return g.started, g.startErr
}

// LookPath finds the program name the way the process that runs it in
// directory dir with environment env would: a name with a slash is taken
// as it is (relative to dir), any other is looked for in env's PATH (the
// last PATH entry of env wins; relative PATH elements are relative to
// dir). The file must exist, be a regular file and be executable. The path
// returned is the one to execute from dir. Errors are *exec.Error, and
// wrap exec.ErrNotFound when the name is not in PATH.
func LookPath(name, dir string, env []string) (string, error) {
	check := func(p string) error {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			return err
		case fi.IsDir():
			return syscall.EISDIR
		case fi.Mode()&0o111 == 0:
			return os.ErrPermission
		}
		return nil
	}
	if strings.Contains(name, "/") {
		if err := check(name); err != nil {
			return "", &exec.Error{Name: name, Err: err}
		}
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		if !filepath.IsAbs(p) {
			p = "./" + p // a name with a slash, so that exec does not search
		}
		if check(p) == nil {
			return p, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}

// gateMain runs in the gate: args are the release and report descriptors,
// the program and its argv.
func gateMain(args []string) int {
	if len(args) < 4 {
		fmt.Fprintln(os.Stderr, "gate: want: release-fd report-fd program argv...")
		return 2
	}
	relFD, err1 := strconv.Atoi(args[0])
	repFD, err2 := strconv.Atoi(args[1])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "gate: bad descriptors", args[0], args[1])
		return 2
	}
	release, report := os.NewFile(uintptr(relFD), "release"), os.NewFile(uintptr(repFD), "report")
	fail := func(err error) int {
		fmt.Fprintf(report, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return 127
	}
	path, err := LookPath(args[2], ".", os.Environ())
	if err != nil {
		return fail(err)
	}
	if _, err := report.WriteString("ready\n"); err != nil {
		return 1
	}
	var b [1]byte
	if n, _ := release.Read(b[:]); n == 0 {
		return 1 // closed: the program must not run
	}
	start := time.Now()
	release.Close()
	fmt.Fprintf(report, "start %d\n", start.UnixNano())
	syscall.CloseOnExec(repFD)
	err = syscall.Exec(path, args[3:], os.Environ())
	return fail(&exec.Error{Name: args[2], Err: err})
}
