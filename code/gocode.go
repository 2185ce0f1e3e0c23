package code

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
)

// GoProgram builds the Go main package pkg (a package path or a directory,
// relative to the test's package directory) for Linux on this machine's
// architecture, with cgo off so the binary needs no C library, ships it to
// the stream and runs it with args. The build is done once per test
// process.
func GoProgram(pkg string, args ...string) Block {
	return goBlock{kind: "go-program", pkg: pkg, args: args}
}

// GoTest builds the tests of package pkg into a test binary (go test -c),
// ships it and runs it with args ("-test.run=^TestX$", "-test.v"). Its
// output has "failed_tests": the names of the tests that printed
// "--- FAIL".
func GoTest(pkg string, args ...string) Block {
	return goBlock{kind: "go-test", pkg: pkg, args: args, test: true}
}

type goBlock struct {
	kind string
	pkg  string
	args []string
	test bool
}

func (b goBlock) Kind() string { return b.kind }
func (b goBlock) String() string {
	return summarize(strings.Join(append([]string{b.pkg}, b.args...), " "))
}
func (b goBlock) Text() string { return quoteArgs(append([]string{b.pkg}, b.args...)) }

func (b goBlock) SendSelf(ctx context.Context, t Target) (*Plan, error) {
	bin, err := buildGo(ctx, b.pkg, b.test)
	if err != nil {
		return nil, err
	}
	remote := path.Join("blocks", "go-"+shortHash(bin), filepath.Base(bin))
	if err := t.Send(ctx, bin, remote); err != nil {
		return nil, fmt.Errorf("sending the %s binary: %w", b.pkg, err)
	}
	plan := &Plan{Args: append([]string{path.Join(t.WorkDir(), remote)}, b.args...)}
	if b.test {
		plan.Output = func(r Result) map[string]any {
			return map[string]any{"failed_tests": failedTests(r.Stdout)}
		}
	}
	return plan, nil
}

var failLine = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

func failedTests(out []byte) []string {
	names := []string{}
	for _, m := range failLine.FindAllSubmatch(out, -1) {
		names = append(names, string(m[1]))
	}
	return names
}

var (
	buildMu sync.Mutex
	builds  = map[string]*buildResult{}
)

type buildResult struct {
	once sync.Once
	bin  string
	err  error
}

// buildGo builds pkg once per process and returns the binary's path.
//
// The binary goes to a directory keyed by what it is built from (the
// working directory, the package, test or not, the architecture) under
// the user's cache directory (buildDir), not to a directory per process:
// a test process has no end to remove its own directory at, and one per
// process piled up in the temp dir. Every process still builds (go build
// is incremental through GOCACHE, so a rebuild of unchanged code only
// links), writes to a file of its own and renames it into place, so
// processes building the same key at once do not disturb each other (one
// that is sending the old binary keeps reading its inode). Directories not
// used for buildMaxAge are removed by the first build of a process.
func buildGo(ctx context.Context, pkg string, test bool) (string, error) {
	key := fmt.Sprint(pkg, test)
	buildMu.Lock()
	r, ok := builds[key]
	if !ok {
		r = &buildResult{}
		builds[key] = r
	}
	buildMu.Unlock()
	r.once.Do(func() { r.bin, r.err = build(ctx, pkg, test) })
	return r.bin, r.err
}

// buildMaxAge is how long a build directory lives unused.
const buildMaxAge = 7 * 24 * time.Hour

var trimOnce sync.Once

func build(ctx context.Context, pkg string, test bool) (string, error) {
	root := buildRoot()
	trimOnce.Do(func() { trimBuilds(root, time.Now().Add(-buildMaxAge)) })
	wd, _ := os.Getwd()
	key := fmt.Sprint(wd, "\x00", pkg, "\x00", test, "\x00", runtime.GOARCH)
	dir := filepath.Join(root, shortHash(key))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("making the build directory: %w", err)
	}
	os.Chtimes(dir, time.Now(), time.Now()) // in use: not trimmed
	name := strings.Trim(filepath.Base(pkg), ".")
	if name == "" {
		name = "main"
	}
	out := filepath.Join(dir, name)
	tmp := fmt.Sprintf("%s.build-%d", out, os.Getpid()) // this process's own: one build per key
	defer os.Remove(tmp)                                // gone once renamed
	args := []string{"build", "-o", tmp, pkg}
	if test {
		args = []string{"test", "-c", "-o", tmp, pkg}
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	return out, nil
}

// buildRoot is where Go blocks are built: streamtest/go under the user's
// cache directory, or, without one, a directory of the user's in the temp
// dir (one per user, not per process).
func buildRoot() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "streamtest", "go")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("streamtest-go-cache-%d", os.Getuid()))
}

// trimBuilds removes the build directories under root last used before
// cutoff.
func trimBuilds(root string, cutoff time.Time) {
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && e.IsDir() && info.ModTime().Before(cutoff) {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}
