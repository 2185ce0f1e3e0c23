package conformance_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/streamtest/streamtest/stream"
)

// The suite must fail a type that breaks the contract. TestSuiteCatches
// runs TestLocal in a child process (this test binary, dispatched by
// TestMain) on local streams broken one way, and checks that the subtest
// for that point fails.

const (
	faultEnv    = "CONFORMANCE_FAULT"     // the fault the child injects
	faultRunEnv = "CONFORMANCE_FAULT_RUN" // the child's -test.run
)

// fault is the fault TestLocal injects: set by TestMain in a child of
// TestSuiteCatches, "" otherwise.
var fault string

func TestMain(m *testing.M) {
	if f := os.Getenv(faultEnv); f != "" {
		fault = f
		flag.Parse()
		flag.Set("test.run", os.Getenv(faultRunEnv))
	}
	os.Exit(m.Run())
}

// faults maps each fault to the subtest that must catch it.
var faults = []struct{ fault, caughtBy string }{
	{"gate-ignored", "gate/parked-until-release"},
	{"env-on-command-line", "env/not-on-command-line"},
	{"stdin-read-first", "stdin/streamed"},
	{"missing-program-exits-127", "start/missing-program"},
	{"every-signal-kills", "signal/tree"},
	{"started-when-ended", "exit/status"},
	{"errors-with-prefix", "errors/no-prefix"},
}

func TestSuiteCatches(t *testing.T) {
	for _, f := range faults {
		t.Run(f.fault, func(t *testing.T) {
			t.Parallel()
			run := "^TestLocal$/^" + strings.ReplaceAll(regexp.QuoteMeta(f.caughtBy), "/", "$/^") + "$"
			// A fault that is a race (a gate that lets the program run at
			// once: the program may still be slow to start on a busy
			// machine, and look parked) is caught when any of a few runs
			// catches it; the others are caught on the first.
			var out []byte
			var err error
			for range 3 {
				cmd := exec.Command(os.Args[0], "-test.v", "-test.count=1", "-test.timeout=2m")
				cmd.Env = append(os.Environ(), faultEnv+"="+f.fault, faultRunEnv+"="+run)
				out, err = cmd.CombinedOutput()
				if err != nil && strings.Contains(string(out), "--- FAIL: TestLocal/"+f.caughtBy+" ") {
					return
				}
			}
			t.Errorf("with the fault %s, %s did not fail in 3 runs (%v):\n%s", f.fault, f.caughtBy, err, out)
		})
	}
}

// faulty wraps open so that its Environments have the fault f.
func faulty(open func(*testing.T) stream.Environment, f string) func(*testing.T) stream.Environment {
	return func(t *testing.T) stream.Environment { return faultyEnv{open(t), f} }
}

type faultyEnv struct {
	stream.Environment
	fault string
}

func (e faultyEnv) Start(ctx context.Context, cmd *stream.Command) (stream.Process, error) {
	c := *cmd
	switch e.fault {
	case "gate-ignored":
		if c.Gated {
			c.Gated = false
			p, err := e.Environment.Start(ctx, &c)
			if err != nil {
				return nil, err
			}
			return ungated{p}, nil
		}
	case "env-on-command-line":
		if len(c.Env) > 0 {
			c.Args = append(append([]string{"/bin/sh", "-c", `while [ "$1" != -- ]; do export "$1"; shift; done; shift; "$@"; r=$?; exit $r`, "sh"}, c.Env...), append([]string{"--"}, c.Args...)...)
			c.Env = nil
		}
	case "stdin-read-first":
		if c.Stdin != nil {
			b, err := io.ReadAll(c.Stdin)
			if err != nil {
				return nil, err
			}
			c.Stdin = bytes.NewReader(b)
		}
	case "missing-program-exits-127":
		p, err := e.Environment.Start(ctx, &c)
		if err != nil {
			return e.Environment.Start(ctx, &stream.Command{Args: []string{"/bin/sh", "-c", "exit 127"}, Stdout: c.Stdout, Stderr: c.Stderr})
		}
		return p, nil
	case "every-signal-kills":
		p, err := e.Environment.Start(ctx, &c)
		if err != nil {
			return nil, err
		}
		return killer{p}, nil
	case "started-when-ended":
		p, err := e.Environment.Start(ctx, &c)
		if err != nil {
			return nil, err
		}
		return lateStart{p}, nil
	case "errors-with-prefix":
		p, err := e.Environment.Start(ctx, &c)
		if err != nil {
			return nil, &stream.Error{ID: "conformance", Type: "local", Op: "start", Err: err}
		}
		return p, nil
	}
	return e.Environment.Start(ctx, &c)
}

// ungated is a process that was started at once; Release does nothing.
type ungated struct{ stream.Process }

func (ungated) Release() error { return nil }

// killer sends SIGKILL whatever the signal asked for.
type killer struct{ stream.Process }

func (k killer) Signal(syscall.Signal) error { return k.Process.Signal(syscall.SIGKILL) }

// lateStart says the process started when it ended.
type lateStart struct{ stream.Process }

func (l lateStart) Wait() (stream.Exit, error) {
	x, err := l.Process.Wait()
	x.Started = x.Ended
	return x, err
}
