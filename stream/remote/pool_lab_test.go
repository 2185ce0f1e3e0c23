package remote

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/lab/netns"
	"github.com/streamtest/streamtest/stream"
)

// sshdConns lists the established connections to lab host n's sshd, as
// ss shows them in the host's namespace: the client's port, and the pids
// of the sshd processes that hold the socket.
func sshdConns(t testing.TB, n int) map[int][]int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", "stlab"+strconv.Itoa(n),
		"ss", "-tnpH", "state", "established", "( sport = :22 )").CombinedOutput()
	if err != nil {
		t.Fatalf("ss in the namespace of lab host %d: %v: %s", n, err, out)
	}
	conns := map[int][]int{}
	pids := regexp.MustCompile(`pid=(\d+)`)
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		_, p, err := net.SplitHostPort(f[3])
		if err != nil {
			continue
		}
		port, _ := strconv.Atoi(p)
		conns[port] = nil
		for _, m := range pids.FindAllStringSubmatch(l, -1) {
			pid, _ := strconv.Atoi(m[1])
			conns[port] = append(conns[port], pid)
		}
	}
	return conns
}

// setUpLabN sets up n streams on lab host h at once.
func setUpLabN(t *testing.T, l *netns.Lab, h, n int) []*Env {
	t.Helper()
	envs := make([]*Env, n)
	for i := range envs {
		envs[i], _ = newLabEnv(t, labParams(l, h))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, e := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.Setup(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Setup of stream %d on lab host %d: %v", i, h, err)
		}
	}
	return envs
}

// localPort is the client's port of e's connection.
func localPort(e *Env) int {
	return e.client.LocalAddr().(*net.TCPAddr).Port
}

// TestLabSharedConnections sets up 7 streams on one lab host at once and
// counts the connections on the host: ceil(7/2) with max_sessions 10.
func TestLabSharedConnections(t *testing.T) {
	l := needLab(t)
	const host, n = 3, 7
	before := sshdConns(t, host)
	envs := setUpLabN(t, l, host, n)
	per := defaultMaxSessions / channelsPerStream
	mine := map[int]bool{}
	for _, e := range envs {
		mine[localPort(e)] = true
	}
	after := sshdConns(t, host)
	for port := range mine {
		if _, ok := after[port]; !ok {
			t.Errorf("the host shows no connection from port %d", port)
		}
	}
	if want := (n + per - 1) / per; len(mine) != want || len(after)-len(before) != want {
		t.Errorf("%d streams with %d per connection: %d connections of theirs, %d new on the host; want %d", n, per, len(mine), len(after)-len(before), want)
	}
	for i, e := range envs {
		x, out, _ := run(t, e, &stream.Command{Args: []string{"echo", strconv.Itoa(i)}})
		if !x.Success() || out != strconv.Itoa(i)+"\n" {
			t.Errorf("stream %d: %v, %q", i, x, out)
		}
	}
}

// TestLabSharedConnectionKilled kills the sshd of a connection two streams
// share: both fail with the connection lost and their guards kill their
// blocks' trees, while a third stream, on another connection, works on.
func TestLabSharedConnectionKilled(t *testing.T) {
	l := needLab(t)
	const host = 4
	envs := setUpLabN(t, l, host, 3)
	var a, b, other *Env
	switch {
	case envs[0].client == envs[1].client:
		a, b, other = envs[0], envs[1], envs[2]
	case envs[0].client == envs[2].client:
		a, b, other = envs[0], envs[2], envs[1]
	default:
		a, b, other = envs[1], envs[2], envs[0]
	}
	if a.client != b.client || other.client == a.client {
		t.Fatal("not two streams on one connection and one on another")
	}
	ma, mb := marker(), marker()
	pa, pb := sleeper(t, a, ma), sleeper(t, b, mb)
	port := localPort(a)
	pids := sshdConns(t, host)[port]
	if len(pids) == 0 {
		t.Fatalf("no sshd process holds the connection from port %d", port)
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for i, p := range []stream.Process{pa, pb} {
		if _, err := p.Wait(); err == nil || !strings.Contains(err.Error(), "connection lost") {
			t.Errorf("stream %d on the killed connection: Wait: %v", i, err)
		}
	}
	if err := b.Send(context.Background(), "pool_lab_test.go", "x.go"); err == nil || !strings.Contains(err.Error(), "connection lost") {
		t.Errorf("Send on the killed connection: %v", err)
	}
	waitGone(t, "sleep "+ma, CutLinkBound(defaultKeepalive), "after the shared connection's sshd was killed")
	waitGone(t, "sleep "+mb, CutLinkBound(defaultKeepalive), "after the shared connection's sshd was killed")
	x, out, _ := run(t, other, &stream.Command{Args: []string{"echo", "still"}})
	if !x.Success() || out != "still\n" {
		t.Errorf("the stream on the other connection: %v, %q", x, out)
	}
}
