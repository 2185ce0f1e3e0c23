package container

import (
	"context"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

var _ stream.Platformer = (*Env)(nil)

// TestEnginePlatform: a container stream's platform is its image's, as
// the engine records it.
func TestEnginePlatform(t *testing.T) { onEngines(t, testEnginePlatform) }

func testEnginePlatform(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	img, err := eng.cli.ImageInspect(ctx, env.image)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second from the cache
		goos, goarch, err := env.Platform(ctx)
		if err != nil || goos != img.Os || goarch != img.Architecture {
			t.Errorf("Platform() = %q, %q, %v; the image %s records %s/%s", goos, goarch, err, env.image, img.Os, img.Architecture)
		}
	}
	// A program built on this machine for this machine runs there: the
	// local engine's base image is made of this machine's busybox.
	mos, march, _ := stream.MachinePlatform()
	if goos, goarch, _ := env.Platform(ctx); localEngine(eng.endpoint) && (goos != mos || goarch != march) {
		t.Errorf("the local engine's %s is %s/%s, this machine %s/%s", env.image, goos, goarch, mos, march)
	}
}
