package streamtest_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// The verbs' benchmarks run on each type: local streams, the netns lab's
// hosts (remote; STREAMTEST_LAB), containers of the Docker Engine and
// sandboxes (bubblewrap), each skipped when missing. By hand:
//
//	STREAMTEST_LAB=/path/to/.lab go test -run '^$' -bench 'Kill|SignalStop|GroupSend' -benchtime 20x .
func onEachType(b *testing.B, f func(b *testing.B, s *streamtest.Manager)) {
	b.Run("local", func(b *testing.B) { f(b, localStreams(b)) })
	b.Run("remote", func(b *testing.B) { s, _ := labStreams(b); f(b, s) })
	b.Run("container", func(b *testing.B) { f(b, containerStreams(b)) })
	b.Run("sandbox", func(b *testing.B) { f(b, sandboxStreams(b)) })
}

// BenchmarkKill kills a running `sleep`: from the call to its Outcome
// being known (Kill returns then).
func BenchmarkKill(b *testing.B) {
	onEachType(b, func(b *testing.B, s *streamtest.Manager) {
		st := s.At(1)
		st.Run(code.Exec("true"), streamtest.Wait()) // set-up out of the loop
		for b.Loop() {
			b.StopTimer()
			st.Run(code.Shell("echo up; exec sleep 100"))
			waitOutput(b, st, "up\n")
			b.StartTimer()
			st.Kill()
			if st.Outcome().Stopped != streamtest.Killed {
				b.Fatal(st)
			}
		}
	})
}

// BenchmarkSignalStop sends SIGSTOP to a running block (ns/op: the call,
// which does not wait for the effect; stopped-µs: until the process is
// seen stopped on this machine) and resumes it out of the timing.
func BenchmarkSignalStop(b *testing.B) {
	onEachType(b, func(b *testing.B, s *streamtest.Manager) {
		st := s.At(1)
		mark := fmt.Sprintf("streamtest-counter-%d", time.Now().UnixNano())
		st.Run(counter(mark))
		pid := findMarked(b, mark)
		var toStopped time.Duration
		for b.Loop() {
			began := time.Now()
			st.Signal(syscall.SIGSTOP)
			b.StopTimer()
			waitPaused(b, pid)
			toStopped += time.Since(began)
			st.Signal(syscall.SIGCONT)
			waitState(b, pid, "running again", movingState)
			b.StartTimer()
		}
		b.ReportMetric(float64(toStopped.Microseconds())/float64(b.N), "stopped-µs")
		st.Kill()
	})
}

// BenchmarkGroupSend sends a 1 MiB file to 3 streams: with Group.Send
// (parallel), and one Stream.Send after another (serial), for comparison.
func BenchmarkGroupSend(b *testing.B) {
	file := filepath.Join(b.TempDir(), "payload")
	if err := os.WriteFile(file, []byte(rand.Text()+string(make([]byte, 1<<20-26))), 0o644); err != nil {
		b.Fatal(err)
	}
	onEachType(b, func(b *testing.B, s *streamtest.Manager) {
		g := s.Range(1, 3)
		g.Send(file, "warm-up") // set-up out of the loop
		b.Run("group", func(b *testing.B) {
			b.SetBytes(3 << 20)
			for b.Loop() {
				g.Send(file, "payload")
			}
		})
		b.Run("serial", func(b *testing.B) {
			b.SetBytes(3 << 20)
			for b.Loop() {
				for _, st := range g.Streams() {
					st.Send(file, "payload")
				}
			}
		})
	})
}
