package container

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/dockerlab"
	"github.com/streamtest/streamtest/stream"
)

// podmanEnv names the endpoint of Podman's API service for the engine
// tests; scripts/up.d/35-podman.sh starts one and sets it.
const podmanEnv = "STREAMTEST_PODMAN"

// engineSpec is an engine the engine tests run on, and what to do when it
// is not there.
type engineSpec struct {
	name     string // the subtest's name
	endpoint string // "" when not configured
	what     string // what is missing, for testenv.Need
	howto    string
}

// engineSpecs are the engines the engine tests run on, each as a subtest of
// every test: the Docker Engine that DOCKER_HOST names (else the default
// socket), and Podman's API service that STREAMTEST_PODMAN names.
func engineSpecs() []engineSpec {
	return []engineSpec{
		{name: "docker", endpoint: endpointName(""), what: "a Docker Engine with the streamtest base image",
			howto: "start dockerd (or set DOCKER_HOST) and run `streamtest lab image`"},
		{name: "podman", endpoint: os.Getenv(podmanEnv), what: "Podman's API service (" + podmanEnv + ") with the streamtest base image",
			howto: "`bash scripts/setup.d/35-podman.sh && bash scripts/up.d/35-podman.sh` starts it and prints the " + podmanEnv + " to set; make test does it"},
	}
}

// testEngine is an engine that answered, with a client of its own.
type testEngine struct {
	name     string
	endpoint string
	cli      *client.Client
}

// onEngines runs f as a subtest on each engine of engineSpecs; an engine
// that is not there skips its subtest (fails it in CI).
func onEngines(t *testing.T, f func(t *testing.T, eng *testEngine)) {
	t.Helper()
	for _, spec := range engineSpecs() {
		t.Run(spec.name, func(t *testing.T) { f(t, needEngine(t, spec)) })
	}
}

var (
	enginesReadyMu sync.Mutex
	enginesReady   = map[string]error{} // by endpoint: the first check's result
)

// needEngine skips (fails in CI) unless the engine of spec answers, and
// makes sure the base image is there (building it from this machine's
// busybox when missing). It checks each engine once per test binary.
func needEngine(t testing.TB, spec engineSpec) *testEngine {
	t.Helper()
	err := errors.New("no endpoint: " + podmanEnv + " is not set")
	if spec.endpoint != "" {
		enginesReadyMu.Lock()
		var checked bool
		err, checked = enginesReady[spec.endpoint]
		if !checked {
			err = checkEngine(spec.endpoint)
			enginesReady[spec.endpoint] = err
		}
		enginesReadyMu.Unlock()
	}
	testenv.Need(t, err == nil, spec.what, spec.howto+"; error: "+errText(err))
	cli, err := client.New(client.FromEnv, client.WithHost(spec.endpoint))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return &testEngine{name: spec.name, endpoint: spec.endpoint, cli: cli}
}

// checkEngine pings the engine at endpoint and builds the base image there
// when it is missing.
func checkEngine(endpoint string) error {
	cli, err := client.New(client.FromEnv, client.WithHost(endpoint))
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return err
	}
	return dockerlab.Ensure(ctx, cli, io.Discard, dockerlab.BaseImage)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// params returns a copy of params that names the engine.
func (eng *testEngine) params(params stream.Values) stream.Values {
	c := stream.Values{"engine": eng.endpoint}
	for k, v := range params {
		c[k] = v
	}
	return c
}

