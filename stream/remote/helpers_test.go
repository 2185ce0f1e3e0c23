package remote

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/netns"
	"github.com/streamtest/streamtest/stream"
)

// TestMain runs this test binary as a helper when the test that started it
// asked for one.
func TestMain(m *testing.M) {
	if mk := os.Getenv(parkedHelperEnv); mk != "" {
		os.Exit(parkedHelper(mk))
	}
	os.Exit(m.Run())
}

// The lab tests run against the netns lab (streamtest lab up): make test
// brings it up and sets STREAMTEST_LAB. By hand:
//
//	go run ./cmd/streamtest lab up --hosts 4 --isolated 2 --dir .lab
//	STREAMTEST_LAB=$PWD/.lab go test -race ./stream/remote

func needLab(t testing.TB) *netns.Lab {
	t.Helper()
	dir := os.Getenv("STREAMTEST_LAB")
	testenv.Need(t, dir != "", "the netns lab (STREAMTEST_LAB)",
		"run `go run ./cmd/streamtest lab up --hosts 4 --isolated 2 --dir .lab` as root and set STREAMTEST_LAB=$PWD/.lab, or use make test")
	l, err := netns.Load(dir)
	testenv.Need(t, err == nil, "the netns lab in "+dir, fmt.Sprintf("%v; bring it up with streamtest lab up", err))
	return l
}

// labParams are the parameters of lab host n, as params.yaml has them.
func labParams(l *netns.Lab, n int) stream.Values {
	h, _ := l.Host(n)
	return stream.Values{"host": h.Addr, "user": l.User, "key": []string{l.Key}, "known_hosts": []string{l.KnownHosts}}
}

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLabEnv(t testing.TB, p stream.Values) (*Env, *logBuf) {
	t.Helper()
	var log logBuf
	env, err := New(stream.Config{ID: "1", Type: "remote", Params: p, Logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	e := env.(*Env)
	t.Cleanup(func() { e.Close() })
	return e, &log
}

// setUpLab returns a set-up stream on lab host n.
func setUpLab(t testing.TB, l *netns.Lab, n int) *Env {
	t.Helper()
	e, _ := newLabEnv(t, labParams(l, n))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// marker is a sleep duration no other test uses, to find its processes.
func marker() string {
	return fmt.Sprintf("%d.%06d", 3000+rand.IntN(1000), rand.IntN(1000000))
}

// pgrep lists the processes on the machine (every lab host shares the PID
// namespace) whose command line contains pattern.
func pgrep(pattern string) string {
	out, _ := exec.Command("pgrep", "-a", "-f", pattern).Output()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.Contains(l, "pgrep") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// waitGone waits until nothing matches pattern, for at most d.
func waitGone(t testing.TB, pattern string, d time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := pgrep(pattern)
		if left == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: processes survive after %v:\n%s", what, d, left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitThere waits until something matches pattern.
func waitThere(t testing.TB, pattern string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n := len(strings.Split(pgrep(pattern), "\n")); pgrep(pattern) != "" && n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d processes matching %q appeared", want, pattern)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// remoteExists reports whether path exists on lab host n (the hosts share
// this machine's file system).
func remoteExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// sleeper starts a block that leaves a tree behind: a background sleep and a
// foreground one, both with the marker.
func sleeper(t testing.TB, e *Env, m string) stream.Process {
	t.Helper()
	var out bytes.Buffer
	p, err := e.Start(context.Background(), &stream.Command{
		Args:   []string{"/bin/sh", "-c", "sleep " + m + " & sleep " + m + "; wait"},
		Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	waitThere(t, "sleep "+m, 2)
	return p
}
