package container

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// TestEngineStartErrors: a missing program, a program that is not
// executable and a missing directory are errors of Start, gated or not,
// and leave no process.
func TestEngineStartErrors(t *testing.T) { onEngines(t, testEngineStartErrors) }

func testEngineStartErrors(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	ctx := context.Background()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "plain"), []byte("#!/bin/sh\necho ran\n"), 0o644))
	must(t, env.Send(ctx, filepath.Join(dir, "plain"), "plain"))
	type testCase struct {
		name     string
		cmd      stream.Command
		notExist bool
		words    string
	}
	tests := []testCase{
		{name: "not in PATH", cmd: stream.Command{Args: []string{"no-such-program"}}, notExist: true, words: "program no-such-program"},
		{name: "missing path", cmd: stream.Command{Args: []string{"./nope"}}, notExist: true, words: "program ./nope"},
		{name: "not executable", cmd: stream.Command{Args: []string{"./plain"}}, words: "program ./plain is not an executable file"},
		{name: "a directory", cmd: stream.Command{Args: []string{"/tmp"}}, words: "program /tmp is not an executable file"},
		{name: "missing dir", cmd: stream.Command{Args: []string{"true"}, Dir: "/no/such/dir"}, notExist: true, words: "directory /no/such/dir"},
	}
	for _, tc := range tests {
		for _, gated := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{true: "/gated"}[gated], func(t *testing.T) {
				cmd := tc.cmd
				cmd.Gated = gated
				p, err := env.Start(ctx, &cmd)
				if err == nil {
					p.Wait()
					t.Fatal("Start: no error")
				}
				if errors.Is(err, fs.ErrNotExist) != tc.notExist || !strings.Contains(err.Error(), tc.words) {
					t.Errorf("Start: %v; want %q (not exist: %v)", err, tc.words, tc.notExist)
				}
			})
		}
	}
	if n := env.procs.Len(); n != 0 {
		t.Errorf("%d processes left in the stream's set", n)
	}
}

// TestEngineStdinStreamed: the program reads what was written so far
// before the input ends.
func TestEngineStdinStreamed(t *testing.T) { onEngines(t, testEngineStdinStreamed) }

func testEngineStdinStreamed(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	for _, gated := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gated"}[gated], func(t *testing.T) {
			inR, inW := io.Pipe()
			outR, outW := io.Pipe()
			p, err := env.Start(t.Context(), &stream.Command{Args: []string{"cat"}, Stdin: inR, Stdout: outW, Gated: gated})
			must(t, err)
			if gated {
				must(t, p.Release())
			}
			lines := bufio.NewReader(outR)
			for _, msg := range []string{"ping\n", "pong\n"} {
				if _, err := inW.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				got, err := lines.ReadString('\n')
				if err != nil || got != msg {
					t.Fatalf("echo = %q, %v; want %q", got, err, msg)
				}
			}
			inW.Close()
			go io.Copy(io.Discard, lines)
			exit, err := p.Wait()
			if err != nil || !exit.Success() {
				t.Errorf("Wait = %v, %v", exit, err)
			}
		})
	}
}

// TestEngineBackgroundHoldsOutput: Wait returns within OutputWait (and a
// margin for the engine) of the program's end although a background
// process holds its stdout, and that process lives on until the stream
// closes.
func TestEngineBackgroundHoldsOutput(t *testing.T) { onEngines(t, testEngineBackgroundHoldsOutput) }

func testEngineBackgroundHoldsOutput(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	var out bytes.Buffer
	start := time.Now()
	p, err := env.Start(t.Context(), &stream.Command{
		Args:   []string{"/bin/sh", "-c", "sleep 1001 & sleep 1002 >&2 & echo done"},
		Stdout: &out,
	})
	must(t, err)
	exit, err := p.Wait()
	took := time.Since(start)
	if err != nil || !exit.Success() || out.String() != "done\n" {
		t.Fatalf("Wait = %v, %v; stdout %q", exit, err, out.String())
	}
	// The engine alone waits 2 s for the output's holders.
	if limit := stream.OutputWait + time.Second; took > limit {
		t.Errorf("Wait returned %v after Start, want under %v", took, limit)
	}
	if d := exit.Ended.Sub(exit.Started); d < 0 || d > time.Second {
		t.Errorf("Started %v, Ended %v", exit.Started, exit.Ended)
	}
	// The background processes outlive the block.
	if r := sh(t, env, "ps -o args | grep -c '^sleep 100[12]'"); r.stdout != "2\n" {
		t.Errorf("background processes after the block: %q", r.stdout)
	}
	// Signal still reaches them through the block's group.
	must(t, p.Signal(syscall.SIGKILL))
	waitFor(t, env, "! ps -o args | grep -q '^sleep 100[12]'")
}