// newEnv makes a container stream on the engine with params, closed at the
// end of t.
func (eng *testEngine) newEnv(t *testing.T, id string, params stream.Values) *Env {
	t.Helper()
	env, err := New(stream.Config{ID: id, Type: TypeName, Params: eng.params(params), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return env.(*Env)
}

type result struct {
	exit           stream.Exit
	stdout, stderr string
}

// run runs argv on env to its end.
func run(t *testing.T, env stream.Environment, stdin string, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := &stream.Command{Args: argv, Stdout: &out, Stderr: &errb}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	p, err := env.Start(ctx, cmd)
	if err != nil {
		t.Fatalf("Start %q: %v", argv, err)
	}
	exit, err := p.Wait()
	if err != nil {
		t.Fatalf("Wait %q: %v", argv, err)
	}
	return result{exit, out.String(), errb.String()}
}

func sh(t *testing.T, env stream.Environment, script string) result {
	t.Helper()
	return run(t, env, "", "/bin/sh", "-c", script)
}

func TestEngineRunBlocks(t *testing.T) { onEngines(t, testEngineRunBlocks) }

func testEngineRunBlocks(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	type testCase struct {
		name           string
		argv           []string
		stdin          string
		code           int
		signal         string
		stdout, stderr string
	}
	tests := []testCase{
		{name: "output", argv: []string{"/bin/sh", "-c", "echo out; echo err >&2"}, stdout: "out\n", stderr: "err\n"},
		{name: "exit status", argv: []string{"/bin/sh", "-c", "exit 3"}, code: 3},
		{name: "killed", argv: []string{"/bin/sh", "-c", "kill -KILL $$"}, code: -1, signal: "KILL"},
		{name: "stdin", argv: []string{"cat"}, stdin: "hello\nworld\n", stdout: "hello\nworld\n"},
		{name: "no shell", argv: []string{"echo", "a  b", "$HOME"}, stdout: "a  b $HOME\n"},
		{name: "work dir", argv: []string{"/bin/sh", "-c", "pwd; stat -c %a ."}, stdout: "/streamtest\n700\n"},
		{name: "exit 127 is a status", argv: []string{"/bin/sh", "-c", "exit 127"}, code: 127},
		{name: "USR1", argv: []string{"/bin/sh", "-c", "kill -USR1 $$"}, code: -1, signal: "USR1"},
		{name: "stderr without newline", argv: []string{"/bin/sh", "-c", "printf x >&2"}, stderr: "x"},
	}
	run1 := func(t *testing.T, tc testCase) {
		r := run(t, env, tc.stdin, tc.argv...)
		if r.exit.Code != tc.code || stream.SignalName(r.exit.Signal) != "SIG"+tc.signal && !(tc.signal == "" && r.exit.Signal == 0) {
			t.Errorf("exit = %+v, want code %d signal %q (stderr %q)", r.exit, tc.code, tc.signal, r.stderr)
		}
		if tc.stdout != "" && r.stdout != tc.stdout {
			t.Errorf("stdout = %q, want %q", r.stdout, tc.stdout)
		}
		if tc.stderr != "" && r.stderr != tc.stderr {
			t.Errorf("stderr = %q, want %q", r.stderr, tc.stderr)
		}
		if r.exit.Started.IsZero() || r.exit.Ended.Before(r.exit.Started) {
			t.Errorf("times: started %v ended %v", r.exit.Started, r.exit.Ended)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run1(t, tc) })
	}
}

func TestEngineEnvDirAndParams(t *testing.T) { onEngines(t, testEngineEnvDirAndParams) }

func testEngineEnvDirAndParams(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "p", stream.Values{
		"hostname": "box",
		"env":      map[string]string{"FROM_PARAMS": "yes"},
		"cap_add":  []string{"NET_ADMIN"},
	})
	ctx := context.Background()
	for _, gated := range []bool{false, true} {
		_, err := env.Start(ctx, &stream.Command{Args: []string{"true"}, Dir: "sub", Gated: gated})
		// sub does not exist yet.
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "directory /streamtest/sub") {
			t.Errorf("Start in a missing directory (gated %v): %v", gated, err)
		}
	}
	if err := env.Send(ctx, t.TempDir(), "sub"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p, err := env.Start(ctx, &stream.Command{
		Args:   []string{"/bin/sh", "-c", `echo "$FROM_PARAMS $FROM_CMD $(hostname) $(pwd)"; ip link set lo mtu 60000 && echo netadmin`},
		Env:    []string{"FROM_CMD=too"},
		Dir:    "sub",
		Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "yes too box /streamtest/sub\nnetadmin\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestEngineSend(t *testing.T) { onEngines(t, testEngineSend) }

func testEngineSend(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "a", "b"), 0o750))
	must(t, os.WriteFile(filepath.Join(dir, "a", "run.sh"), []byte("#!/bin/sh\necho ran\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "a", "b", "data"), []byte("data"), 0o600))
	must(t, os.Symlink("run.sh", filepath.Join(dir, "a", "link")))
	ctx := context.Background()
	must(t, env.Send(ctx, filepath.Join(dir, "a"), "x/y"))
	must(t, env.Send(ctx, filepath.Join(dir, "a", "b", "data"), "/opt/one/data"))
	r := sh(t, env, `cd x/y && stat -c '%n %a' run.sh b b/data && ./run.sh && readlink link && cat /opt/one/data && stat -c %a /streamtest`)
	want := "run.sh 755\nb 750\nb/data 600\nran\nrun.sh\ndata700\n"
	if r.stdout != want || !r.exit.Success() {
		t.Errorf("got %q (%+v, stderr %q), want %q", r.stdout, r.exit, r.stderr, want)
	}
}

func TestEngineGatedStart(t *testing.T) { onEngines(t, testEngineGatedStart) }

func testEngineGatedStart(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	ctx := context.Background()
	var out bytes.Buffer
	p, err := env.Start(ctx, &stream.Command{
		Args:   []string{"/bin/sh", "-c", "touch ran; cat"},
		Stdin:  strings.NewReader("input"),
		Stdout: &out,
		Gated:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Parked: the program has not run.
	if r := sh(t, env, "test -e ran && echo ran || echo parked"); r.stdout != "parked\n" {
		t.Fatalf("before Release: %q", r.stdout)
	}
	released := time.Now()
	must(t, p.Release())
	if err := p.Release(); err == nil {
		t.Error("second Release: no error")
	}
	exit, err := p.Wait()
	if err != nil || !exit.Success() || out.String() != "input" {
		t.Fatalf("Wait = %+v, %v; stdout %q", exit, err, out.String())
	}
	if exit.Started.Before(released) || exit.Started.Sub(released) > 5*time.Second {
		t.Errorf("Started %v, released %v", exit.Started, released)
	}
	t.Logf("gate to started: %v", exit.Started.Sub(released))
}

func TestEngineStop(t *testing.T) { onEngines(t, testEngineStop) }

func testEngineStop(t *testing.T, eng *testEngine) {
	env1 := eng.newEnv(t, "1", nil)
	var env stream.Environment = env1
	ctx := context.Background()
	type testCase struct {
		name   string
		script string
		grace  time.Duration
		signal string
	}
	tests := []testCase{
		{name: "term", script: "sleep 300 & sleep 301; wait", grace: 5 * time.Second, signal: "TERM"},
		{name: "kill at once", script: "sleep 302 & sleep 303; wait", grace: 0, signal: "KILL"},
		{name: "term ignored", script: "trap '' TERM; sleep 304 & sleep 305; wait", grace: 300 * time.Millisecond, signal: "KILL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := env.Start(ctx, &stream.Command{Args: []string{"/bin/sh", "-c", tc.script}})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, env, "ps -o args | grep -q '^sleep 30'")
			must(t, stream.Stop(p, tc.grace))
			exit, err := p.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if stream.SignalName(exit.Signal) != "SIG"+tc.signal {
				t.Errorf("exit = %+v, want signal %s", exit, tc.signal)
			}
			// The whole tree is gone, the background sleep too.
			if r := sh(t, env, "ps -o args | grep '^sleep 30' || echo none"); r.stdout != "none\n" {
				t.Errorf("left running: %q", r.stdout)
			}
			must(t, stream.Stop(p, time.Second)) // after the end: no error
		})
	}
	t.Run("at the gate", func(t *testing.T) {
		p, err := env.Start(ctx, &stream.Command{Args: []string{"touch", "never"}, Gated: true})
		if err != nil {
			t.Fatal(err)
		}
		must(t, stream.Stop(p, time.Second))
		exit, err := p.Wait()
		if err != nil || exit.Signal != syscall.SIGTERM || !exit.Started.IsZero() {
			t.Errorf("Wait = %+v, %v; want killed by SIGTERM, never started", exit, err)
		}
		if r := sh(t, env, "test -e never && echo ran || echo no"); r.stdout != "no\n" {
			t.Errorf("the gated program ran: %q", r.stdout)
		}
	})
}

// waitFor polls until script succeeds on env.
func waitFor(t *testing.T, env stream.Environment, script string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if sh(t, env, script).exit.Success() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%q never succeeded", script)
}

func TestEngineCloseRemovesEverything(t *testing.T) { onEngines(t, testEngineCloseRemovesEverything) }

func testEngineCloseRemovesEverything(t *testing.T, eng *testEngine) {
	cli := eng.cli
	env := eng.newEnv(t, "1", stream.Values{"private_network": true})
	ctx := context.Background()
	// It ignores SIGTERM: Close kills it after the grace.
	p, err := env.Start(ctx, &stream.Command{Args: []string{"/bin/sh", "-c", "trap '' TERM; sleep 100 & wait"}})
	if err != nil {
		t.Fatal(err)
	}
	id := env.ContainerID()
	start := time.Now()
	must(t, env.Close())
	exit, err := p.Wait()
	if err != nil || exit.Signal != syscall.SIGKILL {
		t.Errorf("Wait after Close = %+v, %v; want KILL", exit, err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Close took %v", d)
	}
	if _, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); !isNotFound(err) {
		t.Errorf("container %s still there: %v", id, err)
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("name", env.netName)})
	if err != nil || len(ns.Items) != 0 {
		t.Errorf("private network still there: %v %v", ns.Items, err)
	}
	must(t, env.Close()) // twice: fine
	if _, err := env.Start(ctx, &stream.Command{Args: []string{"true"}}); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Start after Close: %v, want ErrClosed", err)
	}
	if err := env.Send(ctx, t.TempDir(), "x"); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	if err := env.Setup(ctx); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Setup after Close: %v, want ErrClosed", err)
	}
}

func TestEngineInterCommunication(t *testing.T) { onEngines(t, testEngineInterCommunication) }

// testEngineInterCommunication: each stream serves its name over HTTP
// (busybox httpd) and the other fetches it at its Host, and by its hostname
// on a private network; the test process fetches it too. No ping: it needs
// NET_RAW, which Podman's default capabilities lack.
func testEngineInterCommunication(t *testing.T, eng *testEngine) {
	type testCase struct {
		name   string
		params stream.Values
		byName bool
	}
	tests := []testCase{
		{name: "default bridge", params: stream.Values{}},
		{name: "private network", params: stream.Values{"private_network": true}, byName: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p1, p2 := copyValues(tc.params), copyValues(tc.params)
			p1["hostname"], p2["hostname"] = "one", "two"
			a, b := eng.newEnv(t, "1", p1), eng.newEnv(t, "2", p2)
			if a.Host() == "" || b.Host() == "" || a.Host() == b.Host() {
				t.Fatalf("hosts %q %q", a.Host(), b.Host())
			}
			for _, env := range []*Env{a, b} {
				// httpd listens before it goes to the background.
				if r := sh(t, env, "mkdir -p www && hostname > www/name && httpd -p 8000 -h /streamtest/www"); !r.exit.Success() {
					t.Fatalf("starting httpd: %+v %s", r.exit, r.stderr)
				}
			}
			fetch := func(from *Env, host, want string) {
				t.Helper()
				r := sh(t, from, "timeout 10 wget -q -O - http://"+host+":8000/name")
				if !r.exit.Success() || r.stdout != want+"\n" {
					t.Errorf("fetching from %s: %+v %q %s", host, r.exit, r.stdout, r.stderr)
				}
			}
			fetch(a, b.Host(), "two")
			fetch(b, a.Host(), "one")
			if tc.byName {
				fetch(a, "two", "two")
			}
			// The test process reaches them too.
			hc := &http.Client{Timeout: 5 * time.Second}
			resp, err := hc.Get("http://" + net.JoinHostPort(a.Host(), "8000") + "/name")
			if err != nil {
				t.Fatalf("from the test process: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != "one\n" {
				t.Errorf("from the test process: %q, %v", body, err)
			}
		})
	}
}

func copyValues(v stream.Values) stream.Values {
	c := stream.Values{}
	for k, x := range v {
		c[k] = x
	}
	return c
}

// checkError checks that err is a cause of the container type (an *Error
// naming the container), without the stream's prefix, whose message
// contains every one of words.
func checkError(t *testing.T, err error, words ...string) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a container *Error", err, err)
	}
	var se *stream.Error
	if errors.As(err, &se) || strings.HasPrefix(err.Error(), "stream ") || strings.Count(err.Error(), "container streamtest-") != 1 {
		t.Errorf("error %q has the stream's prefix, or repeats its own", err)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	t.Logf("error: %v", err)
}

