package sandbox

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/streamtest/streamtest/stream/gate"
	"github.com/streamtest/streamtest/stream/helper"
	"github.com/streamtest/streamtest/stream/proctree"
	"golang.org/x/sys/unix"
)

const initHelper = "sandbox-init"

func init() { helper.Register(initHelper, initMain) }

// initMain runs as PID 1 of a stream's PID namespace, started by bwrap
// with the control socket as fd 3. It starts what the test asks for, as
// its own children, reaps every process of the namespace and reports the
// ends of those it started. When the test's end of the socket closes (the
// stream closed, or the test binary died in any way), it returns: the
// death of a namespace's PID 1 kills every process in it.
func initMain(args []string) int {
	f := os.NewFile(3, "control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox init:", err)
		return 1
	}
	in := &initState{conn: c.(*net.UnixConn), leaders: map[int]int{}, groups: map[int]int{}}
	if len(args) > 0 && args[0] == "-net=none" {
		if err := loopbackDown(); err != nil {
			in.send(message{Op: "error", Err: "network none: taking the loopback down: " + err.Error()})
			return 1
		}
	}
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	go func() {
		for range sigchld {
			in.reap()
		}
	}()
	if err := in.send(message{Op: "ready"}); err != nil {
		return 1
	}
	buf, oob := make([]byte, 1<<20), make([]byte, syscall.CmsgSpace(maxFiles*4))
	for {
		m, files, err := receive(in.conn, buf, oob)
		if err != nil {
			return 0
		}
		switch m.Op {
		case "start":
			in.start(m, files)
		case "signal":
			in.mu.Lock()
			pgid, ok := in.groups[m.ID]
			in.mu.Unlock()
			if ok {
				proctree.SignalTree(pgid, syscall.Signal(m.Sig))
			}
		default:
			for _, f := range files {
				f.Close()
			}
		}
	}
}

type initState struct {
	conn *net.UnixConn
	wmu  sync.Mutex

	// mu is held while a process is created and while one is reaped, so
	// that a child is never reaped before it is known.
	mu      sync.Mutex
	leaders map[int]int // pid -> id of the processes started and not reaped
	groups  map[int]int // id -> process group, also after the leader ended
}

func (in *initState) send(m message) error {
	in.wmu.Lock()
	defer in.wmu.Unlock()
	return send(in.conn, m, nil)
}

func (in *initState) start(m message, files []*os.File) {
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	// Held until "started" is sent: the reaper, which needs it too, cannot
	// report the process's end before its start.
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.fork(m, files); err != nil {
		in.send(message{Op: "error", ID: m.ID, Err: err.Error()})
		return
	}
	in.send(message{Op: "started", ID: m.ID})
}

// fork starts the process m asks for; called with in.mu held.
func (in *initState) fork(m message, files []*os.File) error {
	if len(m.Args) == 0 {
		return fmt.Errorf("no program given")
	}
	if fi, err := os.Stat(m.Dir); err != nil {
		return fmt.Errorf("directory: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("directory %s: not a directory", m.Dir)
	}
	path := m.Path
	if !strings.Contains(path, "/") {
		p, err := gate.LookPath(path, m.Dir, m.Env)
		if err != nil {
			return err
		}
		path = p
	}
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	pid, err := syscall.ForkExec(path, m.Args, &syscall.ProcAttr{
		Dir: m.Dir, Env: m.Env, Files: fds,
		Sys: &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return fmt.Errorf("exec %s: %w", m.Args[0], err)
	}
	in.leaders[pid] = m.ID
	in.groups[m.ID] = pid
	return nil
}

// reap reaps every child that ended, the orphans of the namespace
// included, and reports the processes it started.
func (in *initState) reap() {
	for {
		in.mu.Lock()
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			in.mu.Unlock()
			return
		}
		id, ok := in.leaders[pid]
		delete(in.leaders, pid)
		in.mu.Unlock()
		if ok {
			in.send(message{Op: "exit", ID: id, Status: uint32(ws)})
		}
	}
}

// loopbackDown takes the interface lo of the namespace down: bwrap brings
// it up, but a stream with network none reaches nothing, not even an
// address of its own, as local streams with network none (so 127.0.0.1,
// another stream's host, is out of reach too).
func loopbackDown() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() &^ unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
