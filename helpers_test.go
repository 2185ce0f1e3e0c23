package streamtest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/local"
)

var sprintf = fmt.Sprintf

var (
	slowMu    sync.Mutex
	slowGates = map[string]chan struct{}{}
)

// registerSlow registers (once per name) a stream type that is a local
// stream whose Setup waits until the gate of that name is closed or its
// context ends.
func registerSlow(t *testing.T, name string, gate chan struct{}) {
	t.Helper()
	slowMu.Lock()
	defer slowMu.Unlock()
	if _, ok := slowGates[name]; !ok {
		stream.Register(name, func(cfg stream.Config) (stream.Environment, error) {
			env, err := local.New(cfg)
			if err != nil {
				return nil, err
			}
			slowMu.Lock()
			g := slowGates[name]
			slowMu.Unlock()
			return slowEnv{env, g}, nil
		}, stream.Info{Doc: "a local stream with a slow set-up, for tests"})
	}
	slowGates[name] = gate
}

type slowEnv struct {
	stream.Environment
	gate chan struct{}
}

func (e slowEnv) Setup(ctx context.Context) error {
	select {
	case <-e.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return e.Environment.Setup(ctx)
}

func (e slowEnv) Host() string { return "" }
