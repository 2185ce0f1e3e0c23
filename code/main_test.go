package code_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// helperEnv selects a helper that the test binary runs instead of its
// tests (see TestMain).
const helperEnv = "STREAMTEST_CODE_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "goprogram":
		os.Exit(runGoProgram())
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// runGoProgram runs a GoProgram block on a local stream, as a test process
// would, and prints its output.
func runGoProgram() int {
	sess := streamtest.NewSession("goprogram")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.DefaultType("local"))
	s.At(1).Run(code.GoProgram("./testdata/hello", "helper"), streamtest.Wait())
	fmt.Print(s.At(1).Output().Stdout())
	if !s.At(1).Success() {
		fmt.Fprintln(os.Stderr, s.At(1))
		return 1
	}
	return 0
}

func TestGoProgramLeavesNoTempDir(t *testing.T) {
	tmp := t.TempDir()
	cache := t.TempDir()
	var self string
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	self, err = os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), helperEnv+"=goprogram", "TMPDIR="+tmp, "XDG_CACHE_HOME="+cache,
		"GOCACHE="+strings.TrimSpace(string(gocache)), "STREAMTEST_PARAMS=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello helper") {
		t.Fatalf("the helper process: %v\n%s", err, out)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "streamtest-go-*"))
	if len(left) > 0 {
		t.Errorf("the process that ran a GoProgram block left %q in its temp dir", left)
	}
	// The binary is in the keyed cache directory, and only the binary.
	bins, _ := filepath.Glob(filepath.Join(cache, "streamtest", "go", "*", "*"))
	if len(bins) != 1 || filepath.Base(bins[0]) != "hello" {
		t.Errorf("build cache holds %q, want one hello binary", bins)
	}
}
