package streamtest_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// The termination tests run a real nested test binary (this one, with
// TERMINATION_HELPER set: TestMain then runs terminationHelper as the
// binary's only test) whose test starts a process tree on a local stream
// and then ends in some way; the outer test looks for survivors.

const helperEnv = "TERMINATION_HELPER"

func TestMain(m *testing.M) {
	// A helper needs a real test, whose end, failure or panic is what is
	// tested: run it as the binary's only test.
	only := func(name string, f func(*testing.T)) {
		testing.Main(func(_, _ string) (bool, error) { return true, nil },
			[]testing.InternalTest{{Name: name, F: f}}, nil, nil)
	}
	switch {
	case os.Getenv(helperEnv) != "":
		only("TerminationHelper", terminationHelper)
	case os.Getenv(attributionEnv) != "":
		only("AttributionHelper", attributionHelper)
	case os.Getenv(faultHelperEnv) != "":
		only("FaultHelper", faultHelper)
	default:
		os.Exit(m.Run())
	}
}

// tree is the block the nested test runs: a shell that starts a child in
// its group and a grandchild in a session of its own, writes the three pids
// and its work directory, and waits for 100 s.
func tree(dir string) code.Block {
	return code.Shell(fmt.Sprintf(
		`sleep 100 & a=$!; setsid sleep 100 & b=$!; pwd > %[1]s/workdir; echo $$ $a $b > %[1]s/pids.tmp; mv %[1]s/pids.tmp %[1]s/pids; wait`, dir))
}

// terminationHelper is the nested test: TERMINATION_HELPER says how it
// ends.
func terminationHelper(t *testing.T) {
	mode := os.Getenv(helperEnv)
	dir := os.Getenv("TERMINATION_DIR")
	t.Setenv("STREAMTEST_PARAMS", "")
	s := streamtest.For(t)
	if mode == "interrupt" {
		// Only a polite termination (SIGTERM) leaves the marker; the guard
		// of a dead binary sends SIGKILL.
		s.At(1).Run(code.Shell(fmt.Sprintf(`trap 'echo terminated > %[1]s/marker; exit 0' TERM; echo $$ > %[1]s/pids; pwd > %[1]s/workdir; while :; do sleep 0.05; done`, dir)))
		waitFile(t, filepath.Join(dir, "pids"))
		time.Sleep(time.Minute)
	}
	s.At(1).Run(tree(dir))
	waitFile(t, filepath.Join(dir, "pids"))
	switch mode {
	case "end": // the RFC's example: the test ends while its block runs
	case "fail":
		t.Fatal("failing on purpose")
	case "panic":
		panic("panicking on purpose")
	case "hang": // killed from outside
		time.Sleep(time.Minute)
	}
}

func waitFile(t testing.TB, name string) []byte {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if data, err := os.ReadFile(name); err == nil && len(data) > 0 {
			return data
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(data)
	return !strings.HasPrefix(s[strings.LastIndexByte(s, ')')+1:], " Z")
}

// gone polls for up to d for path to be removed and reports whether it was.
func gone(path string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if _, err := os.Lstat(path); os.IsNotExist(err) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// survivors polls for up to d and returns the pids still alive then.
func survivors(pids []int, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		var left []int
		for _, pid := range pids {
			if alive(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTermination(t *testing.T) {
	type testCase struct {
		mode   string
		kill   bool // SIGKILL the nested binary once its tree runs
		passes bool // the nested test passes
	}
	run := func(t *testing.T, tc testCase) {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.v")
		cmd.Env = append(os.Environ(), helperEnv+"="+tc.mode, "TERMINATION_DIR="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		began := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var pids []int
		for _, f := range strings.Fields(string(waitFile(t, filepath.Join(dir, "pids")))) {
			pid, _ := strconv.Atoi(f)
			pids = append(pids, pid)
		}
		workDir := strings.TrimSpace(string(waitFile(t, filepath.Join(dir, "workdir"))))
		if tc.kill {
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		}
		err := cmd.Wait()
		lived := time.Since(began)
		if tc.passes != (err == nil) {
			t.Errorf("nested test: err = %v, want passing = %v\n%s", err, tc.passes, out.String())
		}
		grace := 500 * time.Millisecond // a test's own cleanup has run when it exits
		if tc.kill {
			grace = 5 * time.Second // the guard notices and cleans up
		}
		if left := survivors(pids, grace); len(left) > 0 {
			t.Errorf("processes %v of the stream survived the test (%v after it ended)\n%s", left, grace, out.String())
		}
		if !gone(workDir, grace) {
			t.Errorf("work dir %s survived the test (%v after it ended)", workDir, grace)
		}
		if lived > 60*time.Second {
			t.Errorf("the nested test lived %v: the stream's sleep 100 kept it alive", lived)
		}
	}
	for _, tc := range []testCase{
		{mode: "end", passes: true},
		{mode: "fail"},
		{mode: "panic"},
		{mode: "hang", kill: true},
	} {
		t.Run(tc.mode, func(t *testing.T) { run(t, tc) })
	}
}

// TestInterruptTerminatesStreams interrupts a nested test binary as Ctrl-C
// would: its streams are terminated politely, then it dies of the signal.
func TestInterruptTerminatesStreams(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"=interrupt", "TERMINATION_DIR="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(waitFile(t, filepath.Join(dir, "pids")))))
	workDir := strings.TrimSpace(string(waitFile(t, filepath.Join(dir, "workdir"))))
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
		t.Errorf("the interrupted binary should die of SIGINT, got %v\n%s", err, out.String())
	}
	if data, err := os.ReadFile(filepath.Join(dir, "marker")); err != nil || !strings.Contains(string(data), "terminated") {
		t.Errorf("the block was not terminated politely before the binary died (%v)\n%s", err, out.String())
	}
	if left := survivors([]int{pid}, time.Second); len(left) > 0 {
		t.Errorf("block process %d survived the interrupt", pid)
	}
	if _, err := os.Stat(workDir); !os.IsNotExist(err) {
		t.Errorf("work dir %s survived the interrupt", workDir)
	}
}

// TestNoHelperTests checks that helper processes are dispatched by
// TestMain, not by tests that skip themselves in every ordinary run.
func TestNoHelperTests(t *testing.T) {
	out, err := exec.Command(os.Args[0], "-test.list", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("listing the tests: %v\n%s", err, out)
	}
	for _, name := range strings.Fields(string(out)) {
		if strings.HasPrefix(name, "TestHelper") {
			t.Errorf("%s is a helper run as a test: dispatch it from TestMain", name)
		}
	}
}
