package guard_test

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

	"github.com/streamtest/streamtest/stream/guard"
	"github.com/streamtest/streamtest/stream/proctree"
)

// ownerEnv selects the nested test binary that plays a test which the
// test kills: its value is the directory to report in, and ownerMode
// says whether it also loses its first guard.
const (
	ownerEnv  = "GUARD_TEST_OWNER_DIR"
	ownerMode = "GUARD_TEST_OWNER_MODE"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(ownerEnv); dir != "" {
		os.Exit(owner(dir, os.Getenv(ownerMode)))
	}
	os.Exit(m.Run())
}

// owner registers two directories, forgets one, starts a tagged daemon in
// a session of its own, reports "daemon-pid guard-pid" in dir/pids and
// waits to be killed. In mode "lose" it kills its guard first and makes
// the next AddDir start another.
func owner(dir, mode string) int {
	g := guard.Default()
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "owner:", err)
		return 1
	}
	work, kept, late := filepath.Join(dir, "work"), filepath.Join(dir, "kept"), filepath.Join(dir, "late")
	for _, d := range []string{work, kept, late} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fail(err)
		}
	}
	if err := g.AddDir(work); err != nil {
		return fail(err)
	}
	if err := g.AddDir(kept); err != nil {
		return fail(err)
	}
	if err := g.RemoveDir(kept); err != nil {
		return fail(err)
	}
	if mode == "lose" {
		first := g.PID()
		syscall.Kill(first, syscall.SIGKILL)
		for proctree.Alive(first) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := g.AddDir(late); err != nil {
		return fail(err)
	}
	daemon := exec.Command("sleep", "100")
	daemon.Env = append(os.Environ(), proctree.TagEnv(g.NewTag()))
	daemon.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := daemon.Start(); err != nil {
		return fail(err)
	}
	pids := fmt.Sprintf("%d %d", daemon.Process.Pid, g.PID())
	if err := os.WriteFile(filepath.Join(dir, "pids.tmp"), []byte(pids), 0o600); err != nil {
		return fail(err)
	}
	os.Rename(filepath.Join(dir, "pids.tmp"), filepath.Join(dir, "pids"))
	select {}
}

func TestGuardCleansUpAfterSIGKILL(t *testing.T) {
	for _, mode := range []string{"", "lose"} {
		t.Run("mode="+mode, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), ownerEnv+"="+dir, ownerMode+"="+mode)
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pids := readPids(t, filepath.Join(dir, "pids"), cmd)
			daemon, guardPID := pids[0], pids[1]
			if !proctree.Alive(daemon) || !proctree.Alive(guardPID) {
				t.Fatalf("the daemon (%d) or the guard (%d) is not running", daemon, guardPID)
			}
			cmd.Process.Kill()
			cmd.Wait()
			// The guard ends once it has cleaned up: its end is the signal.
			waitGone(t, guardPID)
			if proctree.Alive(daemon) {
				t.Errorf("the tagged daemon %d outlived the killed test binary's guard", daemon)
			}
			for _, d := range []string{"work", "late"} {
				if _, err := os.Stat(filepath.Join(dir, d)); !os.IsNotExist(err) {
					t.Errorf("registered directory %s is still there: %v", d, err)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "kept")); err != nil {
				t.Errorf("the guard removed a directory it was told to forget: %v", err)
			}
		})
	}
}

func TestTags(t *testing.T) {
	g := guard.Default()
	a, b := g.NewTag(), g.NewTag()
	if a == b || !strings.HasPrefix(a, g.Tag()+".") || !strings.HasPrefix(b, g.Tag()+".") {
		t.Errorf("NewTag gave %q and %q; want two different tags extending %q", a, b, g.Tag())
	}
	if g.PID() != 0 {
		t.Error("a guard runs although nothing started it")
	}
}

func readPids(t *testing.T, file string, cmd *exec.Cmd) []int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if data, err := os.ReadFile(file); err == nil {
			var pids []int
			for _, f := range strings.Fields(string(data)) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				pids = append(pids, pid)
			}
			return pids
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the nested test binary did not report within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for proctree.Alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive after 10s", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
