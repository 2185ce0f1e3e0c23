package dockerlab_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/dockerlab"
	_ "github.com/streamtest/streamtest/stream/remote" // type remote
)

// TestEngineLabRemoteStreams runs remote streams on a docker lab through the
// manager: the parameters file that lab up writes is all they need.
func TestEngineLabRemoteStreams(t *testing.T) {
	cli, err := client.New(client.FromEnv)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = cli.Ping(ctx, client.PingOptions{})
		cancel()
	}
	testenv.Need(t, err == nil, "a Docker Engine", "start dockerd or set DOCKER_HOST")
	defer cli.Close()
	dir := t.TempDir()
	l, err := dockerlab.Up(context.Background(), cli, dockerlab.Options{Hosts: 2, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// Registered before For's cleanup, so it runs after it (last in, first
	// out): the streams are closed before their hosts go.
	t.Cleanup(func() { dockerlab.Down(context.Background(), cli, dir, io.Discard) })

	s := streamtest.For(t, streamtest.ParamsFile(l.Params), streamtest.Strict())
	s.At(1).Run(code.Shell("ping -c 1 -W 5 "+s.At(2).Host()+" >/dev/null && id -un && hostname"), streamtest.Wait())
	s.At(2).Run(code.Python("import socket; print(socket.gethostname())"), streamtest.Wait())
	if !s.Success() {
		t.Fatal(s)
	}
	if got, want := s.At(1).Output().Stdout(), dockerlab.LabUser+"\nlab1\n"; got != want {
		t.Errorf("stream 1: %q, want %q", got, want)
	}
	if got := strings.TrimSpace(s.At(2).Output().Stdout()); got != "lab2" {
		t.Errorf("stream 2: %q", got)
	}
}
