package streamtest_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/streamtest/streamtest"
)

// BenchmarkWaitPort measures how long after a port begins to listen
// WaitPort returns: each op starts a listener that listens after a random
// 200-400 ms (so that the listen falls anywhere in WaitPort's backoff),
// waits for its port, and takes the listener's own timestamp of its listen
// from the time WaitPort returned. It reports the median and the worst
// (after-listen-ms, max-after-listen-ms). Remote: a host of the netns lab,
// through the stream's SSH connection; the lab's hosts share this
// machine's clock. Container: on the local Docker Engine, from the test
// process to the container's address.
//
//	STREAMTEST_LAB=$PWD/.lab go test -run '^$' -bench WaitPort -benchtime 20x .
func BenchmarkWaitPort(b *testing.B) {
	b.Run("local", func(b *testing.B) {
		s := localStreams(b)
		port := freePort(b)
		benchWaitPort(b, s.At(1), "127.0.0.1:"+strconv.Itoa(port), port)
	})
	b.Run("remote", func(b *testing.B) {
		s, _ := labStreams(b)
		port := labPort()
		benchWaitPort(b, s.At(1), ":"+strconv.Itoa(port), port)
	})
	b.Run("container", func(b *testing.B) {
		needDocker(b)
		p := filepath.Join(b.TempDir(), "params.yaml")
		if err := os.WriteFile(p, []byte("streams:\n  - 1: {type: container}\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		s := streamtest.For(b, streamtest.ParamsFile(p), streamtest.IgnoreEnvironment())
		benchWaitPort(b, s.At(1), ":8080", 8080)
	})
}

func benchWaitPort(b *testing.B, st *streamtest.Stream, addr string, port int) {
	try := func(delay time.Duration) time.Duration {
		st.Run(listener(delay, addr, "-once"))
		st.WaitPort(port, time.Minute)
		back := time.Now()
		st.Wait()
		if !st.Success() {
			b.Fatal(st)
		}
		return back.Sub(listenedAt(b, st))
	}
	try(0) // set-up and the build out of the figures
	var lat []time.Duration
	for b.Loop() {
		lat = append(lat, try(200*time.Millisecond+rand.N(200*time.Millisecond)))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Millisecond), "after-listen-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-after-listen-ms")
}
