package streamtest_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// TestKillAndPauseOnTheLab pauses, resumes and kills blocks on the lab's
// hosts (remote streams), one stream and a group, watching the processes
// from this machine: the lab's hosts are network namespaces of it.
func TestKillAndPauseOnTheLab(t *testing.T) {
	s, _ := labStreams(t)
	t.Run("stream", func(t *testing.T) { checkPauseAndKill(t, s.At(1)) })
	t.Run("group", func(t *testing.T) { checkGroupPauseAndKill(t, s.Range(2, 4)) })
}

// TestKillAndPauseInContainers is TestKillAndPauseOnTheLab on container
// streams: the containers' processes are this machine's too.
func TestKillAndPauseInContainers(t *testing.T) {
	s := containerStreams(t)
	t.Run("stream", func(t *testing.T) { checkPauseAndKill(t, s.At(1)) })
	t.Run("group", func(t *testing.T) { checkGroupPauseAndKill(t, s.Range(2, 4)) })
}

// TestKillAndPauseInSandboxes is TestKillAndPauseOnTheLab on sandbox
// streams (bubblewrap).
func TestKillAndPauseInSandboxes(t *testing.T) {
	s := sandboxStreams(t)
	t.Run("stream", func(t *testing.T) { checkPauseAndKill(t, s.At(1)) })
	t.Run("group", func(t *testing.T) { checkGroupPauseAndKill(t, s.Range(2, 4)) })
}

// checkGroupPauseAndKill pauses every member's counter at once, resumes
// them and kills them, each a tree with a child that ignores SIGTERM in a
// session of its own.
func checkGroupPauseAndKill(t *testing.T, g *streamtest.Group) {
	t.Helper()
	base := fmt.Sprintf("streamtest-counter-%d-", time.Now().UnixNano())
	g.RunEach(func(st *streamtest.Stream) code.Block {
		return code.Exec("sh", "-c", `trap '' TERM; setsid sh -c 'while :; do sleep 1; done' "$0-child" & i=0; while :; do i=$((i+1)); echo $i; sleep 0.01; done`, base+st.ID())
	})
	pids := map[string][]int{}
	for _, st := range g.Streams() {
		pids[st.ID()] = []int{findMarked(t, base+st.ID()), findMarked(t, base+st.ID()+"-child")}
	}
	g.Signal(syscall.SIGSTOP)
	for _, p := range pids {
		waitPaused(t, p[0])
		waitPaused(t, p[1])
	}
	paused := map[string]int{}
	for _, st := range g.Streams() {
		paused[st.ID()] = lastCount(st)
	}
	g.Signal(syscall.SIGCONT)
	for _, st := range g.Streams() {
		deadline := time.Now().Add(15 * time.Second)
		for lastCount(st) <= paused[st.ID()] {
			if time.Now().After(deadline) {
				t.Fatalf("stream %s: the counter did not move past %d after SIGCONT", st.ID(), paused[st.ID()])
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	began := time.Now()
	g.Kill()
	t.Logf("Kill of %d %s members took %v", len(pids), g.Streams()[0].Type(), time.Since(began))
	for id, o := range g.Outcomes() {
		if o.Stopped != streamtest.Killed || o.Exit.Signal != syscall.SIGKILL || o.Err != nil {
			t.Errorf("stream %s: outcome %+v, want killed by the test", id, o)
		}
		if left := survivors(pids[id], 5*time.Second); len(left) > 0 {
			t.Errorf("stream %s: processes %v survived Kill (the block's tree was %v)", id, left, pids[id])
		}
	}
}
