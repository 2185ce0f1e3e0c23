// Package container_test runs the RFC's examples on container streams: each
// stream is a fresh container on the Docker Engine, removed when its test
// ends (even when the test binary is killed).
//
//	go run ./cmd/streamtest lab image       # once: the images, from this machine's busybox and python3
//	go test ./examples/container
//
// Without an engine the tests skip (and fail when CI=true). The parameters
// are in containers.yaml; STREAMTEST_PARAMS replaces them, as for every
// example.
package container_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/params"
	"github.com/streamtest/streamtest/stream/container" // type container (docker)
	_ "github.com/streamtest/streamtest/stream/local"   // type local
	_ "github.com/streamtest/streamtest/stream/remote"  // type remote (ssh)
)

// needEngine skips (fails in CI) unless a Docker Engine answers and has the
// images.
func needEngine(t *testing.T, images ...string) {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err == nil {
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = cli.Ping(ctx, client.PingOptions{})
		for _, im := range images {
			if err == nil {
				_, err = cli.ImageInspect(ctx, im)
			}
		}
	}
	testenv.Need(t, err == nil, "a Docker Engine with the streamtest images",
		fmt.Sprintf("start dockerd and run `go run ./cmd/streamtest lab image` (%v)", err))
}

// TestInterCommunication is the RFC's first example on two containers: each
// pings the other's Host().
func TestInterCommunication(t *testing.T) {
	needEngine(t, "streamtest/base:latest")
	s := streamtest.For(t, streamtest.DefaultParams("containers.yaml"))
	s.At(1).Run(code.Shell("ping -c 1 -W 5 " + s.At(2).Host()))
	s.At(2).Run(code.Shell("ping -c 1 -W 5 " + s.At(1).Host()))
	s.Wait()
	if !s.Success() {
		t.Error(s)
	}
}

// TestByHostname: on a private network, streams also reach each other by
// their hostname parameter.
func TestByHostname(t *testing.T) {
	needEngine(t, "streamtest/base:latest")
	s := streamtest.For(t, streamtest.ParamsFile("containers.yaml"))
	s.At(1).Run(code.Shell("ping -c 1 -W 5 two"))
	s.At(2).Run(code.Shell("ping -c 1 -W 5 one"), streamtest.Wait())
	s.Wait()
	if !s.Success() {
		t.Error(s)
	}
}

// TestPython runs a Python block in a container of the python image.
func TestPython(t *testing.T) {
	needEngine(t, "streamtest/python:latest")
	s := streamtest.For(t, streamtest.ParamsFile("containers.yaml"))
	s.At("py").Run(code.Python("import platform, socket\nprint(platform.python_version(), socket.gethostname())"), streamtest.Wait())
	if !s.Success() {
		t.Fatal(s)
	}
	t.Logf("python says: %s", s.At("py").Output().Stdout())
}

// TestMixed puts a local stream, a remote one (a host of the lab, when
// there is one: STREAMTEST_LAB) and a container in one synchronized group:
// all three start at one instant and reach the remote host. With the docker
// lab, the container joins the lab's network (Docker keeps its networks
// apart); the netns lab is reached through the machine's routing.
func TestMixed(t *testing.T) {
	needEngine(t, "streamtest/base:latest")
	lab := os.Getenv("STREAMTEST_LAB")
	testenv.Need(t, lab != "", "a lab (STREAMTEST_LAB)",
		"run `streamtest lab up --kind docker --dir .lab-docker` (or the netns lab as root) and set STREAMTEST_LAB to its directory, or use make test")
	remote := labStream(t, filepath.Join(lab, "params.yaml"))
	network := ""
	if data, err := os.ReadFile(filepath.Join(lab, "docker-lab.json")); err == nil {
		var l struct{ Network string }
		if json.Unmarshal(data, &l) == nil && l.Network != "" {
			network = ", network: " + l.Network
		}
	}
	file := filepath.Join(t.TempDir(), "mixed.yaml")
	yaml := "avocado:\n  streams:\n" +
		"    - 1: {type: local}\n" +
		"    - 2: " + remote + "\n" +
		"    - 3: {type: container, image: \"streamtest/base:latest\"" + network + "}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := streamtest.For(t, streamtest.ParamsFile(file), streamtest.Strict())
	target := s.At(2).Host()
	s.Range(1, 3).Run(code.Shell("ping -c 1 -W 5 "+target+" >/dev/null && echo reached"), streamtest.Synchronized())
	s.Range(1, 3).Wait()
	if !s.Success() {
		t.Fatal(s)
	}
	for _, id := range []int{1, 2, 3} {
		if got := strings.TrimSpace(s.At(id).Output().Stdout()); got != "reached" {
			t.Errorf("stream %d: %q", id, got)
		}
	}
	t.Logf("local, remote and container streams started %v apart", s.Range(1, 3).Skew())
	// The test process reaches the container too.
	s.At(1).Run(code.Shell("ping -c 1 -W 5 "+s.At(3).Host()), streamtest.Wait())
	if !s.At(1).Success() {
		t.Error(s)
	}
}

