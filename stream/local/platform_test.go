package local_test

import (
	"context"
	"testing"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/local"
)

func TestPlatform(t *testing.T) {
	env, err := local.New(stream.Config{ID: "1", Type: "local"})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	p, ok := env.(stream.Platformer)
	if !ok {
		t.Fatal("a local stream is not a stream.Platformer")
	}
	goos, goarch, err := p.Platform(context.Background())
	mos, march, merr := stream.MachinePlatform()
	if err != nil || merr != nil || goos != mos || goarch != march {
		t.Errorf("Platform() = %s/%s, %v; this machine is %s/%s (%v)", goos, goarch, err, mos, march, merr)
	}
}
