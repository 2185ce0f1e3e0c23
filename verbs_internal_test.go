package streamtest

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/record"
	"github.com/streamtest/streamtest/report"
	"github.com/streamtest/streamtest/report/junit"
)

// TestRecordsOfRunEachAndKill checks what the reports are built from: each
// member of RunEach is recorded with its own block, and a killed block as
// stopped by the test, which the reports show as neither passed nor
// failed.
func TestRecordsOfRunEachAndKill(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STREAMTEST_PARAMS", "")
	m := For(t, IgnoreEnvironment())
	m.rec = record.NewWriter(dir)

	g := m.Range(1, 2)
	g.RunEach(func(st *Stream) code.Block { return code.Shell("echo member " + st.ID()) }, Synchronized(), Wait())
	st := m.At(3)
	st.Run(code.Shell("echo up; exec sleep 30"))
	for !strings.Contains(st.Output().Stdout(), "up") && st.Active() {
		time.Sleep(5 * time.Millisecond)
	}
	st.Kill()

	blocks, err := record.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].Stream < blocks[j].Stream })
	if len(blocks) != 3 {
		t.Fatalf("%d records, want 3: %+v", len(blocks), blocks)
	}
	for i, b := range blocks[:2] {
		id := []string{"1", "2"}[i]
		if b.Stream != id || b.Summary != "echo member "+id || b.Group != "1,2" || b.Released == nil {
			t.Errorf("record of stream %s: %+v, want its own block in the synchronized group 1,2", id, b)
		}
	}
	k := blocks[2]
	if k.Stopped != record.StopKilled || k.Signal != "KILL" || k.StopAsked.IsZero() || k.Success {
		t.Errorf("record of the killed block: %+v", k)
	}
	if got := report.ResultOf(k); got != report.BlockStopped {
		t.Errorf("ResultOf = %s, want stopped", got)
	}
	if got := report.StopReason(k); got != "killed by the test (SIGKILL)" {
		t.Errorf("StopReason = %q", got)
	}
	if got, want := junit.Describe(k), "stopped by the test (killed by the test (SIGKILL))"; !strings.Contains(got, ": "+want+" in ") {
		t.Errorf("Describe = %q, want it to say %q", got, want)
	}
}
