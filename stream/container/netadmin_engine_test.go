package container

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/dockerlab"
	"github.com/streamtest/streamtest/stream"
)

const netAdminCrashEnv = "STREAMTEST_CONTAINER_NETADMIN_CRASH_CHILD"

// needNetAdminImage builds the helper image on eng when it is missing.
func needNetAdminImage(t testing.TB, eng *testEngine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := dockerlab.Ensure(ctx, eng.cli, io.Discard, dockerlab.NetAdminImage)
	testenv.Need(t, err == nil, "the "+NetAdminImage+" image on "+eng.name,
		"`go run ./cmd/streamtest lab image` (it needs iptables, iproute2 and dash: `apt-get install iptables iproute2 dash`); error: "+errText(err))
}

// dropScript and its undo cut the stream off from addr, in its OUTPUT
// chain.
func dropScript(addr string) (script, undo string) {
	return "iptables -w -A OUTPUT -d " + addr + " -j DROP && iptables -w -S OUTPUT",
		"iptables -w -D OUTPUT -d " + addr + " -j DROP"
}

// reaches reports whether from fetches a page that to serves (httpd on
// port 8000, see serve) within a few seconds. TCP, not ping: Podman's
// default capabilities lack NET_RAW.
func reaches(t *testing.T, from, to *Env) bool {
	t.Helper()
	r := sh(t, from, "timeout 3 wget -q -O - http://"+to.Host()+":8000/name")
	if !r.exit.Success() || r.stdout != "served\n" {
		t.Logf("from %s to %s:8000: %v, stdout %q, stderr %q", from.Host(), to.Host(), r.exit, r.stdout, strings.TrimSpace(r.stderr))
		return false
	}
	return true
}

func serve(t *testing.T, env *Env) {
	t.Helper()
	if r := sh(t, env, "mkdir -p www && echo served > www/name && httpd -p 8000 -h /streamtest/www"); !r.exit.Success() {
		t.Fatalf("starting httpd: %+v %s", r.exit, r.stderr)
	}
}

