package conformance

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// What the suite sees on a stream: processes through /proc/PID/stat, files
// through ls -ld. Both run as blocks on a stream.

// proc is a process as /proc/PID/stat shows it.
type proc struct {
	State   byte // R, S, D, T (stopped), Z (zombie), ...
	PPid    int
	Pgrp    int
	Session int
	Start   string // start time in clock ticks since boot: a reused PID has another
}

func (p proc) String() string {
	return fmt.Sprintf("state %c, parent %d, group %d, session %d", p.State, p.PPid, p.Pgrp, p.Session)
}

// procScript prints "PID STATE PPID PGRP SESSION ..." (the fields of
// /proc/PID/stat after the command name) for every PID given that exists.
const procScript = `for p in "$@"; do
	if { read -r l < "/proc/$p/stat"; } 2>/dev/null; then echo "$p ${l##*") "}"; fi
done`

// procs looks at the processes pids on e.
func (s *suite) procs(t testing.TB, e stream.Environment, pids []int) map[int]proc {
	t.Helper()
	args := make([]string, len(pids))
	for i, p := range pids {
		args[i] = strconv.Itoa(p)
	}
	m := map[int]proc{}
	for _, line := range strings.Split(s.sh(t, e, procScript, args...), "\n") {
		f := strings.Fields(line)
		if len(f) < 21 {
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		var p proc
		p.State = f[1][0]
		p.PPid, _ = strconv.Atoi(f[2])
		p.Pgrp, _ = strconv.Atoi(f[3])
		p.Session, _ = strconv.Atoi(f[4])
		p.Start = f[20] // field 22 of stat; f[1] is field 3
		m[pid] = p
	}
	return m
}

// alive reports whether now shows the process that was seen as was: same
// PID and start time, and not a zombie.
func alive(now map[int]proc, pid int, was proc) bool {
	p, ok := now[pid]
	return ok && p.Start == was.Start && p.State != 'Z' && p.State != 'X'
}

// running looks at pids on e and fails t unless every one is a live
// process; it returns what it saw, to tell the same processes later.
func (s *suite) running(t testing.TB, e stream.Environment, pids []int, what string) map[int]proc {
	t.Helper()
	seen := s.procs(t, e, pids)
	for _, pid := range pids {
		if p, ok := seen[pid]; !ok || p.State == 'Z' || p.State == 'X' {
			t.Fatalf("%s: process %d is not running (seen: %v)", what, pid, seen)
		}
	}
	return seen
}

// awaitGone waits until none of the processes seen in was lives on e;
// what names them.
func (s *suite) awaitGone(t testing.TB, e stream.Environment, was map[int]proc, what string) {
	t.Helper()
	pids := make([]int, 0, len(was))
	for pid := range was {
		pids = append(pids, pid)
	}
	s.eventually(t, what+": every process gone", func() (bool, string) {
		now := s.procs(t, e, pids)
		var left []string
		for _, pid := range pids {
			if alive(now, pid, was[pid]) {
				left = append(left, fmt.Sprintf("%d (state %c)", pid, now[pid].State))
			}
		}
		return len(left) == 0, "still running: " + strings.Join(left, ", ")
	})
}

// awaitPIDs waits for a line "pids N..." with n numbers on out.
func (s *suite) awaitPIDs(t testing.TB, out *output, n int, what string) []int {
	t.Helper()
	var pids []int
	text, ok := out.waitFor(s.timeout, func(text string) bool {
		pids = nil
		for _, line := range strings.SplitAfter(text, "\n") {
			rest, found := strings.CutPrefix(line, "pids ")
			if !found || !strings.HasSuffix(rest, "\n") {
				continue
			}
			for _, f := range strings.Fields(rest) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
			return len(pids) == n
		}
		return false
	})
	if !ok {
		t.Fatalf("%s: no line \"pids\" with %d process ids within %v; stdout %q", what, n, s.timeout, text)
	}
	return pids
}

// entry is a file on a stream as ls -ld shows it.
type entry struct {
	Type   byte // '-' file, 'd' directory, 'l' link; 0 when missing
	Perm   fs.FileMode
	Target string // of a link
}

func (en entry) String() string {
	switch en.Type {
	case 0:
		return "missing"
	case 'l':
		return "link to " + en.Target
	case 'd':
		return fmt.Sprintf("directory %#o", en.Perm)
	case '-':
		return fmt.Sprintf("file %#o", en.Perm)
	}
	return fmt.Sprintf("type %c, %#o", en.Type, en.Perm)
}

const lsScript = `for f in "$@"; do
	if [ -e "$f" ] || [ -h "$f" ]; then printf '%s\t' "$f"; ls -ld "$f"; else printf '%s\tmissing\n' "$f"; fi
done`

// ls looks at paths (relative to WorkDir, or absolute) on e.
func (s *suite) ls(t testing.TB, e stream.Environment, paths ...string) map[string]entry {
	t.Helper()
	m := map[string]entry{}
	for _, line := range strings.Split(strings.TrimSuffix(s.sh(t, e, lsScript, paths...), "\n"), "\n") {
		name, long, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("ls -ld printed %q", line)
		}
		if long == "missing" {
			m[name] = entry{}
			continue
		}
		en, err := parseLong(long)
		if err != nil {
			t.Fatalf("ls -ld %s: %v", name, err)
		}
		m[name] = en
	}
	return m
}

// parseLong reads a line of ls -l: "drwxr-x--- 2 u g 40 Nov 27 10:00 name",
// "lrwxrwxrwx ... name -> target".
func parseLong(line string) (entry, error) {
	if len(line) < 10 {
		return entry{}, fmt.Errorf("cannot read %q", line)
	}
	en := entry{Type: line[0]}
	for i, c := range line[1:10] {
		bit := fs.FileMode(1) << (8 - i)
		switch c {
		case '-', 'S', 'T':
		case 'r', 'w', 'x', 's', 't':
			en.Perm |= bit
		default:
			return entry{}, fmt.Errorf("cannot read the mode of %q", line)
		}
	}
	if en.Type == 'l' {
		_, en.Target, _ = strings.Cut(line, " -> ")
	}
	return en, nil
}

// since is how long ago t0 was, for messages.
func since(t0 time.Time) time.Duration { return time.Since(t0).Round(time.Millisecond) }
