package local

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

type procInfo struct{ pid, ppid, pgid int }

// procTable reads every process's parent and process group from /proc.
func procTable() []procInfo {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make([]procInfo, 0, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid pgrp ...
		if len(f) < 3 || f[0] == "Z" {
			continue // zombies hold nothing and cannot be killed
		}
		ppid, _ := strconv.Atoi(f[1])
		pgid, _ := strconv.Atoi(f[2])
		out = append(out, procInfo{pid, ppid, pgid})
	}
	return out
}

// tree returns the members of process group pgid and every descendant of
// them and of pgid itself.
func tree(pgid int) []int {
	table := procTable()
	children := map[int][]int{}
	for _, p := range table {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	seen := map[int]bool{}
	var queue []int
	for _, p := range table {
		if p.pgid == pgid {
			queue = append(queue, p.pid)
		}
	}
	queue = append(queue, children[pgid]...)
	var out []int
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] || pid == os.Getpid() {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	return out
}

// signalTree sends sig to the process group and to every descendant found.
func signalTree(pgid int, sig syscall.Signal) {
	for _, pid := range tree(pgid) {
		syscall.Kill(pid, sig)
	}
	syscall.Kill(-pgid, sig)
}

// groupAlive reports whether any live process is in group pgid. Signal 0
// to the group answers in one system call when the group is empty, the
// common case; it counts zombies, though (an orphan's zombie lingers where
// PID 1 does not reap), so a non-empty answer is checked in /proc.
func groupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) == syscall.ESRCH {
		return false
	}
	for _, p := range procTable() {
		if p.pgid == pgid {
			return true
		}
	}
	return false
}