// netHelpers lists the helper containers of the stream container id.
func netHelpers(t *testing.T, eng *testEngine, id string) []string {
	t.Helper()
	cs, err := eng.cli.ContainerList(context.Background(), client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", LabelNetAdminOf+"="+id)})
	must(t, err)
	var ids []string
	for _, c := range cs.Items {
		ids = append(ids, c.ID)
	}
	return ids
}

// TestEngineNetAdmin: two streams on one network; a rule that stream 1's
// NetAdmin adds cuts it off from stream 2, and its undo lets it through
// again; Close runs the undo, then removes the helper, then the stream's
// container.
func TestEngineNetAdmin(t *testing.T) { onEngines(t, testEngineNetAdmin) }

func testEngineNetAdmin(t *testing.T, eng *testEngine) {
	needNetAdminImage(t, eng)
	ctx := t.Context()
	a := eng.newEnv(t, "1", stream.Values{"private_network": true})
	b := eng.newEnv(t, "2", stream.Values{"private_network": true})
	serve(t, b)
	if !reaches(t, a, b) {
		t.Fatal("stream 1 does not reach stream 2 before any rule")
	}
	script, undo := dropScript(b.Host())
	out, err := a.NetAdmin(ctx, script, undo)
	if err != nil {
		t.Fatalf("NetAdmin: %v", err)
	}
	if want := "-A OUTPUT -d " + b.Host() + "/32 -j DROP"; !strings.Contains(string(out), want) {
		t.Errorf("NetAdmin's stdout %q lacks %q", out, want)
	}
	if reaches(t, a, b) {
		t.Error("stream 1 reaches stream 2 through the DROP rule")
	}
	// The rule is stream 1's only: stream 2 has no rule of its own, and
	// the helper has the stream's labels.
	helpers := netHelpers(t, eng, a.ContainerID())
	if len(helpers) != 1 {
		t.Fatalf("stream 1 has %d helper containers, want 1", len(helpers))
	}
	ins, err := eng.cli.ContainerInspect(ctx, helpers[0], client.ContainerInspectOptions{})
	must(t, err)
	for _, k := range []string{LabelRun, LabelOwnerPID, LabelOwnerStart, LabelOwnerHost, LabelStream, LabelTest} {
		if got, want := ins.Container.Config.Labels[k], labels(a.cfg.ID, a.cfg.Test)[k]; got != want {
			t.Errorf("helper label %s = %q, want %q", k, got, want)
		}
	}

	// The undo, run by hand: through again. A later call reuses the helper.
	if _, err := a.NetAdmin(ctx, undo, ""); err != nil {
		t.Fatalf("NetAdmin(undo): %v", err)
	}
	if !reaches(t, a, b) {
		t.Error("stream 1 does not reach stream 2 after the undo")
	}
	if h := netHelpers(t, eng, a.ContainerID()); len(h) != 1 || h[0] != helpers[0] {
		t.Errorf("helpers after a second call: %v, want %v", h, helpers)
	}

	// Close's part: the latest undo runs, the helper goes, before the
	// stream's container (which still runs here, to show the undo ran).
	if _, err := a.NetAdmin(ctx, script, undo); err != nil {
		t.Fatalf("NetAdmin again: %v", err)
	}
	if reaches(t, a, b) {
		t.Fatal("stream 1 reaches stream 2 through the DROP rule, the second time")
	}
	must(t, a.closeNetAdmin(a.eng))
	if !reaches(t, a, b) {
		t.Error("stream 1 does not reach stream 2 after Close's undo")
	}
	if h := netHelpers(t, eng, a.ContainerID()); len(h) != 0 {
		t.Errorf("helpers left after Close's undo: %v", h)
	}
	id := a.ContainerID()
	must(t, a.Close())
	if _, err := eng.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); !isNotFound(err) {
		t.Errorf("stream 1's container is still there after Close: %v", err)
	}
	if _, err := a.NetAdmin(ctx, "true", ""); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("NetAdmin after Close = %v, want ErrClosed", err)
	}
}

// TestEngineNetAdminClose: Close alone removes the helper and the stream's
// container, even when the undo fails (the failure is logged, not
// returned: the container's removal takes the rules).
func TestEngineNetAdminClose(t *testing.T) { onEngines(t, testEngineNetAdminClose) }

func testEngineNetAdminClose(t *testing.T, eng *testEngine) {
	needNetAdminImage(t, eng)
	ctx := t.Context()
	var logged strings.Builder
	env, err := New(stream.Config{ID: "1", Type: TypeName, Params: eng.params(nil), Test: t.Name(),
		Logf: func(f string, args ...any) { fmt.Fprintf(&logged, f+"\n", args...) }})
	must(t, err)
	a := env.(*Env)
	t.Cleanup(func() { a.Close() })
	if _, err := a.NetAdmin(ctx, "iptables -w -N STCLOSE", "echo undo-failed >&2; exit 4"); err != nil {
		t.Fatalf("NetAdmin: %v", err)
	}
	id := a.ContainerID()
	helpers := netHelpers(t, eng, id)
	if len(helpers) != 1 {
		t.Fatalf("%d helper containers, want 1", len(helpers))
	}
	start := time.Now()
	if err := a.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	t.Logf("Close with a helper took %v", time.Since(start).Round(time.Millisecond))
	for _, c := range []string{helpers[0], id} {
		if _, err := eng.cli.ContainerInspect(ctx, c, client.ContainerInspectOptions{}); !isNotFound(err) {
			t.Errorf("container %.12s is still there after Close: %v", c, err)
		}
	}
	if !strings.Contains(logged.String(), "undo-failed") || !strings.Contains(logged.String(), "status 4") {
		t.Errorf("the failed undo is not in the log:\n%s", logged.String())
	}
}

// TestEngineNetAdminScriptFails: a script that exits non-zero is an error
// with its exit status and its standard error, bounded.
func TestEngineNetAdminScriptFails(t *testing.T) { onEngines(t, testEngineNetAdminScriptFails) }

