package remote

import (
	"context"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// TestLabPlatform: a lab host's platform is what its uname says; the
// netns lab's hosts run on this machine's kernel. The answer is kept: a
// second call opens no session, so it still answers after the connection
// was closed under it.
func TestLabPlatform(t *testing.T) {
	l := needLab(t)
	e := setUpLab(t, l, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	goos, goarch, err := e.Platform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mos, march, _ := stream.MachinePlatform()
	if goos != mos || goarch != march {
		t.Errorf("Platform() = %s/%s; the lab's hosts are this machine's namespaces, %s/%s", goos, goarch, mos, march)
	}
	e.mu.Lock()
	client := e.client
	e.mu.Unlock()
	client.Close()
	if g2, a2, err := e.Platform(ctx); err != nil || g2 != goos || a2 != goarch {
		t.Errorf("Platform() again, with the connection closed: %s/%s, %v; want the kept %s/%s", g2, a2, err, goos, goarch)
	}
}