// TestEngineSignals: any signal reaches the block's group; SIGSTOP and
// SIGCONT too.
func TestEngineSignals(t *testing.T) { onEngines(t, testEngineSignals) }

func testEngineSignals(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	outR, outW := io.Pipe()
	p, err := env.Start(t.Context(), &stream.Command{
		Args:   []string{"/bin/sh", "-c", `trap 'echo usr1' USR1; trap 'echo usr2; exit 7' USR2; echo up; while :; do sleep 0.05; done`},
		Stdout: outW,
	})
	must(t, err)
	lines := bufio.NewReader(outR)
	expect := func(want string) {
		t.Helper()
		got, err := lines.ReadString('\n')
		if err != nil || got != want+"\n" {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	expect("up")
	must(t, p.Signal(syscall.SIGUSR1))
	expect("usr1")
	must(t, p.Signal(syscall.SIGSTOP))
	waitFor(t, env, "ps -o stat,args | grep -q '^T.*trap'")
	must(t, p.Signal(syscall.SIGCONT))
	must(t, p.Signal(syscall.SIGUSR2))
	expect("usr2")
	go io.Copy(io.Discard, lines)
	exit, err := p.Wait()
	if err != nil || exit.Code != 7 {
		t.Errorf("Wait = %v, %v; want exit status 7", exit, err)
	}
}

// TestEngineSignalAtTheGate: Signal on a gated process that was not
// released closes the gate: the program never runs, and the process ends
// as killed by that signal, never started.
func TestEngineSignalAtTheGate(t *testing.T) { onEngines(t, testEngineSignalAtTheGate) }

func testEngineSignalAtTheGate(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"touch", "ran"}, Gated: true})
	must(t, err)
	must(t, p.Signal(syscall.SIGUSR1))
	exit, err := p.Wait()
	if err != nil || exit.Signal != syscall.SIGUSR1 || !exit.Started.IsZero() || exit.Ended.IsZero() {
		t.Errorf("Wait = %+v, %v; want killed by SIGUSR1, Started zero", exit, err)
	}
	if err := p.Release(); err == nil {
		t.Error("Release after the gate was closed: no error")
	}
	// The process has ended: the program can no longer run.
	if r := sh(t, env, "test -e ran && echo ran || echo no"); r.stdout != "no\n" {
		t.Errorf("the gated program ran: %q", r.stdout)
	}
}

// TestEngineReleaseErrors: Release of a process that was not gated, or
// twice, is an error.
func TestEngineReleaseErrors(t *testing.T) { onEngines(t, testEngineReleaseErrors) }

func testEngineReleaseErrors(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"true"}})
	must(t, err)
	if err := p.Release(); err == nil {
		t.Error("Release of a process that was not gated: no error")
	}
	p.Wait()
}

// TestEngineConcurrentStarts: blocks started at once on one stream all run.
func TestEngineConcurrentStarts(t *testing.T) { onEngines(t, testEngineConcurrentStarts) }

func testEngineConcurrentStarts(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	must(t, env.Setup(t.Context()))
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			p, err := env.Start(t.Context(), &stream.Command{Args: []string{"echo", itoa(i)}, Stdout: &out})
			if err != nil {
				t.Error(err)
				return
			}
			if exit, err := p.Wait(); err != nil || !exit.Success() || out.String() != itoa(i)+"\n" {
				t.Errorf("block %d: %v, %v, %q", i, exit, err, out.String())
			}
		}()
	}
	wg.Wait()
}

// TestEngineCloseStopsBlocks: Close ends the running blocks (TERM first,
// then KILL after the grace) and their Wait returns.
func TestEngineCloseStopsBlocks(t *testing.T) { onEngines(t, testEngineCloseStopsBlocks) }

func testEngineCloseStopsBlocks(t *testing.T, eng *testEngine) {
	env, err := New(stream.Config{ID: "1", Type: TypeName, Params: eng.params(nil), Grace: 200 * time.Millisecond})
	must(t, err)
	t.Cleanup(func() { env.Close() })
	ctx := t.Context()
	polite, err := env.Start(ctx, &stream.Command{Args: []string{"sleep", "1000"}})
	must(t, err)
	stubborn, err := env.Start(ctx, &stream.Command{Args: []string{"/bin/sh", "-c", "trap '' TERM; sleep 1000 & wait"}})
	must(t, err)
	must(t, env.Close())
	for _, c := range []struct {
		p   stream.Process
		sig syscall.Signal
	}{{polite, syscall.SIGTERM}, {stubborn, syscall.SIGKILL}} {
		exit, err := c.p.Wait()
		if err != nil || exit.Signal != c.sig {
			t.Errorf("Wait after Close = %v, %v; want killed by %s", exit, err, stream.SignalName(c.sig))
		}
	}
}

