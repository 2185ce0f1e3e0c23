package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// defaultEndpoint names the engine when neither the engine parameter nor
// DOCKER_HOST says which.
const defaultEndpoint = "unix:///var/run/docker.sock"

// pingTimeout bounds the first contact with an engine, so that an endpoint
// that does not answer fails a stream's set-up in bounded time.
var pingTimeout = 10 * time.Second

// engine is one Docker Engine endpoint, shared by every stream of this
// process that names it: one client (and so one connection pool), one
// start-up sweep.
type engine struct {
	endpoint string // as given, or the default
	cli      *client.Client

	once    sync.Once
	pingErr error
}

var (
	enginesMu sync.Mutex
	engines   = map[string]*engine{}
)

// endpointName is the endpoint a stream with the engine parameter p uses.
func endpointName(p string) string {
	if p != "" {
		return p
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return defaultEndpoint
}

// engineFor returns the shared engine for endpoint (see endpointName),
// creating its client. It does not contact the engine.
func engineFor(endpoint string) (*engine, error) {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e, ok := engines[endpoint]; ok {
		return e, nil
	}
	cli, err := client.New(client.FromEnv, client.WithHost(endpoint))
	if err != nil {
		return nil, fmt.Errorf("making a client: %w", err)
	}
	e := &engine{endpoint: endpoint, cli: cli}
	engines[endpoint] = e
	return e, nil
}

// ready pings the engine once (negotiating the API version), sweeps the
// leftovers of dead test processes and registers the engine with the reaper.
// A failed ping is remembered: every stream on that engine reports it.
func (e *engine) ready(ctx context.Context) error {
	e.once.Do(func() {
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		defer cancel()
		if _, err := e.cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
			e.pingErr = e.unreachable(err)
			return
		}
		sweepDead(pctx, e.cli)
	})
	if e.pingErr != nil {
		// Let a later stream try again: the engine may have been started
		// since. Only this caller and those already waiting see the error.
		err := e.pingErr
		enginesMu.Lock()
		if engines[e.endpoint] == e {
			delete(engines, e.endpoint)
		}
		enginesMu.Unlock()
		return err
	}
	return watchEngine(e.endpoint)
}

// unreachable words an error of the first contact with the engine.
func (e *engine) unreachable(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the Docker Engine did not answer within %v: %w", pingTimeout, err)
	}
	return fmt.Errorf("cannot reach the Docker Engine (set the engine parameter or DOCKER_HOST): %w", err)
}

// localEngine reports whether endpoint is an engine on this machine: a
// unix socket.
func localEngine(endpoint string) bool { return strings.HasPrefix(endpoint, "unix://") }

// isNotFound reports whether err is the engine's "no such object".
func isNotFound(err error) bool {
	return cerrdefs.IsNotFound(err)
}
