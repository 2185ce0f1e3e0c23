package streamtest_test

import (
	"testing"
	"time"

	"github.com/streamtest/streamtest"
)

// The faults' benchmarks run on the types whose streams have a network of
// their own: the netns lab's hosts (remote; STREAMTEST_LAB) and containers
// of the Docker Engine. By hand:
//
//	STREAMTEST_LAB=/path/to/.lab go test -run '^$' -bench 'Partition|Degrade' -benchtime 20x .
func onFaultableTypes(b *testing.B, f func(b *testing.B, s *streamtest.Manager)) {
	b.Run("remote", func(b *testing.B) { s, _ := labStreams(b); f(b, s) })
	b.Run("container", func(b *testing.B) { f(b, containerStreams(b)) })
}

// BenchmarkPartition partitions stream 1 from streams 2 and 3 and heals
// it: ns/op for both; partition-ms and heal-ms for each (each returns once
// the rules are in place, or gone, on all three streams).
func BenchmarkPartition(b *testing.B) {
	onFaultableTypes(b, func(b *testing.B, s *streamtest.Manager) {
		s.Range(1, 3).Send(b.TempDir(), "setup") // set up out of the loop
		var apply, heal time.Duration
		for b.Loop() {
			t0 := time.Now()
			f := s.Partition(s.Pick(1), s.Range(2, 3))
			t1 := time.Now()
			f.Heal()
			apply += t1.Sub(t0)
			heal += time.Since(t1)
		}
		b.ReportMetric(float64(apply.Microseconds())/1000/float64(b.N), "partition-ms")
		b.ReportMetric(float64(heal.Microseconds())/1000/float64(b.N), "heal-ms")
	})
}

// BenchmarkDegrade puts a loss and a rate limit on what stream 1 sends to
// stream 2 (an iptables rule and a tc class) and heals it.
func BenchmarkDegrade(b *testing.B) {
	onFaultableTypes(b, func(b *testing.B, s *streamtest.Manager) {
		s.Range(1, 2).Send(b.TempDir(), "setup")
		var apply, heal time.Duration
		for b.Loop() {
			t0 := time.Now()
			f := s.At(1).Degrade(streamtest.Loss(10), streamtest.Rate(10_000_000), streamtest.Toward(s.Pick(2)))
			t1 := time.Now()
			f.Heal()
			apply += t1.Sub(t0)
			heal += time.Since(t1)
		}
		b.ReportMetric(float64(apply.Microseconds())/1000/float64(b.N), "degrade-ms")
		b.ReportMetric(float64(heal.Microseconds())/1000/float64(b.N), "heal-ms")
	})
}
