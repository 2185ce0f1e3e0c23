package proctree_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream/proctree"
)

// startTree starts sh in a group of its own with a child in the group and a
// grandchild in a session of its own; it returns the command and the three
// pids once they are written.
func startTree(t *testing.T, env ...string) (*exec.Cmd, []int) {
	t.Helper()
	pidfile := filepath.Join(t.TempDir(), "pids")
	cmd := exec.Command("/bin/sh", "-c", `sleep 100 & a=$!; setsid sleep 100 & b=$!; echo $$ $a $b > `+pidfile+`.tmp; mv `+pidfile+`.tmp `+pidfile+`; wait`)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		proctree.SignalTree(cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd, readPids(t, pidfile, 3)
}

func readPids(t *testing.T, file string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(file)
		if f := strings.Fields(string(data)); err == nil && len(f) == n {
			var pids []int
			for _, s := range f {
				pid, err := strconv.Atoi(s)
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				pids = append(pids, pid)
			}
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d pids in %s within 10s", n, file)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone waits until none of pids is alive, or fails after 5s.
func waitGone(t *testing.T, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for slices.ContainsFunc(pids, proctree.Alive) {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v still alive after 5s", pids)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTreeFindsGroupAndDescendantsInOtherSessions(t *testing.T) {
	cmd, pids := startTree(t)
	tree := proctree.Tree(cmd.Process.Pid)
	for _, pid := range pids {
		if !slices.Contains(tree, pid) {
			t.Errorf("Tree(%d) = %v, misses %d (all: %v)", cmd.Process.Pid, tree, pid, pids)
		}
	}
	if slices.Contains(tree, os.Getpid()) {
		t.Errorf("Tree holds the calling process")
	}
	if !proctree.GroupAlive(cmd.Process.Pid) {
		t.Error("GroupAlive = false for a running group")
	}
}

func TestSignalTreeReachesEveryProcess(t *testing.T) {
	cmd, pids := startTree(t)
	proctree.SignalTree(cmd.Process.Pid, syscall.SIGKILL)
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("leader ended with %v, want killed by SIGKILL", err)
	}
	waitGone(t, pids...)
	if proctree.GroupAlive(cmd.Process.Pid) {
		t.Error("GroupAlive = true after every member was killed")
	}
}

func TestSignalTreeOfAGoneGroup(t *testing.T) {
	cmd := exec.Command("true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	proctree.SignalTree(cmd.Process.Pid, syscall.SIGKILL) // must not panic or hang
	if proctree.GroupAlive(cmd.Process.Pid) {
		t.Error("GroupAlive = true for a group whose only member was reaped")
	}
}

func TestTaggedAndKillTagged(t *testing.T) {
	owner := proctree.NewTag()
	stream := owner + "." + proctree.NewTag()
	cmd, pids := startTree(t, proctree.TagEnv(stream))
	_, otherPids := startTree(t, proctree.TagEnv(proctree.NewTag()))

	for _, q := range []struct {
		value  string
		prefix bool
	}{{stream, false}, {owner, true}} {
		got := proctree.Tagged(q.value, q.prefix)
		for _, pid := range pids {
			if !slices.Contains(got, pid) {
				t.Errorf("Tagged(%q, %v) = %v, misses %d", q.value, q.prefix, got, pid)
			}
		}
		for _, pid := range otherPids {
			if slices.Contains(got, pid) {
				t.Errorf("Tagged(%q, %v) holds %d, which has another tag", q.value, q.prefix, pid)
			}
		}
	}
	if got := proctree.Tagged(owner, false); len(got) != 0 {
		t.Errorf("Tagged(owner, false) = %v, want none: no process has the owner's tag alone", got)
	}

	proctree.KillTagged(owner, true)
	cmd.Wait()
	waitGone(t, pids...)
	for _, pid := range otherPids {
		if !proctree.Alive(pid) {
			t.Errorf("KillTagged killed %d, which has another tag", pid)
		}
	}
}

func TestAlive(t *testing.T) {
	if !proctree.Alive(os.Getpid()) {
		t.Error("Alive(self) = false")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Until it is reaped, the ended process is a zombie, which is not alive.
	deadline := time.Now().Add(5 * time.Second)
	for proctree.Alive(pid) {
		if time.Now().After(deadline) {
			t.Fatal("an exited process still counts as alive")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
		t.Fatalf("the zombie is not in /proc: %v", err)
	}
	cmd.Wait()
}
