package conformance_test

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/dockerlab"
	"github.com/streamtest/streamtest/stream/conformance"
	_ "github.com/streamtest/streamtest/stream/container"
)

// TestContainer runs the suite on container streams of the Docker Engine
// that DOCKER_HOST names (else the local socket), in the base image that
// make test builds (`streamtest lab image`). Each stream is a container of
// its own, with its own process namespace: no stream sees another's
// processes, so the close checks rely on what Wait reports.
func TestContainer(t *testing.T) {
	testenv.Need(t, engineReady(t), "a Docker Engine with the image "+dockerlab.BaseImage,
		"start dockerd (or set DOCKER_HOST) and run `streamtest lab image`, or use make test")
	conformance.Test(t, opener(t, "container", nil, ""), conformance.Options{KillsDetached: true, Timeout: 20 * time.Second})
}

// engineReady reports whether a Docker Engine answers and has the base
// image; it logs why not.
func engineReady(t *testing.T) bool {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Logf("Docker client: %v", err)
		return false
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cli.ImageInspect(ctx, dockerlab.BaseImage); err != nil {
		t.Logf("the image %s: %v", dockerlab.BaseImage, err)
		return false
	}
	return true
}