func testEngineNetAdminScriptFails(t *testing.T, eng *testEngine) {
	needNetAdminImage(t, eng)
	ctx := t.Context()
	a := eng.newEnv(t, "1", nil)
	_, err := a.NetAdmin(ctx, "echo to-stdout; echo 'no such rule here' >&2; exit 3", "")
	var se *NetScriptError
	if !errors.As(err, &se) || se.Status != 3 || se.Stderr != "no such rule here" {
		t.Fatalf("err = %v, want a *NetScriptError with status 3 and its stderr", err)
	}
	checkError(t, err, "status 3", "no such rule here", a.name)
	// A tool's own failure, as the manager's scripts would see it.
	_, err = a.NetAdmin(ctx, "iptables -w -D OUTPUT -d 192.0.2.1 -j DROP", "")
	checkError(t, err, "status 1", "iptables")
	// A long stderr is quoted by its start and its end.
	_, err = a.NetAdmin(ctx, "echo first; i=0; while [ $i -lt 5000 ]; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; echo last >&2; exit 2", "")
	if err == nil {
		t.Fatal("a failing script succeeded")
	}
	// stdout, not stderr, is long here: the quote is short.
	checkError(t, err, "status 2", "last")
	_, err = a.NetAdmin(ctx, "echo first >&2; i=0; while [ $i -lt 5000 ]; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx >&2; i=$((i+1)); done; echo last >&2; exit 2", "")
	checkError(t, err, "status 2", "first", "last", "bytes ...]")
	if n := len(err.Error()); n > netAdminStderrQuote+1024 {
		t.Errorf("the error of a script with 230 KB of stderr is %d bytes long", n)
	}
	// The stream still works, and so does its helper.
	if out, err := a.NetAdmin(ctx, "echo ok", ""); err != nil || string(out) != "ok\n" {
		t.Errorf("NetAdmin after failures = %q, %v", out, err)
	}
}

// TestEngineNetAdminImageMissing: without the helper image, NetAdmin says
// what is missing and how to get it, and leaves no helper container.
func TestEngineNetAdminImageMissing(t *testing.T) { onEngines(t, testEngineNetAdminImageMissing) }

func testEngineNetAdminImageMissing(t *testing.T, eng *testEngine) {
	saved := netAdminImage
	netAdminImage = "streamtest/netadmin-test-missing:latest"
	t.Cleanup(func() { netAdminImage = saved })
	a := eng.newEnv(t, "1", nil)
	_, err := a.NetAdmin(t.Context(), "true", "")
	var ne *stream.NetAdminError
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v, want a *stream.NetAdminError", err)
	}
	if ne.Missing != "the streamtest/netadmin-test-missing image" || ne.Fix != "go run ./cmd/streamtest lab image" {
		t.Errorf("Missing %q, Fix %q", ne.Missing, ne.Fix)
	}
	checkError(t, err, "streamtest/netadmin-test-missing", "lab image", a.name)
	if h := netHelpers(t, eng, a.ContainerID()); len(h) != 0 {
		t.Errorf("helper containers left: %v", h)
	}
}

// TestEngineNetAdminHelperRemovedFromOutside: a helper removed from
// outside is replaced by the next call.
func TestEngineNetAdminHelperRemovedFromOutside(t *testing.T) {
	onEngines(t, testEngineNetAdminHelperRemovedFromOutside)
}

