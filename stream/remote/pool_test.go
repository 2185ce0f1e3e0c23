package remote

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// setUpUnit sets up n streams with params p at once.
func setUpUnit(t *testing.T, p stream.Values, n int) []*Env {
	t.Helper()
	envs := make([]*Env, n)
	for i := range envs {
		envs[i], _ = newUnitEnv(t, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
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
			t.Fatalf("Setup of stream %d: %v", i, err)
		}
	}
	return envs
}

// echo runs `echo word` on e and checks its output.
func echo(t *testing.T, e *Env, word string) {
	t.Helper()
	var out strings.Builder
	p, err := e.Start(context.Background(), &stream.Command{Args: []string{"echo", word}, Stdout: &out})
	if err != nil {
		t.Fatalf("Start of echo %s: %v", word, err)
	}
	if x, err := p.Wait(); err != nil || !x.Success() || out.String() != word+"\n" {
		t.Fatalf("echo %s: %v, %v, output %q", word, x, err, out.String())
	}
}

// TestUnitSharedConnections sets up 5 streams on one server at once: with
// max_sessions 10 a connection takes 2 streams, so the server sees 3
// logins; the streams have their own work directories, and closing one
// leaves the others working on the connection it shared.
func TestUnitSharedConnections(t *testing.T) {
	srv := newTestServer(t)
	const n = 5
	envs := setUpUnit(t, unitParams(srv), n)
	per := defaultMaxSessions / channelsPerStream
	if logins, _ := srv.counts(); logins != (n+per-1)/per {
		t.Errorf("%d streams with %d per connection made %d logins, want %d", n, per, logins, (n+per-1)/per)
	}
	dirs := map[string]bool{}
	for i, e := range envs {
		echo(t, e, "stream"+strconv.Itoa(i))
		dirs[e.WorkDir()] = true
	}
	if len(dirs) != n {
		t.Errorf("%d streams have %d work directories", n, len(dirs))
	}
	var a, b *Env
	for i := range envs {
		for j := i + 1; j < n && a == nil; j++ {
			if envs[i].client == envs[j].client {
				a, b = envs[i], envs[j]
			}
		}
	}
	if a == nil {
		t.Fatal("no two streams share a connection")
	}
	before := pooled(a)
	c := a.client
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if remoteExists(a.base) {
		t.Errorf("Close left %s", a.base)
	}
	echo(t, b, "after-close")
	if got := pooled(b); got != before {
		t.Errorf("closing one of two streams on a connection left %d connections in the pool, want %d", got, before)
	}
	b.Close()
	if got := pooled(b); got != before-1 {
		t.Errorf("closing the last stream on a connection left %d connections in the pool, want %d", got, before-1)
	}
	closed := make(chan struct{})
	go func() { c.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Error("the connection is still open after its last stream closed")
	}
}

// pooled counts the pool's connections that e's streams would share.
func pooled(e *Env) int {
	key := e.connKey(e.hops())
	pool.mu.Lock()
	defer pool.mu.Unlock()
	return len(pool.conns[key])
}

// TestUnitSharedConnectionLost drops the connection two streams share:
// both fail with the connection lost, their guards clean up, and a stream
// set up afterwards dials a new one.
func TestUnitSharedConnectionLost(t *testing.T) {
	srv := newTestServer(t)
	p := unitParams(srv)
	p["keepalive"] = 200 * time.Millisecond
	envs := setUpUnit(t, p, 2)
	if envs[0].client != envs[1].client {
		t.Fatal("the two streams do not share a connection")
	}
	var procs []stream.Process
	var markers, bases []string
	for _, e := range envs {
		m := marker()
		procs = append(procs, sleeper(t, e, m))
		markers = append(markers, m)
		bases = append(bases, e.base)
	}
	srv.dropAll()
	for i, p := range procs {
		if _, err := p.Wait(); err == nil || !strings.HasPrefix(err.Error(), "connection lost to 127.0.0.1:") {
			t.Errorf("stream %d: Wait after the shared connection dropped: %v", i, err)
		}
		if _, err := envs[i].Start(context.Background(), &stream.Command{Args: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "connection lost") {
			t.Errorf("stream %d: Start after the shared connection dropped: %v", i, err)
		}
	}
	for i, m := range markers {
		waitGone(t, "sleep "+m, 5*time.Second, "after the shared connection dropped")
		deadline := time.Now().Add(5 * time.Second)
		for remoteExists(bases[i]) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if remoteExists(bases[i]) {
			t.Errorf("%s left behind", bases[i])
		}
	}
	e := setUpUnit(t, p, 1)[0]
	echo(t, e, "new")
	if e.conn == envs[0].conn {
		t.Error("a stream set up after the connection was lost got the lost one")
	}
	lost := envs[0].conn
	for _, e := range envs {
		e.Close()
	}
	pool.mu.Lock()
	freed := lost.freed
	pool.mu.Unlock()
	if !freed {
		t.Error("the lost connection was not freed when its last stream closed")
	}
}

// TestUnitServerMaxSessions runs streams on a server that allows 2
// sessions per connection, below what max_sessions (10) says: the streams
// that the server refuses a channel open another connection and work,
// with several blocks running at once and SFTP.
func TestUnitServerMaxSessions(t *testing.T) {
	srv := newTestServer(t)
	srv.maxSessions = 2
	envs := setUpUnit(t, unitParams(srv), 3)
	for i, e := range envs {
		m := marker()
		p := sleeper(t, e, m)
		echo(t, e, "beside-"+strconv.Itoa(i))
		if err := e.Send(context.Background(), "pool_test.go", "copy.go"); err != nil {
			t.Errorf("stream %d: Send: %v", i, err)
		}
		if err := p.Signal(9); err != nil {
			t.Errorf("stream %d: Signal: %v", i, err)
		}
		p.Wait()
	}
	logins, refusals := srv.counts()
	if refusals == 0 {
		t.Errorf("the server refused no channel (%d logins): the test did not reach its limit", logins)
	}
	t.Logf("3 streams on a server with MaxSessions 2: %d logins, %d channels refused and retried", logins, refusals)
}

// TestUnitHandshakeBound sets up 20 streams at once, one per connection
// (max_sessions 4), on a server whose logins take 100 ms: the server never
// sees more than maxHandshakes connections not logged in yet.
func TestUnitHandshakeBound(t *testing.T) {
	srv := newTestServer(t)
	srv.slowLogin = 100 * time.Millisecond
	p := unitParams(srv)
	p["max_sessions"] = channelsPerStream
	const n = 20
	setUpUnit(t, p, n)
	srv.mu.Lock()
	most, logins := srv.maxHandshaking, srv.logins
	srv.mu.Unlock()
	if logins != n {
		t.Errorf("%d streams with one per connection made %d logins", n, logins)
	}
	if most > maxHandshakes || most < 2 {
		t.Errorf("at most %d handshakes were in flight at once; want 2 to %d", most, maxHandshakes)
	}
	t.Logf("%d streams, %d connections: at most %d handshakes at once", n, logins, most)
}

// TestUnitNotShared: streams whose login settings differ (here the
// keepalive) do not share a connection.
func TestUnitNotShared(t *testing.T) {
	srv := newTestServer(t)
	a := setUpUnit(t, unitParams(srv), 1)[0]
	p := unitParams(srv)
	p["keepalive"] = 3 * time.Second
	b := setUpUnit(t, p, 1)[0]
	if a.client == b.client {
		t.Error("streams with different keepalives share a connection")
	}
	if logins, _ := srv.counts(); logins != 2 {
		t.Errorf("2 streams with different settings made %d logins, want 2", logins)
	}
}