func TestEngineFaults(t *testing.T) { onEngines(t, testEngineFaults) }

func testEngineFaults(t *testing.T, eng *testEngine) {
	ctx := context.Background()
	type testCase struct {
		name   string
		params stream.Values
		words  []string
	}
	tests := []testCase{
		{name: "engine socket missing", params: stream.Values{"engine": "unix:///nonexistent/docker.sock"},
			words: []string{"cannot reach the Docker Engine", "unix:///nonexistent/docker.sock", "image " + DefaultImage}},
		{name: "engine port closed", params: stream.Values{"engine": "tcp://127.0.0.1:1"},
			words: []string{"cannot reach the Docker Engine", "tcp://127.0.0.1:1"}},
		{name: "image missing", params: stream.Values{"image": "streamtest/no-such-image:latest"},
			words: []string{"the image is not on the engine", "image streamtest/no-such-image:latest", "streamtest lab image"}},
		{name: "network missing", params: stream.Values{"network": "streamtest-no-such-network"},
			words: []string{"network streamtest-no-such-network does not exist"}},
	}
	// Another stream, set up before, is not disturbed by the failures.
	other := eng.newEnv(t, "ok", nil)
	must(t, other.Setup(ctx))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := eng.newEnv(t, "bad", tc.params)
			start := time.Now()
			err := env.Setup(ctx)
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("Setup failed after %v", d)
			}
			checkError(t, err, tc.words...)
			// Later uses report the same failure.
			_, err2 := env.Start(ctx, &stream.Command{Args: []string{"true"}})
			checkError(t, err2, tc.words[0])
			if r := sh(t, other, "echo fine"); r.stdout != "fine\n" {
				t.Errorf("other stream: %+v", r)
			}
		})
	}
}