func testEngineNetAdminHelperRemovedFromOutside(t *testing.T, eng *testEngine) {
	needNetAdminImage(t, eng)
	ctx := t.Context()
	a := eng.newEnv(t, "1", nil)
	if _, err := a.NetAdmin(ctx, "true", ""); err != nil {
		t.Fatal(err)
	}
	h := netHelpers(t, eng, a.ContainerID())
	if len(h) != 1 {
		t.Fatalf("%d helpers, want 1", len(h))
	}
	_, err := eng.cli.ContainerRemove(ctx, h[0], client.ContainerRemoveOptions{Force: true})
	must(t, err)
	if out, err := a.NetAdmin(ctx, "echo again", ""); err != nil || string(out) != "again\n" {
		t.Fatalf("NetAdmin after the helper's removal = %q, %v", out, err)
	}
	if h2 := netHelpers(t, eng, a.ContainerID()); len(h2) != 1 || h2[0] == h[0] {
		t.Errorf("helpers after the removal: %v (the removed one: %.12s)", h2, h[0])
	}
}

// TestEngineNetAdminReaper runs a nested test binary whose stream 1 cuts
// itself off from stream 2 (a chain with a marker name, a DROP rule), kills
// it with SIGKILL, and checks that the reaper removes both streams'
// containers and the helper, and that stream 1's network namespace, with
// its rules, is gone from the machine: no process in it, no mount of it.
// The rules were never the test machine's: its own iptables has no chain
// of that name.
func TestEngineNetAdminReaper(t *testing.T) { onEngines(t, testEngineNetAdminReaper) }

func testEngineNetAdminReaper(t *testing.T, eng *testEngine) {
	testenv.NeedRoot(t, "reading the network namespaces of the engine's processes")
	needNetAdminImage(t, eng)
	cli := eng.cli
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), netAdminCrashEnv+"=1", "DOCKER_HOST="+eng.endpoint)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var run, chain, id string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "RUN" {
			run, chain, id = f[1], f[2], f[3]
			break
		}
	}
	if run == "" {
		t.Fatal("the child did not report its run")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	ctx := context.Background()
	f := make(client.Filters).Add("label", LabelRun+"="+run)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	must(t, err)
	if len(cs.Items) != 3 {
		t.Fatalf("the child's run %s has %d containers, want 3 (two streams, one helper)", run, len(cs.Items))
	}
	ins, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	must(t, err)
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", ins.Container.State.Pid))
	if err != nil {
		t.Fatalf("stream 1's network namespace: %v", err)
	}
	if !netnsInUse(ns) {
		t.Fatalf("stream 1's network namespace %s is not found while it runs", ns)
	}
	if hostHasChain(t, chain) {
		t.Fatalf("the test machine's own iptables has the chain %s of stream 1", chain)
	}
	must(t, cmd.Process.Signal(os.Kill))
	killed := time.Now()
	_ = cmd.Wait()
	for {
		cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
		must(t, err)
		inUse := netnsInUse(ns)
		if len(cs.Items) == 0 && !inUse {
			t.Logf("run %s: containers and network namespace %s gone %v after SIGKILL", run, ns, time.Since(killed).Round(time.Millisecond))
			break
		}
		if time.Since(killed) > 15*time.Second {
			Sweep(ctx, cli, LabelRun+"="+run)
			t.Fatalf("15 s after SIGKILL: %d containers of run %s are left; network namespace %s in use: %v", len(cs.Items), run, ns, inUse)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if hostHasChain(t, chain) {
		t.Errorf("the test machine's own iptables has the chain %s after the reaper", chain)
	}
}

// netnsInUse reports whether a process of this machine is in the network
// namespace ns ("net:[INODE]"), or a mount (the engine's handle on it)
// holds it.
func netnsInUse(ns string) bool {
	links, _ := filepath.Glob("/proc/[0-9]*/ns/net")
	for _, l := range links {
		if t, err := os.Readlink(l); err == nil && t == ns {
			return true
		}
	}
	for _, p := range []string{"/proc/self/mountinfo", "/proc/1/mountinfo"} {
		if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), ns) {
			return true
		}
	}
	return false
}

// hostHasChain reports whether the test machine's own iptables (filter
// table) has chain; false when the machine has no iptables.
func hostHasChain(t *testing.T, chain string) bool {
	t.Helper()
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Log("no iptables on the test machine: its own rules are not looked at")
		return false
	}
	out, err := exec.Command("iptables", "-w", "-S").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -S on the test machine: %v: %s", err, out)
	}
	return strings.Contains(string(out), chain)
}

