package local

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/streamtest/streamtest/internal/helper"
)

// The guard is this executable started as a helper, in a process group of
// its own, with a pipe from this process as its standard input. The process
// tells it every process group and work directory it creates ("+pg 123",
// "+dir /tmp/x") and forgets ("-pg 123"). When the pipe closes, because this
// process ended in any way, the guard kills what is left and removes the
// directories.
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
	cmd, err := helper.Command(guardHelper)
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
func guardMain([]string) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE, syscall.SIGQUIT)
	groups := map[int]bool{}
	dirs := map[string]bool{}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		op, val, _ := strings.Cut(sc.Text(), " ")
		switch op {
		case "+pg", "-pg":
			if pid, err := strconv.Atoi(val); err == nil {
				groups[pid] = op == "+pg"
			}
		case "+dir":
			dirs[val] = true
		case "-dir":
			delete(dirs, val)
		}
	}
	for pg, live := range groups {
		if live {
			signalTree(pg, syscall.SIGKILL)
		}
	}
	for dir := range dirs {
		os.RemoveAll(dir)
	}
	return 0
}