func TestEngineKilledFromOutside(t *testing.T) { onEngines(t, testEngineKilledFromOutside) }

func testEngineKilledFromOutside(t *testing.T, eng *testEngine) {
	cli := eng.cli
	ctx := context.Background()
	victim := eng.newEnv(t, "victim", nil)
	other := eng.newEnv(t, "other", nil)
	must(t, other.Setup(ctx))
	for _, how := range []string{"kill", "remove"} {
		t.Run(how, func(t *testing.T) {
			victim := victim
			if how == "remove" {
				victim = eng.newEnv(t, "victim", nil)
			}
			p, err := victim.Start(ctx, &stream.Command{Args: []string{"sleep", "100"}})
			if err != nil {
				t.Fatal(err)
			}
			op, err := other.Start(ctx, &stream.Command{Args: []string{"sleep", "2"}})
			if err != nil {
				t.Fatal(err)
			}
			if how == "kill" {
				_, err := cli.ContainerKill(ctx, victim.ContainerID(), client.ContainerKillOptions{Signal: "KILL"})
				must(t, err)
			} else {
				_, err := cli.ContainerRemove(ctx, victim.ContainerID(), client.ContainerRemoveOptions{Force: true})
				must(t, err)
			}
			start := time.Now()
			_, err = p.Wait()
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("Wait returned after %v", d)
			}
			// A removed container is seen stopped or gone, as the
			// engine's timing has it.
			checkError(t, err, "while the block ran", "image "+DefaultImage)
			// The next block on the dead stream fails the same way, quickly.
			_, err = victim.Start(ctx, &stream.Command{Args: []string{"true"}})
			checkError(t, err, "container")
			if exit, err := op.Wait(); err != nil || !exit.Success() {
				t.Errorf("other stream: %+v, %v", exit, err)
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// privileged is not tested: an engine that itself runs in a sandbox (as on
// the project's machines) may refuse it ("unable to apply caps").
func TestEngineMounts(t *testing.T) { onEngines(t, testEngineMounts) }

func testEngineMounts(t *testing.T, eng *testEngine) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "file"), []byte("from the host"), 0o644))
	env, err := New(stream.Config{ID: "m", Type: TypeName, Dir: filepath.Dir(dir), Logf: t.Logf, Params: eng.params(stream.Values{
		"mounts": []string{filepath.Base(dir) + ":/data:ro", dir + ":/rw"},
	})})
	must(t, err)
	t.Cleanup(func() { env.Close() })
	r := sh(t, env, "cat /data/file; echo; touch /data/x 2>/dev/null && echo writable; touch /rw/y && echo rw")
	if r.stdout != "from the host\nrw\n" {
		t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "y")); err != nil {
		t.Errorf("the write through the rw mount is not on the host: %v", err)
	}
}

