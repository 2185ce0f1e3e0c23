package streamtest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/stream"
)

var (
	wrappingOnce sync.Once
	gotGraceMu   sync.Mutex
	gotGrace     time.Duration
)

// registerWrapping registers "selfwrapping": a type whose Setup fails with
// an error it wrapped in *stream.Error itself, as the old types did, and
// that remembers the grace its factory got.
func registerWrapping() {
	wrappingOnce.Do(func() {
		stream.Register("selfwrapping", func(cfg stream.Config) (stream.Environment, error) {
			gotGraceMu.Lock()
			gotGrace = cfg.Grace
			gotGraceMu.Unlock()
			return wrappingEnv{cfg: cfg}, nil
		}, stream.Info{Doc: "a type that fails its set-up, for tests"})
	})
}

type wrappingEnv struct {
	stream.Environment
	cfg stream.Config
}

func (e wrappingEnv) Setup(context.Context) error {
	return &stream.Error{ID: e.cfg.ID, Type: e.cfg.Type, Host: "h1", Op: "set up", Err: errors.New("cannot connect")}
}
func (e wrappingEnv) Host() string { return "h1" }
func (e wrappingEnv) Close() error { return nil }

func TestErrorsNameTheStreamOnce(t *testing.T) {
	registerWrapping()
	p := writeParams(t, "streams:\n  - 1: {type: selfwrapping}\n")
	s := streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.ParamsFile(p), streamtest.Strict(), streamtest.KillGrace(1234*time.Millisecond))

	err := s.At(1).TryRun(code.Exec("true"), streamtest.Wait())
	const want = "stream 1 (selfwrapping, host h1): set up: cannot connect"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	gotGraceMu.Lock()
	g := gotGrace
	gotGraceMu.Unlock()
	if g != 1234*time.Millisecond {
		t.Errorf("the factory got Config.Grace %v, want the KillGrace 1.234s", g)
	}

	err = s.At(2).TryRun(code.Exec("true"), streamtest.Wait()) // not defined, strict
	if err == nil || !strings.HasPrefix(err.Error(), "stream 2 (type unresolved): configure: ") || strings.Contains(err.Error(), "?") {
		t.Errorf("err = %v, want it to say the type could not be resolved", err)
	}
	var se *stream.Error
	if !errors.As(err, &se) || se.ID != "2" {
		t.Errorf("err %#v is not stream 2's *stream.Error", err)
	}
}
