package container

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/stream"
)

const crashEnv = "STREAMTEST_CONTAINER_CRASH_CHILD"

// TestEngineReaperAfterSIGKILL runs a nested test binary that makes two
// container streams (one on a private network) and sleeps; it kills that
// binary with SIGKILL and checks that its reaper removes the containers and
// the network within 15 s.
func TestEngineReaperAfterSIGKILL(t *testing.T) { onEngines(t, testEngineReaperAfterSIGKILL) }

func testEngineReaperAfterSIGKILL(t *testing.T, eng *testEngine) {
	cli := eng.cli
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashEnv+"=1", "DOCKER_HOST="+eng.endpoint)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	run := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "RUN" {
			run = f[1]
			break
		}
	}
	if run == "" {
		t.Fatal("the child did not report its run")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	ctx := context.Background()
	f := make(client.Filters).Add("label", LabelRun+"="+run)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	must(t, err)
	if len(cs.Items) != 2 {
		t.Fatalf("the child's run %s has %d containers, want 2", run, len(cs.Items))
	}
	must(t, cmd.Process.Signal(os.Kill))
	killed := time.Now()
	_ = cmd.Wait()
	for {
		cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
		must(t, err)
		ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
		must(t, err)
		if len(cs.Items) == 0 && len(ns.Items) == 0 {
			t.Logf("run %s removed %v after SIGKILL", run, time.Since(killed).Round(time.Millisecond))
			return
		}
		if time.Since(killed) > 15*time.Second {
			Sweep(ctx, cli, LabelRun+"="+run)
			t.Fatalf("15 s after SIGKILL: %d containers and %d networks of run %s are left", len(cs.Items), len(ns.Items), run)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// crashChild is the test binary re-executed by TestEngineReaperAfterSIGKILL
// (TestMain dispatches it): two streams, each running a block, then it
// waits to be killed.
func crashChild() int {
	ctx := context.Background()
	for i, params := range []stream.Values{{}, {"private_network": true}} {
		env, err := New(stream.Config{ID: strconv.Itoa(i + 1), Type: TypeName, Params: params})
		if err == nil {
			err = env.Setup(ctx)
		}
		if err == nil {
			_, err = env.Start(ctx, &stream.Command{Args: []string{"sleep", "1000"}})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			return 1
		}
	}
	fmt.Printf("RUN %s\n", RunID())
	time.Sleep(time.Hour) // until SIGKILL
	return 0
}

// TestEngineStartupSweep checks that the sweep removes what a dead process
// on this machine left behind, and keeps what a live process owns.
func TestEngineStartupSweep(t *testing.T) { onEngines(t, testEngineStartupSweep) }

func testEngineStartupSweep(t *testing.T, eng *testEngine) {
	cli := eng.cli
	ctx := context.Background()
	dead := exec.Command("true")
	must(t, dead.Run())
	deadPID := dead.Process.Pid
	host, _ := os.Hostname()
	mk := func(run string, pid int, start string) string {
		l := map[string]string{LabelRun: run, LabelOwnerPID: strconv.Itoa(pid), LabelOwnerHost: host, LabelOwnerStart: start, LabelStream: "sweep"}
		c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: DefaultImage, Labels: l, Cmd: []string{"true"}}})
		must(t, err)
		t.Cleanup(func() { cli.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true}) })
		return c.ID
	}
	gone := mk("sweeptest-dead", deadPID, "")
	reused := mk("sweeptest-reused", os.Getpid(), "1") // our pid, another start time
	alive := mk("sweeptest-alive", os.Getpid(), procStart(os.Getpid()))
	sweepDead(ctx, cli)
	for _, c := range []struct {
		id   string
		want bool
	}{{gone, false}, {reused, false}, {alive, true}} {
		_, err := cli.ContainerInspect(ctx, c.id, client.ContainerInspectOptions{})
		if there := err == nil; there != c.want {
			t.Errorf("container %.12s: there = %v, want %v (%v)", c.id, there, c.want, err)
		}
	}
}
