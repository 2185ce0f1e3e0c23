// Package guard cleans up after a test binary that died without cleaning
// up itself: killed with SIGKILL, ended by a -timeout panic, crashed.
//
// A stream type tags every process it starts and registers the
// directories it makes:
//
//	g := guard.Default()
//	if err := g.AddDir(workDir); err != nil { ... }   // in Setup
//	tag := g.NewTag()                                  // one per stream
//	cmd.Env = append(cmd.Env, proctree.TagEnv(tag))    // every process
//	proctree.KillTagged(tag, false)                    // in Close
//	g.RemoveDir(workDir)                               // in Close, once removed
//
// The guard is this same executable re-run as the helper "guard" (package
// helper), one per process, started by the first AddDir or Start, in a
// process group of its own (a Ctrl-C to the test's group does not reach
// it) and ignoring SIGINT, SIGTERM, SIGHUP and SIGQUIT. Its standard input
// is a pipe from this process; nothing else holds the pipe's write end.
// When the pipe closes, because this process ended in any way, the guard
// kills every process whose environment carries this process's tag
// (Tag, and NewTag's tags, which extend it) and removes the registered
// directories. Nothing is said per process: starting one costs the guard
// nothing. A guard that was lost (killed by someone) is started again by
// the next AddDir, RemoveDir or Start, and is told every directory again.
//
// A parent-death signal (Linux's PR_SET_PDEATHSIG, exec.Cmd's
// SysProcAttr.Pdeathsig, bwrap's --die-with-parent) is NOT an acceptable
// guard: it fires when the thread that started the child ends, not the
// process, and Go ends threads at will; and it kills the one process it is
// set on, the leader, orphaning the rest of its tree.
//
// Limits: Linux only (package proctree). A process started with an emptied
// environment (env -i) that also left its stream's process tree carries no
// tag and is not found. The guard removes directories only; what a block
// made elsewhere stays.
package guard

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/streamtest/streamtest/stream/helper"
	"github.com/streamtest/streamtest/stream/proctree"
)

// HelperName is the helper name under which the guard runs.
const HelperName = "guard"

func init() { helper.Register(HelperName, guardMain) }

// Guard is this process's side of its guard process.
type Guard struct {
	tag string

	mu   sync.Mutex
	w    *os.File // the pipe to the guard; nil while none runs
	cmd  *exec.Cmd
	dirs map[string]bool
}

var def = &Guard{tag: proctree.NewTag(), dirs: map[string]bool{}}

// Default returns this process's guard. It starts no process.
func Default() *Guard { return def }

// Tag returns this process's owner tag: the guard kills every process
// tagged with it, or with a tag NewTag made.
func (g *Guard) Tag() string { return g.tag }

// NewTag returns a new tag for one stream, Tag()+"."+random: KillTagged
// with it finds the stream's processes, and the guard finds them all.
func (g *Guard) NewTag() string { return g.tag + "." + proctree.NewTag() }

// Start starts the guard process if none runs. AddDir and RemoveDir call
// it; call it directly when a type has processes to guard but no
// directory.
func (g *Guard) Start() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.startLocked()
}

// AddDir registers dir: the guard removes it (recursively) when this
// process dies. dir should be absolute.
func (g *Guard) AddDir(dir string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dirs[dir] = true
	return g.sendLocked("+dir " + strconv.Quote(dir))
}

// MakeDir makes a private work directory (mode 0700) in root ("" means
// the system's temporary directory), named from pattern as os.MkdirTemp
// names it, and registers it with AddDir. Remove it with RemoveAll.
func (g *Guard) MakeDir(root, pattern string) (string, error) {
	dir, err := os.MkdirTemp(root, pattern)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	if err := g.AddDir(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// RemoveAll removes dir and everything in it, then forgets it (RemoveDir).
func (g *Guard) RemoveAll(dir string) error {
	err := os.RemoveAll(dir)
	g.RemoveDir(dir)
	return err
}

// RemoveDir forgets dir: the guard leaves it alone.
func (g *Guard) RemoveDir(dir string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.dirs, dir)
	return g.sendLocked("-dir " + strconv.Quote(dir))
}

func (g *Guard) sendLocked(line string) error {
	if g.w != nil {
		if _, err := g.w.WriteString(line + "\n"); err == nil {
			return nil
		}
		// The guard was lost: start another, which hears every directory.
		g.w.Close()
		g.w = nil
	}
	return g.startLocked()
}

func (g *Guard) startLocked() error {
	if g.w != nil {
		return nil
	}
	cmd, err := helper.Command(HelperName, g.tag)
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("guard: %w", err)
	}
	cmd.Stdin = r
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return fmt.Errorf("starting the guard: %w", err)
	}
	go cmd.Wait()
	var b strings.Builder
	for dir := range g.dirs {
		b.WriteString("+dir " + strconv.Quote(dir) + "\n")
	}
	if _, err := w.WriteString(b.String()); err != nil {
		w.Close()
		return fmt.Errorf("guard: %w", err)
	}
	g.w, g.cmd = w, cmd
	return nil
}

// PID returns the guard process's pid, or 0 when none was started.
func (g *Guard) PID() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w == nil {
		return 0
	}
	return g.cmd.Process.Pid
}

// guardMain runs in the guard process; args[0] is the owner's tag.
func guardMain(args []string) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE, syscall.SIGQUIT)
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "guard: want the owner's tag")
		return 2
	}
	dirs := map[string]bool{}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		op, arg, _ := strings.Cut(sc.Text(), " ")
		dir, err := strconv.Unquote(arg)
		if err != nil {
			continue
		}
		switch op {
		case "+dir":
			dirs[dir] = true
		case "-dir":
			delete(dirs, dir)
		}
	}
	proctree.KillTagged(args[0], true)
	for dir := range dirs {
		os.RemoveAll(dir)
	}
	return 0
}