// TestEngineSendModes: modes are kept, read-only directories included,
// through tar in the container and through the engine's upload; an
// existing file is replaced and an existing directory merged into.
func TestEngineSendModes(t *testing.T) { onEngines(t, testEngineSendModes) }

func testEngineSendModes(t *testing.T, eng *testEngine) {
	for _, upload := range []bool{false, true} {
		t.Run(map[bool]string{false: "tar", true: "upload"}[upload], func(t *testing.T) {
			env := eng.newEnv(t, "1", nil)
			ctx := t.Context()
			must(t, env.Setup(ctx))
			env.noTar.Store(upload)
			dir := t.TempDir()
			must(t, os.MkdirAll(filepath.Join(dir, "t", "ro", "sub"), 0o755))
			must(t, os.WriteFile(filepath.Join(dir, "t", "ro", "sub", "f"), []byte("new"), 0o640))
			must(t, os.Chmod(filepath.Join(dir, "t", "ro", "sub"), 0o555))
			must(t, os.Chmod(filepath.Join(dir, "t", "ro"), 0o555))
			t.Cleanup(func() {
				os.Chmod(filepath.Join(dir, "t", "ro", "sub"), 0o755)
				os.Chmod(filepath.Join(dir, "t", "ro"), 0o755)
			})
			r := sh(t, env, "mkdir -p /streamtest/dst/ro/sub && echo old > /streamtest/dst/ro/sub/f && echo keep > /streamtest/dst/other")
			if !r.exit.Success() {
				t.Fatal(r)
			}
			must(t, env.Send(ctx, filepath.Join(dir, "t"), "dst"))
			r = sh(t, env, "cd /streamtest/dst && stat -c '%n %a' ro ro/sub ro/sub/f && cat ro/sub/f other")
			want := "ro 555\nro/sub 555\nro/sub/f 640\nnewkeep\n"
			if r.stdout != want {
				t.Errorf("got %q (stderr %q), want %q", r.stdout, r.stderr, want)
			}
			if env.noTar.Load() != upload {
				t.Errorf("noTar = %v", env.noTar.Load())
			}
		})
	}
}

// TestEngineSignalTree: Signal reaches the block's whole tree, a child in
// a session of its own included.
func TestEngineSignalTree(t *testing.T) { onEngines(t, testEngineSignalTree) }

func testEngineSignalTree(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	outR, outW := io.Pipe()
	p, err := env.Start(t.Context(), &stream.Command{
		Args:   []string{"/bin/sh", "-c", "sleep 1003 & setsid sleep 1004 & echo up; wait"},
		Stdout: outW,
	})
	must(t, err)
	if l, err := bufio.NewReader(outR).ReadString('\n'); err != nil || l != "up\n" {
		t.Fatalf("read %q, %v", l, err)
	}
	go io.Copy(io.Discard, outR)
	waitFor(t, env, "[ $(ps -o args | grep -c '^sleep 100[34]') = 2 ]")
	must(t, p.Signal(syscall.SIGUSR1))
	exit, err := p.Wait()
	if err != nil || exit.Signal != syscall.SIGUSR1 {
		t.Errorf("Wait = %v, %v; want killed by SIGUSR1", exit, err)
	}
	waitFor(t, env, "! ps -o args | grep -q '^sleep 100[34]'")
}

// TestEngineStartWithUnreadOutput: Start returns although nobody reads
// the program's stdout yet (the output shares one connection with the
// wrapper's control lines).
func TestEngineStartWithUnreadOutput(t *testing.T) { onEngines(t, testEngineStartWithUnreadOutput) }

func testEngineStartWithUnreadOutput(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	outR, outW := io.Pipe()
	p, err := env.Start(t.Context(), &stream.Command{Args: []string{"/bin/sh", "-c", "echo out; echo err >&2; exec sleep 1000"}, Stdout: outW})
	must(t, err)
	if l, err := bufio.NewReader(outR).ReadString('\n'); err != nil || l != "out\n" {
		t.Fatalf("read %q, %v", l, err)
	}
	must(t, stream.Stop(p, 0))
	if exit, err := p.Wait(); err != nil || exit.Signal != syscall.SIGKILL {
		t.Errorf("Wait = %v, %v", exit, err)
	}
}

// TestEngineStartCancelled: a Start whose context has ended fails with
// the context's error and leaves no process behind.
func TestEngineStartCancelled(t *testing.T) { onEngines(t, testEngineStartCancelled) }

func testEngineStartCancelled(t *testing.T, eng *testEngine) {
	env := eng.newEnv(t, "1", nil)
	must(t, env.Setup(t.Context()))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := env.Start(ctx, &stream.Command{Args: []string{"sleep", "1005"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a cancelled context: %v", err)
	}
	if n := env.procs.Len(); n != 0 {
		t.Errorf("%d processes left in the stream's set", n)
	}
	waitFor(t, env, "! ps -o args | grep -q '^sleep 1005'")
}
