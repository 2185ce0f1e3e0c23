package streamtest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// writeParams writes a parameters file in the test's temp dir.
func writeParams(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "params.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// localStreams returns a manager on default local streams, whatever
// STREAMTEST_PARAMS says (a lab run sets it for every package).
func localStreams(t testing.TB, opts ...streamtest.Option) *streamtest.Manager {
	t.Helper()
	t.Setenv("STREAMTEST_PARAMS", "")
	return streamtest.For(t, opts...)
}

func TestRunIsAsyncAndActiveUntilTheBlockEnds(t *testing.T) {
	s := localStreams(t)
	gate := filepath.Join(t.TempDir(), "go")
	st := s.At(1)
	st.Run(code.Shell("while [ ! -e " + gate + " ]; do sleep 0.01; done; echo done"))
	if !st.Active() {
		t.Fatal("Active is false right after Run")
	}
	if st.Success() {
		t.Fatal("Success is true while the block runs")
	}
	os.WriteFile(gate, nil, 0o600)
	st.Wait()
	if st.Active() {
		t.Error("Active is true after Wait")
	}
	if !st.Success() {
		t.Errorf("Success is false: %v", st)
	}
	out := st.Output()
	if out.Stdout() != "done\n" || out.ExitStatus() != 0 {
		t.Errorf("output %v", out)
	}
	for _, k := range []string{"stdout", "stderr", "exit_status", "duration", "started", "began", "ended"} {
		if _, ok := out[k]; !ok {
			t.Errorf("output has no %q key: %v", k, out)
		}
	}
}

func TestActiveIncludesSetUp(t *testing.T) {
	// A stream type whose set-up blocks until released shows Active during it.
	release := make(chan struct{})
	registerSlow(t, "slowsetup", release)
	s := streamtest.For(t, streamtest.ParamsFile(writeParams(t, "streams:\n  - 1: {type: slowsetup}\n")))
	s.At(1).Run(code.Exec("true"))
	if !s.At(1).Active() {
		t.Fatal("Active is false while the stream is being set up")
	}
	close(release)
	s.At(1).Wait()
	if s.At(1).Active() || !s.At(1).Success() {
		t.Errorf("after set-up and run: active %v success %v: %v", s.At(1).Active(), s.At(1).Success(), s)
	}
}

func TestWaitOptionIsSynchronous(t *testing.T) {
	s := localStreams(t)
	s.At(1).Run(code.Shell("sleep 0.1; exit 3"), streamtest.Wait())
	if s.At(1).Active() {
		t.Fatal("Active after a Run with Wait")
	}
	if s.At(1).Success() || s.At(1).Output().ExitStatus() != 3 {
		t.Errorf("want a failure with exit 3: %v", s.At(1))
	}
	if s.At(1).Err() != nil {
		t.Errorf("a block that ran and failed is not an infrastructure error: %v", s.At(1).Err())
	}
}

func TestBusyStreamIsAnError(t *testing.T) {
	s := localStreams(t)
	s.At(1).Run(code.Exec("sleep", "10"))
	err := s.At(1).TryRun(code.Exec("true"))
	if !errors.Is(err, streamtest.ErrBusy) {
		t.Fatalf("second TryRun on a busy stream: err = %v, want ErrBusy", err)
	}
	if !strings.Contains(err.Error(), "stream 1") || !strings.Contains(err.Error(), "sleep 10") {
		t.Errorf("error should name the stream and what it runs: %v", err)
	}
	s.At(1).Terminate()
	if err := s.At(1).TryRun(code.Exec("true"), streamtest.Wait()); err != nil || !s.At(1).Success() {
		t.Errorf("run after Terminate: %v, %v", err, s.At(1))
	}
}

func TestRangeIsInclusiveAndGroupSuccessNeedsEveryMember(t *testing.T) {
	s := localStreams(t)
	g := s.Range(3, 4)
	if got := strings.Join(g.IDs(), ","); got != "3,4" {
		t.Fatalf("Range(3, 4) = %s, want 3,4", got)
	}
	s.At(3).Run(code.Exec("true"))
	s.At(4).Run(code.Exec("false"))
	g.Wait()
	if g.Success() {
		t.Error("group Success with a failed member")
	}
	if !s.Pick(3).Success() || s.Pick(4).Success() {
		t.Errorf("members: %v", g)
	}
	if s.Success() {
		t.Error("manager Success with a failed stream")
	}
	if !strings.Contains(s.String(), "FAILED") || !strings.Contains(s.String(), "1 of 2 succeeded") {
		t.Errorf("String() does not summarise the outcome:\n%s", s)
	}
	if ids := strings.Join(s.All().IDs(), ","); ids != "3,4" {
		t.Errorf("All() = %s, want the used streams 3,4", ids)
	}
}

func TestManagerSuccessIsFalseWhenNothingRan(t *testing.T) {
	s := localStreams(t)
	if s.Success() {
		t.Error("Success with no block run")
	}
}

func TestStreamsAreIndependent(t *testing.T) {
	s := localStreams(t)
	s.At(1).Run(code.Exec("sleep", "10"))
	s.At(2).Run(code.Shell("echo two"), streamtest.Wait())
	if !s.At(2).Success() || !s.At(1).Active() {
		t.Fatalf("stream 2 should end while stream 1 runs: %v", s)
	}
	if s.At(1).Host() == "" || s.At(2).Output().Stdout() != "two\n" {
		t.Errorf("unexpected: %v", s)
	}
}

func TestManagerBelongsToOneTest(t *testing.T) {
	parent := localStreams(t)
	if streamtest.For(t) != parent {
		t.Fatal("For(t) twice gave two managers")
	}
	parent.At(1).Run(code.Shell("pwd"), streamtest.Wait())
	var childDir string
	t.Run("sub", func(t *testing.T) {
		child := streamtest.For(t)
		if child == parent {
			t.Fatal("a subtest got its parent's manager")
		}
		child.At(1).Run(code.Shell("pwd"), streamtest.Wait())
		childDir = strings.TrimSpace(child.At(1).Output().Stdout())
		child.At(2).Run(code.Exec("sleep", "10"))
	})
	parentDir := strings.TrimSpace(parent.At(1).Output().Stdout())
	if parentDir == childDir {
		t.Fatalf("stream 1 of the parent and of the subtest share work dir %s", parentDir)
	}
	if _, err := os.Stat(childDir); !os.IsNotExist(err) {
		t.Errorf("the subtest's stream outlived it: %s still exists (%v)", childDir, err)
	}
	if _, err := os.Stat(parentDir); err != nil {
		t.Errorf("the parent's stream ended with the subtest: %v", err)
	}
}

func TestTimeoutStopsTheBlock(t *testing.T) {
	s := localStreams(t)
	s.At(1).Run(code.Exec("sleep", "30"), streamtest.Timeout(200*time.Millisecond), streamtest.Wait())
	out := s.At(1).Output()
	if s.At(1).Success() || out["timed_out"] != true {
		t.Errorf("want a timed-out failure, got %v", out)
	}
	if d := out.Duration(); d > 20*time.Second {
		t.Errorf("the block was not stopped: ran %v", d)
	}
}

func TestSynchronizedGroupStartsTogether(t *testing.T) {
	s := localStreams(t)
	g := s.Range(1, 4)
	g.Run(code.Exec("true"), streamtest.Synchronized(), streamtest.Wait())
	if !g.Success() {
		t.Fatalf("synchronized run failed: %v", g)
	}
	for id, out := range g.Output() {
		rel, ok := out["released"].(time.Time)
		if !ok {
			t.Fatalf("stream %s: no released time in %v", id, out)
		}
		if out.Began().Before(rel) {
			t.Errorf("stream %s began %v before the release %v", id, out.Began(), rel)
		}
	}
	t.Logf("skew between first and last start: %v", g.Skew())
}

func TestSynchronizedAbortNamesTheMissingMember(t *testing.T) {
	marker := t.TempDir()
	p := writeParams(t, "streams:\n  - 1: {type: local}\n  - 2: {type: local, work_root: "+filepath.Join(t.TempDir(), "missing")+"}\n")
	s := streamtest.For(t, streamtest.ParamsFile(p))
	err := s.Range(1, 2).TryRun(code.Shell("touch "+marker+"/ran-$$"), streamtest.Synchronized(), streamtest.Wait())
	if err == nil {
		t.Fatal("synchronized run with a member that cannot be set up succeeded")
	}
	if s.At(1).Success() || s.At(2).Success() {
		t.Errorf("a member of an aborted group succeeded: %v", s)
	}
	e1 := s.At(1).Err()
	if e1 == nil || !strings.Contains(e1.Error(), "stream 2") || !strings.Contains(e1.Error(), "aborted") {
		t.Errorf("stream 1's error should say the start was aborted because of stream 2: %v", e1)
	}
	e2 := s.At(2).Err()
	if e2 == nil || !strings.Contains(e2.Error(), "stream 2 (local, host 127.0.0.1): set up") {
		t.Errorf("stream 2's error should name it, its type, host and the cause: %v", e2)
	}
	if ents, _ := os.ReadDir(marker); len(ents) != 0 {
		t.Errorf("the block ran on a member of an aborted group: %v", ents)
	}
}

func TestSynchronizedTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	registerSlow(t, "neverready", release)
	p := writeParams(t, "streams:\n  - 1: {type: local}\n  - 2: {type: neverready}\n")
	s := streamtest.For(t, streamtest.ParamsFile(p))
	err := s.Range(1, 2).TryRun(code.Exec("true"), streamtest.SyncTimeout(300*time.Millisecond), streamtest.Wait())
	if err == nil || !strings.Contains(err.Error(), "stream 2 (neverready) was not ready within 300ms") {
		t.Fatalf("err = %v, want one naming stream 2 as not ready", err)
	}
}

