package streamtest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/netns"
)

// labStreams returns a manager on the netns lab's hosts (streams 1-4 on
// one subnet), skipping (failing in CI) when the lab is not up.
func labStreams(t testing.TB) *streamtest.Manager {
	t.Helper()
	dir := os.Getenv("STREAMTEST_LAB")
	testenv.Need(t, dir != "", "the netns lab (STREAMTEST_LAB)",
		"run `go run ./cmd/streamtest lab up --hosts 4 --isolated 2 --dir .lab` as root and set STREAMTEST_LAB=$PWD/.lab, or use make test")
	l, err := netns.Load(dir)
	testenv.Need(t, err == nil, "the netns lab in "+dir, fmt.Sprintf("%v; bring it up with streamtest lab up", err))
	return streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.ParamsFile(l.Params), streamtest.Strict())
}

// containerStreams returns a manager whose streams 1-4 are containers of
// the Docker Engine, skipping (failing in CI) when it is not there.
func containerStreams(t testing.TB) *streamtest.Manager {
	t.Helper()
	needDocker(t)
	p := filepath.Join(t.TempDir(), "containers.yaml")
	yaml := "streams:\n"
	for i := 1; i <= 4; i++ {
		yaml += fmt.Sprintf("  - %d: {type: container}\n", i)
	}
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.ParamsFile(p), streamtest.Strict())
}

// sandboxStreams returns a manager whose streams 1-4 are sandboxes,
// skipping (failing in CI) without bubblewrap.
func sandboxStreams(t testing.TB) *streamtest.Manager {
	t.Helper()
	_, err := exec.LookPath("bwrap")
	testenv.Need(t, err == nil, "bubblewrap (bwrap)", "apt-get install bubblewrap")
	p := filepath.Join(t.TempDir(), "sandboxes.yaml")
	if err := os.WriteFile(p, []byte("streams:\n  - 1: {type: sandbox}\n  - 2: {type: sandbox}\n  - 3: {type: sandbox}\n  - 4: {type: sandbox}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.ParamsFile(p), streamtest.Strict())
}

func needDocker(t testing.TB) {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err == nil {
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err = cli.Ping(ctx, client.PingOptions{}); err == nil {
			_, err = cli.ImageInspect(ctx, "streamtest/base")
		}
	}
	testenv.Need(t, err == nil, "a Docker Engine with the streamtest base image",
		fmt.Sprintf("start dockerd (or set DOCKER_HOST) and run `go run ./cmd/streamtest lab image` (%v)", err))
}

// TestKillAndPauseOnTheLab pauses, resumes and kills blocks on the lab's
// hosts (remote streams), one stream and a group, watching the processes
// from this machine: the lab's hosts are network namespaces of it.
func TestKillAndPauseOnTheLab(t *testing.T) {
	s := labStreams(t)
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
