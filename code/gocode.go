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
	buildMu    sync.Mutex
	builds     = map[string]*buildResult{}
	buildCache string // this process's builds, in the temp dir
)

type buildResult struct {
	once sync.Once
	bin  string
	err  error
}

// buildGo builds pkg once per process and returns the binary's path.
func buildGo(ctx context.Context, pkg string, test bool) (string, error) {
	key := fmt.Sprint(pkg, test)
	buildMu.Lock()
	r, ok := builds[key]
	if !ok {
		r = &buildResult{}
		builds[key] = r
	}
	if buildCache == "" {
		dir, err := os.MkdirTemp("", "streamtest-go-")
		if err != nil {
			buildMu.Unlock()
			return "", err
		}
		buildCache = dir
	}
	dir := buildCache
	buildMu.Unlock()
	r.once.Do(func() {
		name := strings.Trim(filepath.Base(pkg), ".") + "-" + shortHash(key)
		if name[0] == '-' {
			name = "main" + name
		}
		out := filepath.Join(dir, name)
		args := []string{"build", "-o", out, pkg}
		if test {
			args = []string{"test", "-c", "-o", out, pkg}
		}
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if msg, err := cmd.CombinedOutput(); err != nil {
			r.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
			return
		}
		r.bin = out
	})
	return r.bin, r.err
}
