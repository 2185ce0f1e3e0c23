package streamtest_test

import (
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
// TERMINATION_HELPER set) whose test starts a process tree on a local stream
// and then ends in some way; the outer test looks for survivors.

const helperEnv = "TERMINATION_HELPER"

// tree is the block the nested test runs: a shell that starts a child in
// its group and a grandchild in a session of its own, writes the three pids
// and its work directory, and waits for 100 s.
func tree(dir string) code.Block {
	return code.Shell(fmt.Sprintf(
		`sleep 100 & a=$!; setsid sleep 100 & b=$!; pwd > %[1]s/workdir; echo $$ $a $b > %[1]s/pids.tmp; mv %[1]s/pids.tmp %[1]s/pids; wait`, dir))
}

func TestHelperTermination(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("the nested test of the termination tests")
	}
	dir := os.Getenv("TERMINATION_DIR")
	t.Setenv("STREAMTEST_PARAMS", "")
	s := streamtest.For(t)
	s.At(1).Run(tree(dir))
	waitFile(t, filepath.Join(dir, "pids"))
	switch mode {
	case "end": // the RFC's example: the test lasts a while, then ends
		time.Sleep(time.Second)
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
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperTermination$", "-test.v")
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
		if _, err := os.Stat(workDir); !os.IsNotExist(err) {
			time.Sleep(grace)
			if _, err := os.Stat(workDir); !os.IsNotExist(err) {
				t.Errorf("work dir %s survived the test", workDir)
			}
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
