package remote

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// BenchmarkLabManyStreams sets up 256 streams at once over the lab's
// first 4 hosts (64 per host), has each run `echo` as soon as it is set up,
// then runs `true` on all at once, and closes them. It reports the set-up
// time of all, the time from the start to each stream's first output
// (median and slowest), the time to run `true` on all, and the test
// process's peak resident memory (VmHWM) above what it held before, per
// stream. Run it once per figure:
//
//	STREAMTEST_LAB=$PWD/.lab go test -run '^$' -bench LabManyStreams -benchtime 1x ./stream/remote
func BenchmarkLabManyStreams(b *testing.B) {
	l := needLab(b)
	const hosts, perHost = 4, 64
	const n = hosts * perHost
	for b.Loop() {
		os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // VmHWM := VmRSS
		rss0 := procStatus(b, "VmRSS")
		envs := make([]*Env, n)
		for i := range envs {
			env, err := New(stream.Config{ID: strconv.Itoa(i), Type: "remote", Params: labParams(l, 1+i%hosts)})
			if err != nil {
				b.Fatal(err)
			}
			envs[i] = env.(*Env)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		start := time.Now()
		first := make([]time.Duration, n)
		var setUp sync.WaitGroup
		var firstOut sync.WaitGroup
		errs := make(chan error, 2*n)
		var setupDone time.Duration
		var mu sync.Mutex
		for i, e := range envs {
			setUp.Add(1)
			firstOut.Add(1)
			go func() {
				defer firstOut.Done()
				err := e.Setup(ctx)
				mu.Lock()
				setupDone = max(setupDone, time.Since(start))
				mu.Unlock()
				setUp.Done()
				if err != nil {
					errs <- err
					return
				}
				w := &firstWrite{start: start}
				p, err := e.Start(ctx, &stream.Command{Args: []string{"echo", "ready"}, Stdout: w})
				if err != nil {
					errs <- err
					return
				}
				if _, err := p.Wait(); err != nil {
					errs <- err
				}
				first[i] = w.at()
			}()
		}
		setUp.Wait()
		firstOut.Wait()
		runStart := time.Now()
		var runs sync.WaitGroup
		for _, e := range envs {
			runs.Add(1)
			go func() {
				defer runs.Done()
				p, err := e.Start(ctx, &stream.Command{Args: []string{"true"}})
				if err != nil {
					errs <- err
					return
				}
				if x, err := p.Wait(); err != nil || !x.Success() {
					errs <- err
				}
			}()
		}
		runs.Wait()
		runAll := time.Since(runStart)
		hwm := procStatus(b, "VmHWM")
		var closes sync.WaitGroup
		for _, e := range envs {
			closes.Add(1)
			go func() { defer closes.Done(); e.Close() }()
		}
		closes.Wait()
		cancel()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		slices.Sort(first)
		b.ReportMetric(setupDone.Seconds(), "s-setup-all")
		b.ReportMetric(first[n/2].Seconds(), "s-first-output-median")
		b.ReportMetric(first[n-1].Seconds(), "s-first-output-max")
		b.ReportMetric(runAll.Seconds(), "s-true-on-all")
		b.ReportMetric(float64(hwm-rss0)/n, "KiB-peak-RSS/stream")
		b.ReportMetric(float64(hwm)/1024, "MiB-VmHWM")
	}
}

// firstWrite records when the first byte was written to it.
type firstWrite struct {
	start time.Time
	mu    sync.Mutex
	d     time.Duration
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.d == 0 && len(p) > 0 {
		w.d = time.Since(w.start)
	}
	w.mu.Unlock()
	return len(p), nil
}

func (w *firstWrite) at() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.d
}

// procStatus reads a kB field of /proc/self/status.
func procStatus(b *testing.B, field string) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}
