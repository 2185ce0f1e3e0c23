package stream_test

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

func nop(stream.Config) (stream.Environment, error) { return nil, errors.New("not for running") }

func TestRegistry(t *testing.T) {
	stream.Register("regtest", nop, stream.Info{Aliases: []string{"regtest-alias"}, Params: []stream.Param{{Name: "p", Kind: stream.Int}}})
	for _, name := range []string{"regtest", "regtest-alias"} {
		r, ok := stream.Lookup(name)
		if !ok || r.Name != "regtest" {
			t.Errorf("Lookup(%q) = %v, %v; want the type regtest", name, r.Name, ok)
		}
		if _, ok := stream.Implementation(name); !ok {
			t.Errorf("Implementation(%q) not found", name)
		}
	}
	if p, ok := mustLookup(t, "regtest").Param("p"); !ok || p.Kind != stream.Int {
		t.Errorf("Param(p) = %v, %v", p, ok)
	}
	n := 0
	for _, r := range stream.Types() {
		if r.Name == "regtest" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Types lists regtest %d times, want once", n)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering an alias twice did not panic")
		}
	}()
	stream.Register("other", nop, stream.Info{Aliases: []string{"regtest-alias"}})
}

func mustLookup(t *testing.T, name string) stream.Registered {
	r, ok := stream.Lookup(name)
	if !ok {
		t.Fatalf("no type %s", name)
	}
	return r
}

func TestUnknownTypeError(t *testing.T) {
	msg := (&stream.UnknownTypeError{Name: "bogus"}).Error()
	if !strings.Contains(msg, `unknown stream type "bogus"`) || !strings.Contains(msg, "known types:") {
		t.Errorf("message %q", msg)
	}
	if _, ok := stream.Lookup("docker"); !ok {
		msg := (&stream.UnknownTypeError{Name: "docker"}).Error()
		if !strings.Contains(msg, "stream/container") {
			t.Errorf("a built-in type that is not linked should say which import is missing: %q", msg)
		}
	}
}

func TestErrorNamesTheStream(t *testing.T) {
	cause := errors.New("connection refused")
	err := error(&stream.Error{ID: "2", Type: "remote", Host: "bar.example.com", Op: "set up", Err: cause})
	if got, want := err.Error(), "stream 2 (remote, host bar.example.com): set up: connection refused"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Error("Error does not unwrap to its cause")
	}
	err = &stream.Error{ID: "db", Type: "container", Op: "start", Err: cause}
	if got := err.Error(); got != "stream db (container): start: connection refused" {
		t.Errorf("without host: %q", got)
	}
}

func TestValues(t *testing.T) {
	v := stream.Values{"s": "x", "i": 3, "b": true, "d": 2 * time.Second, "l": []string{"a"}, "m": map[string]string{"k": "v"}, "p": "rel/key"}
	got := strings.TrimSpace(fmt.Sprintln(v.String("s", ""), v.Int("i", 0), v.Bool("b", false), v.Duration("d", 0), v.Strings("l"), v.StringMap("m"),
		v.String("none", "def"), v.Int("none", 7), v.Path("p", "/base", "")))
	if want := "x 3 true 2s [a] map[k:v] def 7 /base/rel/key"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if p := stream.ResolvePath("/abs", "/base"); p != "/abs" {
		t.Errorf("absolute path changed: %q", p)
	}
	if p := stream.ResolvePath("~/k", "/base"); strings.HasPrefix(p, "/base") || !strings.HasSuffix(p, "/k") {
		t.Errorf("~ not expanded: %q", p)
	}
}

func TestValuesEnviron(t *testing.T) {
	v := stream.Values{"env": map[string]string{"B": "2", "A": "x=y", "C": ""}}
	if got, want := fmt.Sprint(v.Environ("env")), "[A=x=y B=2 C=]"; got != want {
		t.Errorf("Environ = %s, want %s (sorted by key)", got, want)
	}
	if got := v.Environ("none"); got != nil {
		t.Errorf("Environ of an absent key = %q, want nil", got)
	}
}

func TestCommandDirIn(t *testing.T) {
	for dir, want := range map[string]string{"": "/w", "sub/x": "/w/sub/x", "/tmp": "/tmp", "../etc": "/etc"} {
		cmd := &stream.Command{Dir: dir}
		if got := cmd.DirIn("/w"); got != want {
			t.Errorf("Command{Dir: %q}.DirIn(/w) = %q, want %q", dir, got, want)
		}
	}
}

// Every type and report names signals one way.
func TestSignalNames(t *testing.T) {
	for sig, want := range map[syscall.Signal]string{
		syscall.SIGKILL: "SIGKILL", syscall.SIGTERM: "SIGTERM", syscall.SIGUSR1: "SIGUSR1",
		syscall.SIGSTOP: "SIGSTOP", 34: "SIGRTMIN+0", 37: "SIGRTMIN+3", 99: "SIG99",
	} {
		if got := stream.SignalName(sig); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", int(sig), got, want)
		}
	}
	for in, want := range map[string]syscall.Signal{
		"TERM": syscall.SIGTERM, "sigusr1": syscall.SIGUSR1, "SIGKILL": syscall.SIGKILL, "9": syscall.SIGKILL,
		"SIGRTMIN+3": 37, "SIG10": syscall.SIGUSR1, "cont": syscall.SIGCONT,
	} {
		got, err := stream.ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, int(got), err, int(want))
		}
	}
	for _, bad := range []string{"", "NOPE", "0", "65", "SIGRTMIN+99"} {
		if _, err := stream.ParseSignal(bad); err == nil {
			t.Errorf("ParseSignal(%q): no error", bad)
		}
	}
	if got := (stream.Exit{Code: -1, Signal: syscall.SIGUSR2}).String(); got != "killed by SIGUSR2" {
		t.Errorf("Exit.String() = %q", got)
	}
}
