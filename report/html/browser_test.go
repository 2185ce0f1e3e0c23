package html_test

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/streamtest/streamtest/internal/testenv"
)

var screenshot = flag.String("screenshot", "", "save a screenshot of the fixture's report to this PNG `file`")

// chromium returns the path of a Chromium or Chrome binary, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browse opens the fixture's report in headless Chromium.
func browse(t *testing.T) context.Context {
	t.Helper()
	bin := chromium()
	testenv.Need(t, bin != "", "Chromium", "install it with scripts/setup.d/40-chromium.sh (apt-get install chromium)")
	file := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(file, writeFixture(t), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // needed as root; the page is our own file
		chromedp.WindowSize(1300, 900),
	)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file)); err != nil {
		t.Fatalf("loading the report: %v", err)
	}
	return ctx
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

func TestBrowserShowsTimelines(t *testing.T) {
	ctx := browse(t)
	type testCase struct {
		name string
		js   string
		want int
	}
	cases := []testCase{
		// 8 records, one of a test go test never reported.
		{"bars", `document.querySelectorAll(".bar").length`, 7},
		{"failed bars", `document.querySelectorAll(".bar.fail").length`, 2},
		{"timelines", `document.querySelectorAll(".timeline").length`, 3},
		{"lanes of TestPass", `document.querySelector('[data-test="TestPass"]').querySelectorAll(".lane").length`, 2},
		{"release lines", `document.querySelectorAll(".release").length`, 1},
		{"synchronized bars", `document.querySelectorAll(".bar.synced").length`, 2},
		{"bars with a visible width", `[...document.querySelectorAll(".bar")].filter(b => b.getBoundingClientRect().width >= 2).length`, 7},
		{"red failed bars", `[...document.querySelectorAll(".bar.fail")].filter(b => getComputedStyle(b).borderColor === "rgb(198, 40, 40)").length`, 2},
		{"open outputs before a click", `document.querySelectorAll("details.block[open]").length`, 0},
		{"failed test marked", `document.querySelectorAll('.test.fail[data-test="TestFail"]').length`, 1},
		{"failed count", `parseInt(document.getElementById("count-fail").textContent)`, 1},
	}
	run := func(t *testing.T, tc testCase) {
		if got := eval[int](t, ctx, tc.js); got != tc.want {
			t.Errorf("%s = %d, want %d", tc.js, got, tc.want)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestBrowserClickShowsOutput(t *testing.T) {
	ctx := browse(t)
	id := eval[string](t, ctx, `document.querySelector('[data-test="TestFail"] .bar.fail').dataset.block`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-block="`+id+`"]`))); err != nil {
		t.Fatal(err)
	}
	if !eval[bool](t, ctx, `document.getElementById("`+id+`").open`) {
		t.Fatal("clicking the failed bar did not open its output")
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#"+id+" pre.stderr"), chromedp.NodeVisible))
	if err != nil {
		t.Fatal(err)
	}
	if want := `it <failed> & "stopped"`; strings.TrimSpace(text) != want {
		t.Errorf("stderr shown = %q, want %q", text, want)
	}
	if *screenshot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBrowserOnlyFailures(t *testing.T) {
	ctx := browse(t)
	visible := `[...document.querySelectorAll(".test")].filter(e => e.offsetParent !== null).length`
	all := eval[int](t, ctx, visible)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("only-failures"))); err != nil {
		t.Fatal(err)
	}
	if got := eval[int](t, ctx, visible); got != 1 || all != 7 {
		t.Errorf("visible tests: %d, then %d with only failures; want 7, then 1", all, got)
	}
}
