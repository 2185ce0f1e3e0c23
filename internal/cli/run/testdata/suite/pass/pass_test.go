// Package pass is a fixture for the tests of `streamtest run`: tests that
// pass and skip, and that leave per-block records as the library does.
package pass

import (
	"os"
	"testing"
	"time"

	"github.com/streamtest/streamtest/record"
)

// writeBlock records a block as the library would for stream id.
func writeBlock(t *testing.T, id string, seq int, ok bool, out string) {
	t.Helper()
	w := record.Default()
	if w == nil {
		return
	}
	wd, _ := os.Getwd()
	start := time.Now()
	began := start.Add(2 * time.Millisecond)
	b := record.Block{
		Test: t.Name(), Dir: wd, Stream: id, Type: "local", Host: "localhost", Seq: seq,
		Kind: "shell", Summary: "echo " + out, Started: start, Began: began,
		Ended: began.Add(10 * time.Millisecond), Success: ok,
	}
	if !ok {
		b.ExitStatus = 1
	}
	if err := w.Write(b, []byte(out+"\n"), nil); err != nil {
		t.Fatal(err)
	}
}

func TestPass(t *testing.T) {
	writeBlock(t, "1", 1, true, "hello from 1")
	writeBlock(t, "2", 1, true, "hello from 2")
}

func TestSkip(t *testing.T) {
	t.Skip("nothing to do here")
}

func TestSub(t *testing.T) {
	t.Run("a", func(t *testing.T) {})
	t.Run("b", func(t *testing.T) { writeBlock(t, "db", 1, true, "sub b") })
}