// fakeTB records what the manager reports, for checking failure messages.
type fakeTB struct {
	*testing.T
	mu   sync.Mutex
	errs []string
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, strings.TrimSpace(sprintf(format, args...)))
}

func TestInfrastructureFailureFailsTheTestNamingTheStream(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	p := writeParams(t, "streams:\n  - db: {type: local, host: db.internal, work_root: "+missing+"}\n")
	tb := &fakeTB{T: t}
	s := streamtest.For(tb, streamtest.ParamsFile(p))
	s.At("db").Run(code.Exec("true"), streamtest.Wait())
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.errs) != 1 {
		t.Fatalf("want one failure reported, got %q", tb.errs)
	}
	for _, want := range []string{"stream db", "local", "db.internal", "set up", missing} {
		if !strings.Contains(tb.errs[0], want) {
			t.Errorf("failure %q does not mention %q", tb.errs[0], want)
		}
	}
}

func TestStrictModeUndefinedStream(t *testing.T) {
	p := writeParams(t, "streams:\n  - 1: {type: local}\n")
	s := streamtest.For(t, streamtest.ParamsFile(p), streamtest.Strict())
	err := s.At(7).TryRun(code.Exec("true"), streamtest.Wait())
	if err == nil || !strings.Contains(err.Error(), "7") || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v, want one naming stream 7 and the file read", err)
	}
	if !strings.Contains(err.Error(), "streamtest.Strict() in the test") || strings.Contains(err.Error(), "flag --strict") {
		t.Errorf("err = %v, want it to name streamtest.Strict() as what set strict mode", err)
	}
	if err := s.At(1).TryRun(code.Exec("true"), streamtest.Wait()); err != nil {
		t.Errorf("defined stream in strict mode: %v", err)
	}
}