// labStream returns the first stream of a lab's parameters file as a flow
// mapping (JSON is YAML).
func labStream(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	testenv.Need(t, err == nil, "the lab's params.yaml", fmt.Sprint(err))
	f, err := params.ParseFile(file, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Order) == 0 {
		t.Fatalf("%s defines no stream", file)
	}
	st := f.Streams[f.Order[0]]
	m := map[string]any{"type": st.Type}
	keys := make([]string, 0, len(st.Values))
	for k := range st.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m[k] = st.Values[k]
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSynchronized starts a block on two containers at one instant; the
// manager records when each gate opened.
func TestSynchronized(t *testing.T) {
	needEngine(t, "streamtest/base:latest")
	s := streamtest.For(t, streamtest.ParamsFile("containers.yaml"))
	s.Range(1, 2).Run(code.Shell("ping -c 3 -i 0.2 -W 5 one >/dev/null"), streamtest.Synchronized())
	s.Range(1, 2).Wait()
	if !s.Success() {
		t.Fatal(s)
	}
	t.Logf("two containers started %v apart", s.Range(1, 2).Skew())
}

// TestScript ships a script file to a container and runs it.
func TestScript(t *testing.T) {
	needEngine(t, "streamtest/base:latest")
	s := streamtest.For(t, streamtest.ParamsFile("containers.yaml"))
	s.At(1).Run(code.Script("testdata/check.sh", "networking"), streamtest.Wait())
	if !s.Success() {
		t.Fatal(s)
	}
	if got := s.At(1).Output().Stdout(); !strings.HasPrefix(got, "checked networking in /streamtest") {
		t.Errorf("stdout %q", got)
	}
}

// TestTermination is the RFC's termination example on a container: a
// `sleep 100` started asynchronously lives as long as its test, not 100 s,
// and the container goes with the test.
func TestTermination(t *testing.T) {
	needEngine(t, "streamtest/base:latest")
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	start := time.Now()
	t.Run("test", func(t *testing.T) {
		s := streamtest.For(t, streamtest.ParamsFile("containers.yaml"))
		s.At(1).Host() // sets the stream up
		s.At(1).Run(code.Shell("sleep 100"))
		if !s.At(1).Active() {
			t.Error("stream 1 is not active")
		}
		// Wait until the sleep runs in the container, then end the test.
		for deadline := time.Now().Add(20 * time.Second); ; {
			if sleeping(cli) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("sleep 100 never ran")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("the test took %v", d)
	}
	cs, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", container.LabelRun+"="+container.RunID())})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Items) != 0 {
		t.Errorf("%d containers of this test process are left", len(cs.Items))
	}
}

// sleeping reports whether a container of this test process runs sleep 100.
func sleeping(cli *client.Client) bool {
	ctx := context.Background()
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{
		Filters: make(client.Filters).Add("label", container.LabelRun+"="+container.RunID())})
	if err != nil {
		return false
	}
	for _, c := range cs.Items {
		top, err := cli.ContainerTop(ctx, c.ID, client.ContainerTopOptions{})
		if err != nil {
			continue
		}
		for _, p := range top.Processes {
			if strings.Contains(strings.Join(p, " "), "sleep 100") {
				return true
			}
		}
	}
	return false
}
