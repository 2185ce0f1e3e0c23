package container

import (
	"context"
	"fmt"
	"sync"

	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/stream"
)

var _ stream.Platformer = (*Env)(nil)

// platforms keeps the platform of each image on each engine that Platform
// learnt, by endpoint and image name: it is asked for once per process.
var (
	platformMu sync.Mutex
	platforms  = map[string][2]string{}
)

// Platform is the operating system and architecture of the stream's
// image, as the engine records them (what the container runs, emulated or
// not); for an image that records none, the engine's own.
func (e *Env) Platform(ctx context.Context) (goos, goarch string, err error) {
	eng, _, err := e.ready(ctx)
	if err != nil {
		return "", "", err
	}
	key := eng.endpoint + "\x00" + e.image
	platformMu.Lock()
	p, ok := platforms[key]
	platformMu.Unlock()
	if ok {
		return p[0], p[1], nil
	}
	img, err := eng.cli.ImageInspect(ctx, e.image)
	if err != nil {
		return "", "", e.failf("inspecting the image for its platform: %w", err)
	}
	goos, goarch = img.Os, img.Architecture
	if goos == "" || goarch == "" {
		info, err := eng.cli.Info(ctx, client.InfoOptions{})
		if err != nil {
			return "", "", e.failf("the image records no platform, and the engine's: %w", err)
		}
		goos, goarch, _ = stream.UnamePlatform(info.Info.OSType, info.Info.Architecture)
	}
	if goos == "" || goarch == "" {
		return "", "", e.fail(fmt.Errorf("neither the image nor the engine says its platform"))
	}
	platformMu.Lock()
	platforms[key] = [2]string{goos, goarch}
	platformMu.Unlock()
	return goos, goarch, nil
}
