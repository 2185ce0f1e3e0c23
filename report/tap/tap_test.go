package tap_test

import (
	"bytes"
	"testing"

	"github.com/streamtest/streamtest/report/internal/fixture"
	"github.com/streamtest/streamtest/report/tap"
)

// Regenerate testdata with go test ./report/tap -update.

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	if err := tap.Write(&buf, fixture.Execution()); err != nil {
		t.Fatal(err)
	}
	fixture.Golden(t, buf.Bytes())
}
