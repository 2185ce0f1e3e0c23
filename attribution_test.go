package streamtest_test

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// attributionEnv makes the test binary run attributionHelper (TestMain).
const attributionEnv = "STREAMTEST_ATTRIBUTION_HELPER"

// attributionHelper fails in every synchronous way a test can; each line
// that should be named by a failure ends with a "want:" comment.
func attributionHelper(t *testing.T) {
	p := writeParams(t, "streams:\n  - 11: {type: local}\n")
	s := streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.Strict(), streamtest.ParamsFile(p))
	s.At(7).Run(code.Exec("true"), streamtest.Wait())                                   // want: run
	s.At(8).Send("/nonexistent", "x")                                                   // want: send
	s.At(9).Host()                                                                      // want: host
	s.Pick(12).Run(code.Exec("true"), streamtest.Wait())                                // want: group run
	s.Pick(13, 14).Run(code.Exec("true"), streamtest.Wait(), streamtest.Synchronized()) // want: synchronized group run
	s.At(15).Run(code.Exec("true"), streamtest.Wait(), streamtest.Synchronized())       // want: synchronized run
	s.At(11).Run(code.Exec("sleep", "10"))
	s.At(11).Run(code.Exec("true")) // want: busy
}

// TestFailuresNameTheTestsLine checks that the failures the manager reports
// on the test's goroutine are attributed to the test's own line, not to a
// line of the library (every function on the way calls t.Helper).
func TestFailuresNameTheTestsLine(t *testing.T) {
	want := map[string]int{}   // "run" -> line
	marker := "// " + "want: " // not itself a marked line
	f, err := os.Open("attribution_test.go")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if _, what, ok := strings.Cut(sc.Text(), marker); ok {
			want[what] = n
		}
	}
	f.Close()
	cmd := exec.Command(os.Args[0], "-test.v")
	cmd.Env = append(os.Environ(), attributionEnv+"=1")
	out, _ := cmd.CombinedOutput()
	lines := map[int]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(\S+\.go):(\d+): streamtest:`).FindAllStringSubmatch(string(out), -1) {
		if m[1] != "attribution_test.go" {
			t.Errorf("a failure is attributed to %s:%s, not to the test's own line", m[1], m[2])
			continue
		}
		n, _ := strconv.Atoi(m[2])
		lines[n] = true
	}
	for what, n := range want {
		if !lines[n] {
			t.Errorf("no failure attributed to line %d (%s)", n, what)
		}
	}
	if t.Failed() {
		t.Logf("the helper's output:\n%s", out)
	}
}