// TestEngineMountSourceMissing: a mount whose source does not exist fails
// the set-up, naming it, and nothing is made on the host.
func TestEngineMountSourceMissing(t *testing.T) { onEngines(t, testEngineMountSourceMissing) }

func testEngineMountSourceMissing(t *testing.T, eng *testEngine) {
	missing := filepath.Join(t.TempDir(), "missing")
	env, err := New(stream.Config{ID: "m", Type: TypeName, Logf: t.Logf, Params: eng.params(stream.Values{"mounts": []string{missing + ":/data"}})})
	must(t, err)
	t.Cleanup(func() { env.Close() })
	err = env.Setup(t.Context())
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Setup = %v, want an error naming %s", err, missing)
	}
	t.Log(err)
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the engine made the missing mount source on the host: %v", err)
	}
}

// TestEngineImageWithoutShell: an image without /bin/sh fails the set-up
// with a message that names the image, instead of hanging.
func TestEngineImageWithoutShell(t *testing.T) { onEngines(t, testEngineImageWithoutShell) }

func testEngineImageWithoutShell(t *testing.T, eng *testEngine) {
	cli := eng.cli
	ctx := context.Background()
	const name = "streamtest/test-noshell:latest"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	df := "FROM scratch\nCOPY hello /hello\n"
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df))})
	tw.Write([]byte(df))
	tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: 2})
	tw.Write([]byte("hi"))
	tw.Close()
	resp, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{name}, Remove: true})
	must(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	t.Cleanup(func() {
		cli.ImageRemove(context.Background(), name, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	env := eng.newEnv(t, "noshell", stream.Values{"image": name})
	start := time.Now()
	err = env.Setup(ctx)
	if err == nil {
		// The engine said "running" before its init found no shell: the
		// first block says it instead.
		_, err = env.Start(ctx, &stream.Command{Args: []string{"true"}})
	}
	checkError(t, err, "image "+name, "/bin/sh")
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("Setup failed after %v", d)
	}
}
