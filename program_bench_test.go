package streamtest_test

import (
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// BenchmarkProgram ships /usr/bin/env (dynamically linked: the loader and
// the C library go with it) and runs `env true` with code.Program: first
// on a stream that has none of it (a fresh environment each time, set up
// out of the timing), then again on a stream that has it (nothing is
// sent); exec-true is the same run of the stream's own true, with nothing
// to ship, for comparison. By hand:
//
//	STREAMTEST_LAB=/path/to/.lab go test -run '^$' -bench Program -benchtime 20x .
func BenchmarkProgram(b *testing.B) {
	prog := code.Program("/usr/bin/env", "true")
	onEachType(b, func(b *testing.B, s *streamtest.Manager) {
		st := s.At(1)
		run := func(b *testing.B, block code.Block) {
			b.Helper()
			st.Run(block, streamtest.Wait())
			if !st.Success() {
				b.Fatal(st)
			}
		}
		b.Run("first", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				st.Terminate()
				run(b, code.Exec("true")) // a fresh environment, set up
				b.StartTimer()
				run(b, prog)
			}
		})
		b.Run("again", func(b *testing.B) {
			run(b, prog)
			for b.Loop() {
				run(b, prog)
			}
		})
		b.Run("exec-true", func(b *testing.B) {
			for b.Loop() {
				run(b, code.Exec("true"))
			}
		})
	})
}
