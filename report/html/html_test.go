package html_test

import (
	"bytes"
	"io/fs"
	"strings"
	"testing"

	"github.com/streamtest/streamtest/report/html"
	"github.com/streamtest/streamtest/report/internal/fixture"
)

// Regenerate testdata with go test ./report/html -update.

func writeFixture(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := html.Write(&buf, fixture.Execution(), html.Config{
		ReadFile: func(name string) ([]byte, error) { return fs.ReadFile(fixture.Outputs, name) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWrite(t *testing.T) {
	got := writeFixture(t)
	fixture.Golden(t, got)
}

func TestWriteSelfContained(t *testing.T) {
	page := string(writeFixture(t))
	for _, bad := range []string{`href="http`, `url(http`, "@import", "<link", "src=", "<failed>", "<hi>"} {
		if strings.Contains(page, bad) {
			t.Errorf("report contains %q: it must be self-contained and escape outputs", bad)
		}
	}
	for _, want := range []string{"it &lt;failed&gt; &amp;", `class="mark release"`, `class="mark end"`, `class="bar fail"`, `class="bar stopped"`} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestWriteLimitsOutput(t *testing.T) {
	var buf bytes.Buffer
	err := html.Write(&buf, fixture.Execution(), html.Config{
		ReadFile:  func(name string) ([]byte, error) { return []byte(strings.Repeat("x", 100) + "END"), nil },
		MaxOutput: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := buf.String(); !strings.Contains(s, "[... 93 bytes cut ...]") || !strings.Contains(s, "xxxxxxxEND") {
		t.Error("a long output is not cut to its end")
	}
}
