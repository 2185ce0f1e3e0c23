package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/internal/cli/base"
	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/local"
	_ "github.com/streamtest/streamtest/stream/remote"
)

func TestParseOn(t *testing.T) {
	type testCase struct {
		on      string
		want    []string
		wantErr bool
	}
	cases := []testCase{
		{on: "1", want: []string{"1"}},
		{on: "1,3-4,db", want: []string{"1", "3", "4", "db"}},
		{on: "2-2,2", want: []string{"2"}},
		{on: "web-1", want: []string{"web-1"}},
		{on: "4-3", wantErr: true},
		{on: "0-2", wantErr: true},
		{on: "1,,2", wantErr: true},
		{on: "@etcd,1,@etcd", want: []string{"@etcd", "1"}},
		{on: "@", wantErr: true},
		{on: "@a b", wantErr: true},
	}
	run := func(t *testing.T, tc testCase) {
		got, err := parseOn(tc.on)
		if tc.wantErr != (err != nil) {
			t.Fatalf("err = %v, want error %v", err, tc.wantErr)
		}
		if !tc.wantErr && !slices.Equal(got, tc.want) {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	for _, tc := range cases {
		t.Run(tc.on, func(t *testing.T) { run(t, tc) })
	}
}

func TestParse(t *testing.T) {
	o, err := Parse([]string{"-p", "a.yaml", "--inventory", "hosts", "--on", "1-2", "--sync", "--timeout", "3s", "--", "echo", "-n", "hi"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.On != "1-2" || !o.Sync || o.Timeout != 3*time.Second || strings.Join(o.Command, " ") != "echo -n hi" || o.Params[0] != "a.yaml" || o.Strict != nil ||
		!slices.Equal(o.Inventories, []string{"hosts"}) {
		t.Errorf("options = %+v", o)
	}
	for _, args := range [][]string{
		{},                            // no command
		{"--on", "3-1", "--", "true"}, // bad range
		{"--timeout", "x", "true"},    // bad duration
		{"--nope", "--", "true"},      // unknown flag
	} {
		if _, err := Parse(args, &bytes.Buffer{}); !errors.Is(err, base.ErrUsage) {
			t.Errorf("Parse(%q) = %v, want a usage error", args, err)
		}
	}
}

// options returns Options on a parameters file holding yaml.
func options(t *testing.T, yaml string, strict bool, o Options) *Options {
	t.Helper()
	f := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	o.Params = []string{f}
	o.Strict = &strict
	if o.On == "" {
		o.On = "all"
	}
	return &o
}

const three = "streams:\n  - 1: {type: local}\n  - 2: {type: local}\n  - db: {type: local}\n"

func TestExec(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o := options(t, three, false, Options{On: "all", Grace: time.Second, Command: []string{"sh", "-c", `echo "out $STREAMTEST_X"; echo err >&2; printf partial; [ "$(basename "$PWD")" != x ]`}})
	results, err := Exec(context.Background(), o, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 {
		t.Fatalf("%d results, want 3", len(results))
	}
	for _, r := range results {
		if !r.OK() || r.Type != "local" {
			t.Errorf("stream %s: %s (%s)", r.ID, r.Status(), r.Type)
		}
	}
	for _, want := range []string{"1:  out \n", "2:  out \n", "db: out \n", "db: partial\n"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}
	if !strings.Contains(stderr.String(), "db: err\n") {
		t.Errorf("stderr lacks the prefixed line:\n%s", &stderr)
	}
	var sum bytes.Buffer
	PrintSummary(&sum, results)
	if !strings.Contains(sum.String(), "3 of 3 streams succeeded") {
		t.Errorf("summary:\n%s", &sum)
	}
}

// --on picks named groups with @, from a groups: list or an inventory.
func TestExecOnGroups(t *testing.T) {
	inv := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(inv, []byte("[web]\nw1 ansible_host=192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	params := "streams:\n  - 1: {type: local, groups: [db]}\n  - 2: {type: local}\n  - db: {type: local, groups: [db, etcd]}\n"
	var stdout, stderr bytes.Buffer
	o := options(t, params, false, Options{On: "2,@db", Grace: time.Second, Inventories: []string{inv}, Command: []string{"true"}})
	results, err := Exec(context.Background(), o, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range results {
		ids = append(ids, r.ID)
		if !r.OK() {
			t.Errorf("stream %s: %s", r.ID, r.Status())
		}
	}
	if want := []string{"2", "1", "db"}; !slices.Equal(ids, want) {
		t.Errorf("ran on %v, want %v", ids, want)
	}

	stderr.Reset()
	o = options(t, params, false, Options{On: "1,@dbs", Grace: time.Second, Inventories: []string{inv}, Command: []string{"true"}})
	results, err = Exec(context.Background(), o, &stdout, &stderr)
	if want := `--on @dbs: no such group; known groups: db, etcd, web`; results != nil || err == nil || err.Error() != want {
		t.Errorf("Exec on an unknown group = %v, %v; want the error %q", results, err, want)
	}
	if strings.Contains(stderr.String(), "dbs") {
		t.Errorf("the error is also logged:\n%s", &stderr)
	}
}

func TestExecSyncAndTimeout(t *testing.T) {
	var out bytes.Buffer
	o := options(t, three, false, Options{On: "1-2", Sync: true, SyncTimeout: 30 * time.Second, Timeout: 300 * time.Millisecond, Grace: time.Second,
		Command: []string{"sleep", "30"}})
	start := time.Now()
	results, err := Exec(context.Background(), o, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s, want the timeout to stop the streams", d)
	}
	for _, r := range results {
		if r.OK() || r.Stopped != streamtest.TimedOut || !strings.HasPrefix(r.Status(), "timed out") {
			t.Errorf("stream %s: %s, want timed out", r.ID, r.Status())
		}
	}
}

func TestExecSyncAllOrNothing(t *testing.T) {
	var out bytes.Buffer
	o := options(t, three, true, Options{On: "1,9", Sync: true, SyncTimeout: 30 * time.Second, Grace: time.Second, Command: []string{"echo", "ran"}}) // strict: stream 9 is undefined
	results, err := Exec(context.Background(), o, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "ran") {
		t.Errorf("a stream ran although the group could not start:\n%s", &out)
	}
	if results[0].OK() || !strings.Contains(results[0].Status(), "stream 9 did not get ready") {
		t.Errorf("stream 1: %s", results[0].Status())
	}
	if !strings.Contains(results[1].Status(), "strict") {
		t.Errorf("stream 9: %s", results[1].Status())
	}
}

func TestExecInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Interrupt once the command runs on all three streams.
	out := &cancelAfter{n: 3, word: "started", cancel: cancel}
	start := time.Now()
	results, err := Exec(ctx, options(t, three, false, Options{On: "all", Grace: time.Second, Command: []string{"sh", "-c", "echo started; exec sleep 30"}}), out, out)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s after the interrupt", d)
	}
	for _, r := range results {
		if r.OK() || r.Stopped != streamtest.TestEnded || !strings.HasPrefix(r.Status(), "interrupted, killed by SIGTERM") {
			t.Errorf("stream %s: %s, want interrupted", r.ID, r.Status())
		}
	}
}

// cancelAfter calls cancel once word was written n times.
type cancelAfter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	n      int
	word   string
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Count(c.buf.String(), c.word) >= c.n {
		c.cancel()
	}
	return len(p), nil
}

// closedPort returns a local TCP port that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// unreachable is a remote stream named unreach whose host refuses the
// connection at once.
func unreachable(t *testing.T) string {
	return fmt.Sprintf("  - unreach: {type: remote, host: 127.0.0.1, port: %d, user: nobody, password: x, insecure_ignore_host_key: true, connect_timeout: 5s}\n", closedPort(t))
}

func TestExecErrorNamesTheStreamOnce(t *testing.T) {
	var out bytes.Buffer
	o := options(t, "streams:\n  - 1: {type: local}\n"+unreachable(t), false, Options{On: "1,unreach", Grace: time.Second, Command: []string{"true"}})
	results, err := Exec(context.Background(), o, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !results[0].OK() {
		t.Errorf("stream 1: %s", results[0].Status())
	}
	got := results[1].Status()
	const head = "error: stream unreach (remote, host 127.0.0.1): set up: "
	if !strings.HasPrefix(got, head) || strings.Count(got, "stream unreach") != 1 || strings.Count(got, "set up") != 1 {
		t.Errorf("status of the unreachable stream:\n%s\nwant it to start with %q and name the stream and the operation once", got, head)
	}
	var se *stream.Error
	if !errors.As(results[1].Err, &se) || se.ID != "unreach" || se.Type != "remote" {
		t.Errorf("error %#v is not the stream's *stream.Error", results[1].Err)
	}
	var sum bytes.Buffer
	PrintSummary(&sum, results)
	if strings.Count(sum.String(), "stream unreach") != 1 {
		t.Errorf("summary repeats the prefix:\n%s", &sum)
	}
}

// registerSlowSetup registers, once, "slowsetup": a local stream whose
// Setup takes slowSetup.
var registerSlowSetup = sync.OnceFunc(func() {
	stream.Register("slowsetup", func(cfg stream.Config) (stream.Environment, error) {
		env, err := local.New(cfg)
		return slowSetupEnv{env}, err
	}, stream.Info{Doc: "a local stream whose set-up takes a second, for tests"})
})

const slowSetup = time.Second

type slowSetupEnv struct{ stream.Environment }

func (e slowSetupEnv) Setup(ctx context.Context) error {
	select {
	case <-time.After(slowSetup):
	case <-ctx.Done():
		return ctx.Err()
	}
	return e.Environment.Setup(ctx)
}

func TestExecDurationsAreEachStreamsOwn(t *testing.T) {
	registerSlowSetup()
	yaml := "streams:\n  - 1: {type: local}\n  - slow: {type: slowsetup}\n" + unreachable(t)
	var out bytes.Buffer
	o := options(t, yaml, false, Options{On: "1,slow,unreach", Grace: time.Second, Command: []string{"sh", "-c", "exit 0"}})
	results, err := Exec(context.Background(), o, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Result{}
	for _, r := range results {
		byID[r.ID] = r
	}
	if d := byID["1"].Duration(); !byID["1"].OK() || d >= slowSetup/2 {
		t.Errorf("stream 1: %s in %v, want a success well under %v: the slow set-up of another stream is not its own", byID["1"].Status(), d, slowSetup)
	}
	if d := byID["slow"].Duration(); !byID["slow"].OK() || d < slowSetup {
		t.Errorf("stream slow: %s in %v, want a success taking at least its set-up, %v", byID["slow"].Status(), d, slowSetup)
	}
	bad := byID["unreach"]
	if bad.Err == nil || bad.Duration() <= 0 || bad.Duration() >= slowSetup {
		t.Errorf("stream unreach: %s in %v, want an error with its own non-zero duration", bad.Status(), bad.Duration())
	}
}

func TestExecSlowCommandDurationIsItsOwn(t *testing.T) {
	var out bytes.Buffer
	// Exactly one stream makes the claim directory and sleeps a second.
	claim := filepath.Join(t.TempDir(), "claim")
	o := options(t, three, false, Options{On: "1,2", Grace: time.Second,
		Command: []string{"sh", "-c", `if mkdir "$0" 2>/dev/null; then sleep 1; fi`, claim}})
	results, err := Exec(context.Background(), o, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	var slow, fast []time.Duration
	for _, r := range results {
		if !r.OK() {
			t.Errorf("stream %s: %s", r.ID, r.Status())
		}
		if d := r.Duration(); d >= time.Second {
			slow = append(slow, d)
		} else if d < 500*time.Millisecond {
			fast = append(fast, d)
		}
	}
	if len(slow) != 1 || len(fast) != 1 {
		t.Errorf("durations: slow %v, fast %v; want one stream of about 1s (sleep 1) and one well under", slow, fast)
	}
}
