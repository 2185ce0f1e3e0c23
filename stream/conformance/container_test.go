package conformance_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/dockerlab"
	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/conformance"
	_ "github.com/streamtest/streamtest/stream/container"
)

// TestContainer runs the suite on container streams of each engine, as a
// subtest: the Docker Engine that DOCKER_HOST names (else the local socket),
// and Podman's API service that STREAMTEST_PODMAN names; each with the base
// image that make test builds (`streamtest lab image`) and loads into
// Podman. Each stream is a container of its own, with its own process
// namespace: no stream sees another's processes, so the close checks rely on
// what Wait reports.
func TestContainer(t *testing.T) {
	engines := []struct {
		name, endpoint, what, howto string
	}{
		{"docker", os.Getenv("DOCKER_HOST"), "a Docker Engine with the image " + dockerlab.BaseImage,
			"start dockerd (or set DOCKER_HOST) and run `streamtest lab image`, or use make test"},
		{"podman", os.Getenv("STREAMTEST_PODMAN"), "Podman's API service (STREAMTEST_PODMAN) with the image " + dockerlab.BaseImage,
			"`bash scripts/setup.d/35-podman.sh && bash scripts/up.d/35-podman.sh` starts it and prints the STREAMTEST_PODMAN to set, or use make test"},
	}
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			var err error
			if eng.name == "podman" && eng.endpoint == "" {
				err = errors.New("STREAMTEST_PODMAN is not set")
			} else {
				err = engineReady(eng.endpoint)
			}
			testenv.Need(t, err == nil, eng.what, eng.howto+"; error: "+fmt.Sprint(err))
			var params stream.Values
			if eng.endpoint != "" {
				params = stream.Values{"engine": eng.endpoint}
			}
			conformance.Test(t, opener(t, "container", params, ""), conformance.Options{KillsDetached: true, Timeout: 20 * time.Second,
				NetAdmin: true})
		})
	}
}

// engineReady returns nil when the engine at endpoint ("": DOCKER_HOST, else
// the local socket) answers and has the base image, else what is wrong.
func engineReady(endpoint string) error {
	opts := []client.Opt{client.FromEnv}
	if endpoint != "" {
		opts = append(opts, client.WithHost(endpoint))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cli.ImageInspect(ctx, dockerlab.BaseImage); err != nil {
		return fmt.Errorf("the image %s: %w", dockerlab.BaseImage, err)
	}
	return nil
}