func TestBlocksOutputAndParams(t *testing.T) {
	s := localStreams(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "mymodule"), 0o755)
	os.WriteFile(filepath.Join(dir, "mymodule", "__main__.py"), []byte(
		"import json, os\nprint(json.load(open(os.environ['STREAMTEST_PARAMS_FILE']))['debug'], os.environ['STREAMTEST_PARAM_LEVEL'])\n"), 0o644)
	s.At(1).Run(code.PythonModule("mymodule", code.Path(dir), code.Params(map[string]any{"debug": true, "level": 3})), streamtest.Wait())
	if got := s.At(1).Output().Stdout(); got != "True 3\n" {
		t.Errorf("PythonModule output %q (%v)", got, s.At(1))
	}
	script := filepath.Join(dir, "check.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"args: $*\"\n"), 0o755)
	s.At(2).Run(code.Script(script, "--quick", "x"), streamtest.Wait())
	if got := s.At(2).Output().Stdout(); got != "args: --quick x\n" {
		t.Errorf("Script output %q (%v)", got, s.At(2))
	}
	s.At(3).Run(code.Python("import sys\nprint('py', sys.version_info[0])"), streamtest.Wait())
	if got := s.At(3).Output().Stdout(); got != "py 3\n" {
		t.Errorf("Python output %q (%v)", got, s.At(3))
	}
}

func TestSendToStream(t *testing.T) {
	s := localStreams(t)
	f := filepath.Join(t.TempDir(), "payload")
	os.WriteFile(f, []byte("data"), 0o644)
	s.At(1).Send(f, "in/payload")
	s.At(1).Run(code.Exec("cat", "in/payload"), streamtest.Wait())
	if got := s.At(1).Output().Stdout(); got != "data" {
		t.Errorf("cat of the sent file: %q", got)
	}
}

func TestCleanupRegisteredAfterForCanStillRunBlocks(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "cleaned")
	t.Run("inner", func(t *testing.T) {
		s := localStreams(t)
		s.At(1).Run(code.Exec("sleep", "10"))
		t.Cleanup(func() {
			// Runs before the manager's own cleanup (cleanups run last
			// registered first): the streams are still there.
			s.At(2).Run(code.Exec("touch", marker), streamtest.Wait())
			if !s.At(2).Success() {
				t.Errorf("block run from a cleanup failed: %v", s.At(2))
			}
		})
	})
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the cleanup's block did not run: %v", err)
	}
}
