// Package fail is a fixture for the tests of `streamtest run`: a failing
// test with a failed block.
package fail

import (
	"os"
	"testing"
	"time"

	"github.com/streamtest/streamtest/record"
)

func TestFail(t *testing.T) {
	if w := record.Default(); w != nil {
		wd, _ := os.Getwd()
		now := time.Now()
		w.Write(record.Block{
			Test: t.Name(), Dir: wd, Stream: "1", Type: "local", Seq: 1, Kind: "shell",
			Summary: "false", Started: now, Began: now, Ended: now.Add(5 * time.Millisecond),
			ExitStatus: 1,
		}, nil, []byte("it <failed>\n"))
	}
	t.Error("stream 1 failed: exit status 1")
}

func TestOK(t *testing.T) {}
