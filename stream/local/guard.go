package local

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/streamtest/streamtest/stream/helper"
)

// The guard is this executable started as a helper, in a process group of
// its own, with a pipe from this process as its standard input and the owner
// tag (see tag.go) as its argument. The process tells it every work
// directory it makes ("+dir /tmp/x") and removes ("-dir /tmp/x"). When the
// pipe closes, because this process ended in any way, the guard kills every
// process tagged with the owner tag and removes the directories. Nothing is
// said per block: a block run costs the guard nothing.
type guard struct {
	mu      sync.Mutex
	w       *os.File
	started bool
	err     error
}

var theGuard guard

const guardHelper = "local-guard"

func init() { helper.Register(guardHelper, guardMain) }

func (g *guard) add(kind, val string)    { g.send("+" + kind + " " + val) }
func (g *guard) remove(kind, val string) { g.send("-" + kind + " " + val) }

func (g *guard) send(line string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.started {
		g.started = true
		g.err = g.start()
		if g.err != nil {
			fmt.Fprintf(os.Stderr, "streamtest: local streams: no guard process, a killed test may leave processes behind: %v\n", g.err)
		}
	}
	if g.w == nil {
		return
	}
	if _, err := g.w.WriteString(line + "\n"); err != nil {
		g.w.Close()
		g.w = nil
		fmt.Fprintf(os.Stderr, "streamtest: local streams: guard process lost: %v\n", err)
	}
}

func (g *guard) start() error {
	cmd, err := helper.Command(guardHelper, ownerTag)
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return err
	}
	r.Close()
	go cmd.Wait()
	g.w = w
	return nil
}

// guardMain runs in the guard process.
func guardMain(args []string) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE, syscall.SIGQUIT)
	if len(args) != 1 {
		return 2
	}
	dirs := map[string]bool{}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		op, val, _ := strings.Cut(sc.Text(), " ")
		switch op {
		case "+dir":
			dirs[val] = true
		case "-dir":
			delete(dirs, val)
		}
	}
	killTagged(args[0], true)
	for dir := range dirs {
		os.RemoveAll(dir)
	}
	return 0
}
