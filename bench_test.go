package streamtest_test

import (
	"bytes"
	"os/exec"
	"testing"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// BenchmarkLocalRun runs /bin/true on an established local stream, output
// captured; BenchmarkBareExec runs it with os/exec, output captured too. The
// ratio of the two is the overhead of a local stream.
func BenchmarkLocalRun(b *testing.B) {
	s := localStreams(b)
	st := s.At(1)
	st.Run(code.Exec("/bin/true"), streamtest.Wait()) // set-up out of the loop
	b.ResetTimer()
	for b.Loop() {
		st.Run(code.Exec("/bin/true"), streamtest.Wait())
		if !st.Success() {
			b.Fatal(st)
		}
	}
}

func BenchmarkBareExec(b *testing.B) {
	for b.Loop() {
		var out, errb bytes.Buffer
		cmd := exec.Command("/bin/true")
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSynchronizedSkew8 starts /bin/true on 8 local streams at one
// instant and reports the spread between the first and the last start
// (skew-µs: the mean; max-skew-µs: the worst).
func BenchmarkSynchronizedSkew8(b *testing.B) {
	s := localStreams(b)
	g := s.Range(1, 8)
	var total, worst time.Duration
	for b.Loop() {
		g.Run(code.Exec("/bin/true"), streamtest.Synchronized(), streamtest.Wait())
		if !g.Success() {
			b.Fatal(g)
		}
		sk := g.Skew()
		total += sk
		worst = max(worst, sk)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "skew-µs")
	b.ReportMetric(float64(worst.Microseconds()), "max-skew-µs")
}