// netAdminCrashChild is the test binary re-executed by
// TestEngineNetAdminReaper (TestMain dispatches it): stream 1 cuts itself
// off from stream 2, then the child waits to be killed.
func netAdminCrashChild() int {
	ctx := context.Background()
	var envs []*Env
	for _, id := range []string{"1", "2"} {
		env, err := New(stream.Config{ID: id, Type: TypeName, Params: stream.Values{"private_network": true}})
		if err == nil {
			err = env.Setup(ctx)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "netadmin crash child:", err)
			return 1
		}
		envs = append(envs, env.(*Env))
	}
	chain := "ST" + strings.ToUpper(RunID()[:8])
	script := fmt.Sprintf("iptables -w -N %[1]s && iptables -w -A %[1]s -d %[2]s -j DROP && iptables -w -I OUTPUT 1 -j %[1]s", chain, envs[1].Host())
	undo := fmt.Sprintf("iptables -w -D OUTPUT -j %[1]s; iptables -w -F %[1]s; iptables -w -X %[1]s", chain)
	if _, err := envs[0].NetAdmin(ctx, script, undo); err != nil {
		fmt.Fprintln(os.Stderr, "netadmin crash child:", err)
		return 1
	}
	fmt.Printf("RUN %s %s %s\n", RunID(), chain, envs[0].ContainerID())
	time.Sleep(time.Hour) // until SIGKILL
	return 0
}

// BenchmarkNetAdmin is the time of a NetAdmin call (`iptables -w -S
// OUTPUT`): the first one on a stream that is set up (it creates and
// starts the helper container), a later one (an exec in the helper), and a
// later one of `true`.
func BenchmarkNetAdmin(b *testing.B) { benchEngines(b, benchmarkNetAdmin) }

func benchmarkNetAdmin(b *testing.B, eng *testEngine) {
	needNetAdminImage(b, eng)
	ctx := context.Background()
	const script = "iptables -w -S OUTPUT"
	newEnv := func(b *testing.B) *Env {
		env, err := New(stream.Config{ID: "bench", Type: TypeName, Params: eng.params(nil), Logf: func(string, ...any) {}})
		if err != nil {
			b.Fatal(err)
		}
		if err := env.Setup(ctx); err != nil {
			b.Fatal(err)
		}
		return env.(*Env)
	}
	b.Run("first", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			env := newEnv(b)
			b.StartTimer()
			if _, err := env.NetAdmin(ctx, script, ""); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := env.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	// A later call, and one of `true`: the exec's own cost.
	for _, later := range []struct{ name, script string }{{"later", script}, {"later-true", "true"}} {
		b.Run(later.name, func(b *testing.B) {
			env := newEnv(b)
			defer env.Close()
			if _, err := env.NetAdmin(ctx, later.script, ""); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := env.NetAdmin(ctx, later.script, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEngineNetAdminNoneNetwork: a stream on the network "none" (its
// loopback only) can be faulted: the rules apply, though there is no peer
// to cut off.
func TestEngineNetAdminNoneNetwork(t *testing.T) { onEngines(t, testEngineNetAdminNoneNetwork) }

func testEngineNetAdminNoneNetwork(t *testing.T, eng *testEngine) {
	needNetAdminImage(t, eng)
	a := eng.newEnv(t, "1", stream.Values{"network": "none"})
	out, err := a.NetAdmin(t.Context(), "iptables -w -A OUTPUT -o lo -j DROP && iptables -w -S OUTPUT && ip -o link show | grep -c .", "")
	if err != nil {
		t.Fatalf("NetAdmin on network none: %v", err)
	}
	if s := string(out); !strings.Contains(s, "-A OUTPUT -o lo -j DROP") || !strings.HasSuffix(s, "\n1\n") {
		t.Errorf("NetAdmin's stdout %q: want the rule, and one interface (lo)", s)
	}
}
