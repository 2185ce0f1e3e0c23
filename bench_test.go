package streamtest_test

import (
	"bytes"
	"fmt"
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

// BenchmarkSynchronizedSkew starts /bin/true on n local streams at one
// instant and reports the spread between the first and the last member's
// start, as each member saw its gate open (skew-µs: the mean; max-skew-µs:
// the worst). Compare n with the machine's cores: members beyond them wait
// for a CPU.
func BenchmarkSynchronizedSkew(b *testing.B) {
	for _, n := range []int{2, 4, 8} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			s := localStreams(b)
			g := s.Range(1, n)
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
		})
	}
}
