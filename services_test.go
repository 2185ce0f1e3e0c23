package streamtest_test

// What the tests of this package need of the machine: the netns lab and the
// Docker Engine. Each skips on a developer's machine without it, saying how
// to get it, and fails in CI.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/netns"
)

// needLab returns the netns lab.
func needLab(t testing.TB) *netns.Lab {
	t.Helper()
	dir := os.Getenv("STREAMTEST_LAB")
	testenv.Need(t, dir != "", "the netns lab (STREAMTEST_LAB)",
		"run `go run ./cmd/streamtest lab up --hosts 4 --isolated 2 --dir .lab` as root and set STREAMTEST_LAB=$PWD/.lab, or use make test")
	l, err := netns.Load(dir)
	testenv.Need(t, err == nil, "the netns lab in "+dir, fmt.Sprintf("%v; bring it up with streamtest lab up", err))
	return l
}

// labStreams returns a manager on the netns lab's streams, and the lab.
func labStreams(t testing.TB) (*streamtest.Manager, *netns.Lab) {
	t.Helper()
	l := needLab(t)
	return streamtest.For(t, streamtest.ParamsFile(filepath.Join(l.Dir, "params.yaml")), streamtest.IgnoreEnvironment()), l
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

// needDocker skips (fails in CI) unless the Docker Engine answers and has
// the streamtest base image.
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
