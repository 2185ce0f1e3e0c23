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
	testenv.Need(t, bin != "", "Chromium", "apt-get install chromium")
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
		// 14 records, one of a test go test never reported.
		{"bars", `document.querySelectorAll(".bar").length`, 13},
		{"failed bars", `document.querySelectorAll(".bar.fail").length`, 3},
		{"stopped bars", `document.querySelectorAll(".bar.stopped").length`, 2},
		{"timelines", `document.querySelectorAll(".timeline").length`, 4},
		{"lanes of TestPass", `document.querySelector('[data-test="TestPass"]').querySelectorAll(".lane").length`, 2},
		{"release lines", `document.querySelectorAll(".mark.release").length`, 1},
		{"end lines", `document.querySelectorAll(".mark.end").length`, 4},
		{"synchronized bars", `document.querySelectorAll(".bar.synced").length`, 2},
		{"bars with a visible width", `[...document.querySelectorAll(".bar")].filter(b => b.getBoundingClientRect().width >= 2).length`, 13},
		{"red failed bars", `[...document.querySelectorAll(".bar.fail")].filter(b => getComputedStyle(b).borderColor === "rgb(198, 40, 40)").length`, 3},
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

// TestBrowserReadsAtAGlance checks what a person sees without clicking: a
// passing test whose servers the test stopped has no red, every block's
// whole text and stream address is there on hover, the test's end and a
// synchronized group's skew are drawn, a skip says why and how to enable it.
func TestBrowserReadsAtAGlance(t *testing.T) {
	ctx := browse(t)
	const (
		servers = `document.querySelector('[data-test="TestServers"]')`
		pass    = `document.querySelector('[data-test="TestPass"]')`
		red     = `["rgb(198, 40, 40)", "rgb(239, 154, 154)"]` // --fail, --fail-light
	)
	rect := func(sel string) string { return `document.querySelector('` + sel + `').getBoundingClientRect()` }
	type testCase struct {
		name string
		js   string // true when the page is right
	}
	cases := []testCase{
		{"nothing red in a passing test with stopped servers", `[...` + servers + `.querySelectorAll("*")].every(e => {
			const s = getComputedStyle(e), a = getComputedStyle(e, "::after");
			return ![s.color, s.backgroundColor, s.borderTopColor, s.borderLeftColor, a.backgroundColor].some(c => ` + red + `.includes(c));
		})`},
		{"stopped bars are grey-blue", `[...` + servers + `.querySelectorAll(".bar.stopped")].map(b => getComputedStyle(b).backgroundColor).join() === "rgb(207, 216, 220),rgb(207, 216, 220)"`},
		{"one label for blocks the test stopped", `[...` + servers + `.querySelectorAll("details.block.stopped > summary")].map(s => s.textContent.match(/: (stopped by the test) \(/)?.[1]).join() === "stopped by the test,stopped by the test"`},
		{"the reason is in the details", `[...` + servers + `.querySelectorAll("details.block.stopped .why")].map(w => w.textContent).join("|") === "stopped by the test the test ended; the program ended on signal TERM|stopped by the test the test called Terminate; the program ended on signal TERM"`},
		{"no old labels", `!` + servers + `.innerText.includes("terminated") && !` + servers + `.innerText.includes("error")`},
		{"hover shows a long command whole", `[...` + servers + `.querySelectorAll(".bar")].some(b => b.title.includes("` + etcdGet + `"))`},
		{"two commands with one summary differ on hover", `new Set([...` + servers + `.querySelectorAll(".bar")].filter(b => b.textContent.startsWith("shell etcdctl")).map(b => b.title)).size === 2`},
		{"hover shows a Python source whole", `[...` + servers + `.querySelectorAll(".bar")].some(b => b.title.includes("urlopen('http://172.22.0.13:8080/') as r:\n    print(json.dumps({'status': r.status}))"))`},
		{"lane labels hold whole addresses", `[...` + servers + `.querySelectorAll(".lane .label")].map(l => l.querySelector(".host").textContent + "=" + l.title).join() === "172.22.0.14=stream client · container · host 172.22.0.14,172.22.0.12=stream etcd · container · host 172.22.0.12,172.22.0.13=stream web · container · host 172.22.0.13"`},
		{"addresses are not cut", `(hosts => hosts.length === 8 && hosts.every(h => h.scrollWidth <= h.clientWidth))([...document.querySelectorAll(".lane .host")])`},
		{"the test's end is marked where its remaining blocks were asked to stop", `(() => {
			const track = ` + servers + `.querySelector(".track").getBoundingClientRect();
			return Math.abs(` + rect(`[data-test="TestServers"] .mark.end`) + `.left - (track.left + track.width * 1600 / 1612)) < 2;
		})()`},
		{"without blocks stopped at its end, the test's end is go test's", `(() => {
			const track = ` + pass + `.querySelector(".track").getBoundingClientRect();
			return Math.abs(` + rect(`[data-test="TestPass"] .mark.end`) + `.left - track.right) < 2;
		})()`},
		{"the end mark is labelled", servers + `.querySelector(".marks .end").textContent === "test ended"`},
		{"the skew is written at the release", pass + `.querySelector(".marks .release").textContent === "sync 3,4 · skew 1.3ms"`},
		{"the skew is shaded from the first start to the last", `(() => {
			const band = ` + pass + `.querySelector(".skew").getBoundingClientRect(), track = ` + pass + `.querySelector(".track").getBoundingClientRect();
			const at = ms => track.left + track.width * ms / 70;
			return Math.abs(band.left - at(10.4)) < 2 && Math.abs(band.right - at(11.7)) < 2 && band.width >= 2;
		})()`},
		{"the group's bars are marked", `[...` + pass + `.querySelectorAll(".bar.synced")].filter(b => getComputedStyle(b, "::after").backgroundColor === "rgb(21, 101, 192)").length === 2`},
		{"a skip says why and how to enable, unfolded", `(() => {
			const r = document.querySelector('[data-test="TestNeedsEngine"] .skip-reason');
			return r.offsetHeight > 0 && !r.closest("details") && r.innerText.includes("a Docker Engine with the streamtest images is missing; to enable: start dockerd and run go run ./cmd/streamtest lab image") &&
				r.querySelector("code").textContent === "go run ./cmd/streamtest lab image";
		})()`},
	}
	run := func(t *testing.T, tc testCase) {
		if !eval[bool](t, ctx, tc.js) {
			t.Errorf("false: %s", tc.js)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

// etcdGet is the whole command of a block of the fixture whose summary is
// cut (see report/internal/fixture).
const etcdGet = "etcdctl --endpoints=http://172.22.0.12:2379 --dial-timeout=5s --command-timeout=10s get /streamtest/config/alpha --print-value-only"

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
	// A stopped block's details: its whole text and why it was stopped.
	id = eval[string](t, ctx, `document.querySelector('[data-test="TestServers"] .bar.stopped').dataset.block`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-block="`+id+`"]`))); err != nil {
		t.Fatal(err)
	}
	if bg := eval[string](t, ctx, `getComputedStyle(document.querySelector("#`+id+` pre.stderr")).backgroundColor`); bg != "rgb(245, 245, 245)" {
		t.Errorf("the standard error of a stopped block has background %s, want the neutral rgb(245, 245, 245)", bg)
	}
	for sel, want := range map[string]string{
		" pre.text": "etcd --name n1 --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://172.22.0.12:2379",
		" .why":     "stopped by the test the test ended; the program ended on signal TERM",
	} {
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#"+id+sel), chromedp.NodeVisible))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(text) != want {
			t.Errorf("%s shown = %q, want %q", sel, text, want)
		}
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
	if got := eval[int](t, ctx, visible); got != 1 || all != 9 {
		t.Errorf("visible tests: %d, then %d with only failures; want 9, then 1", all, got)
	}
}
