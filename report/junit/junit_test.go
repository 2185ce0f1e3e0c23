package junit_test

import (
	"bytes"
	"encoding/xml"
	"testing"
	"time"

	"github.com/streamtest/streamtest/report/internal/fixture"
	"github.com/streamtest/streamtest/report/junit"
)

// Regenerate testdata with go test ./report/junit -update.

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	err := junit.Write(&buf, fixture.Execution(), junit.Config{
		Properties: map[string]string{"go.version": "go1.26.8"},
		FormatTime: func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	})
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := xml.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	fixture.Golden(t, buf.Bytes())
}
