// Package proctree finds and signals the processes of a Linux process tree:
// the members of a process group, every descendant of them (also those that
// made a group or a session of their own), and processes marked with an
// environment tag, which are found even after their ancestry is lost.
//
// A stream type calls it from Process.Signal (SignalTree on the block's
// process group), from Close (KillTagged with the stream's tag) and from its
// guard (KillTagged with the owner's tag as a prefix):
//
//	proctree.SignalTree(pgid, syscall.SIGTERM)
//	if !proctree.GroupAlive(pgid) { /* forget the group */ }
//	cmd.Env = append(cmd.Env, proctree.TagEnv(tag))
//	proctree.KillTagged(tag, false)
//
// Limits: it reads /proc, so it works on Linux only, and sees the processes
// of the PID namespace whose /proc is mounted. A walk of the tree is a
// snapshot: a process forked after it is read is not found (SignalTree also
// signals the group, which catches forks that stayed in it). A process
// started with an emptied environment (env -i) carries no tag. Zombies are
// left out everywhere: they hold nothing and cannot be killed.
package proctree

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Proc is one live process as the process table holds it.
type Proc struct {
	PID, PPID, PGID int
}

// Table reads every live process's parent and process group from /proc.
// Zombies are left out.
func Table() []Proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make([]Proc, 0, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, ok := readStat(pid)
		if ok {
			out = append(out, p)
		}
	}
	return out
}

// readStat reads /proc/pid/stat; ok is false for a zombie or a process
// that is gone.
func readStat(pid int) (p Proc, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, false
	}
	// The command name, in parentheses, may hold anything: the fields
	// that follow start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return Proc{}, false
	}
	f := bytes.Fields(data[i+1:]) // state ppid pgrp ...
	if len(f) < 3 || string(f[0]) == "Z" || string(f[0]) == "X" {
		return Proc{}, false
	}
	ppid, _ := strconv.Atoi(string(f[1]))
	pgid, _ := strconv.Atoi(string(f[2]))
	return Proc{PID: pid, PPID: ppid, PGID: pgid}, true
}

// Alive reports whether pid is a live process (not a zombie).
func Alive(pid int) bool {
	_, ok := readStat(pid)
	return ok
}

// Tree returns the live members of process group pgid and every
// descendant of them and of the process pgid itself, each once, never the
// calling process.
func Tree(pgid int) []int {
	table := Table()
	children := map[int][]int{}
	var queue []int
	for _, p := range table {
		children[p.PPID] = append(children[p.PPID], p.PID)
		if p.PGID == pgid {
			queue = append(queue, p.PID)
		}
	}
	queue = append(queue, children[pgid]...)
	self := os.Getpid()
	seen := map[int]bool{}
	var out []int
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] || pid == self {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	return out
}

// SignalTree sends sig to every process of Tree(pgid) and to the group
// pgid itself. It does not wait, and a tree that is gone is not an error.
func SignalTree(pgid int, sig syscall.Signal) {
	for _, pid := range Tree(pgid) {
		syscall.Kill(pid, sig)
	}
	syscall.Kill(-pgid, sig)
}

// GroupAlive reports whether any live process is in group pgid. Signal 0
// to the group answers in one system call when the group is empty, the
// common case; it counts zombies, though (an orphan's zombie lingers where
// PID 1 does not reap), so a non-empty answer is checked in /proc.
func GroupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) == syscall.ESRCH {
		return false
	}
	for _, p := range Table() {
		if p.PGID == pgid {
			return true
		}
	}
	return false
}

// TagVar is the environment variable that tags a process: TagVar=<owner>
// or TagVar=<owner>.<stream>. Children inherit it, also those that leave
// their group or session, and /proc/PID/environ keeps the environment a
// program was started with.
const TagVar = "STREAMTEST_TAG"

// TagEnv returns the environment entry that tags a process with value.
func TagEnv(value string) string { return TagVar + "=" + value }

// NewTag returns a new random tag value (16 hexadecimal digits).
func NewTag() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Tagged returns the pids of the live processes whose environment holds
// TagVar=value, or, when prefix is set, TagVar=value.<anything> too. The
// calling process is never among them.
func Tagged(value string, prefix bool) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte(TagEnv(value))
	wantPrefix := append(want[:len(want):len(want)], '.')
	self := os.Getpid()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for kv := range bytes.SplitSeq(env, []byte{0}) {
			if bytes.Equal(kv, want) || prefix && bytes.HasPrefix(kv, wantPrefix) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// KillTagged sends SIGKILL to every process Tagged(value, prefix) finds,
// again until none is left alive or a second has passed: a process may
// fork while its siblings die.
func KillTagged(value string, prefix bool) {
	deadline := time.Now().Add(time.Second)
	for {
		live := 0
		for _, pid := range Tagged(value, prefix) {
			if syscall.Kill(pid, syscall.SIGKILL) == nil && Alive(pid) {
				live++
			}
		}
		if live == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
