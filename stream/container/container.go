package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/stream"
)

// TypeName is the canonical name of the container stream type.
const TypeName = "container"

// DefaultImage is the image a stream uses when its parameters name none:
// the base image that `streamtest lab image` builds.
const DefaultImage = "streamtest/base:latest"

// workDir is the stream's private work directory inside its container.
const workDir = "/streamtest"

// The bounds and intervals of what the stream asks the engine for itself.
var (
	// engineTimeout bounds each call made outside a caller's context:
	// removing the container in Close, sending a signal, learning how an
	// exec ended, the reaper's removals.
	engineTimeout = 30 * time.Second
	// hostSetUpTimeout bounds the set-up that Host does before Setup.
	hostSetUpTimeout = time.Minute
	// goneSettle is how long a container whose exec was killed may still
	// look alive: the engine updates its state a moment after its execs
	// end.
	goneSettle = 500 * time.Millisecond
	// enginePoll is how often a state that the engine updates late (a
	// container's, an exec's) is looked at again.
	enginePoll = 10 * time.Millisecond
)

func init() {
	stream.Register(TypeName, New, stream.Info{
		Doc:     "a fresh container per stream, on a local or remote Docker Engine or Podman's API service",
		Aliases: []string{"docker"},
		Params: []stream.Param{
			{Name: "image", Kind: stream.String, Doc: "image to run; it must be on the engine already (no pulls) and have /bin/sh", Default: DefaultImage},
			{Name: "network", Kind: stream.String, Doc: "network to attach the container to; it must exist (with private_network: a name for the private one)", Default: "bridge"},
			{Name: "private_network", Kind: stream.Bool, Doc: "attach to a network of this test process's own, created on first use and removed with its last stream", Default: "false"},
			{Name: "hostname", Kind: stream.String, Doc: "the container's host name (also its alias on a user-defined network)"},
			{Name: "env", Kind: stream.StringMap, Doc: "environment variables of every process in the container"},
			{Name: "privileged", Kind: stream.Bool, Doc: "run the container privileged", Default: "false"},
			{Name: "cap_add", Kind: stream.Strings, Doc: "kernel capabilities to add (NET_ADMIN, SYS_PTRACE, ...)"},
			{Name: "mounts", Kind: stream.Strings, Doc: `bind mounts "src:dst[:ro]"; a relative src is relative to the parameters file`},
			{Name: "engine", Kind: stream.String, Doc: "engine endpoint: a Docker Engine (unix:///var/run/docker.sock, tcp://host:2375) or Podman's API service (unix:///run/podman/podman.sock)", Default: "DOCKER_HOST, else unix:///var/run/docker.sock"},
		},
	})
}

// Env is a container stream: one container, created by Setup and removed
// (with everything running in it) by Close.
type Env struct {
	cfg      stream.Config
	image    string
	netName  string // network param, or the private network's name
	private  bool
	hostname string
	env      []string
	priv     bool
	capAdd   []string
	mounts   []mount.Mount
	endpoint string

	procs stream.ProcessSet[*process] // the live blocks; closed by Close

	mu       sync.Mutex
	setupErr error // the result of the one Setup, once done
	setUp    bool
	eng      *engine
	id       string // container id
	name     string // container name
	ip       string
	netHeld  bool     // holds a reference on the private network
	nadm     netAdmin // NetAdmin's helper container (netadmin.go)

	gone  atomic.Bool // the container was found dead or removed from outside
	noTar atomic.Bool // the image has no tar: Send uploads through the engine
}

var _ stream.Environment = (*Env)(nil)

var (
	nameSeq  atomic.Int64
	nameSafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)
)

// New is the Factory of the container type. It checks the parameters but
// contacts no engine.
func New(cfg stream.Config) (stream.Environment, error) {
	p := cfg.Params
	e := &Env{
		cfg:      cfg,
		image:    p.String("image", DefaultImage),
		netName:  p.String("network", ""),
		private:  p.Bool("private_network", false),
		hostname: p.String("hostname", ""),
		priv:     p.Bool("privileged", false),
		capAdd:   p.Strings("cap_add"),
		endpoint: endpointName(p.String("engine", "")),
	}
	if e.cfg.Logf == nil {
		e.cfg.Logf = func(string, ...any) {}
	}
	for k, v := range p.StringMap("env") {
		e.env = append(e.env, k+"="+v)
	}
	for _, m := range p.Strings("mounts") {
		mnt, err := parseMount(m, cfg.Dir)
		if err != nil {
			return nil, err
		}
		e.mounts = append(e.mounts, mnt)
	}
	if e.private {
		name := e.netName
		if name == "" {
			name = "private"
		}
		e.netName = "streamtest-" + RunID() + "-" + nameSafe.ReplaceAllString(name, "-")
	}
	if e.netName == "" {
		e.netName = "bridge"
	}
	e.name = fmt.Sprintf("streamtest-%s-%s-%d", RunID(), nameSafe.ReplaceAllString(cfg.ID, "-"), nameSeq.Add(1))
	return e, nil
}

// parseMount checks a "src:dst[:ro]" mount and makes src absolute. It is a
// bind mount of the Mounts kind, not Binds: the engine refuses a source that
// does not exist instead of making an empty directory there.
func parseMount(m, dir string) (mount.Mount, error) {
	parts := strings.Split(m, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return mount.Mount{}, fmt.Errorf("mount %q: want src:dst or src:dst:ro", m)
	}
	if !path.IsAbs(parts[1]) {
		return mount.Mount{}, fmt.Errorf("mount %q: the destination must be an absolute path", m)
	}
	if len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw" {
		return mount.Mount{}, fmt.Errorf("mount %q: the option must be ro or rw", m)
	}
	return mount.Mount{
		Type:     mount.TypeBind,
		Source:   stream.ResolvePath(parts[0], dir),
		Target:   parts[1],
		ReadOnly: len(parts) == 3 && parts[2] == "ro",
	}, nil
}

// Error is the cause of a failure of the container or of its engine (the
// set-up, an exec, the container's death under a block): it names the
// container, its image and its engine, which a caller can act on. The
// manager adds the stream's id, type and host around it.
type Error struct {
	Container, Image, Engine string
	Err                      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("container %s (image %s, engine %s): %v", e.Container, e.Image, e.Engine, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// fail wraps err, a failure of the container or the engine, in an *Error.
func (e *Env) fail(err error) error {
	return &Error{Container: e.name, Image: e.image, Engine: e.endpoint, Err: err}
}

// failf is fail with a message.
func (e *Env) failf(format string, args ...any) error { return e.fail(fmt.Errorf(format, args...)) }

// hostLocked is Host without taking the lock.
func (e *Env) hostLocked() string {
	if e.ip != "" {
		return e.ip
	}
	return e.hostname
}

// Setup creates and starts the stream's container. It is called once; a
// second call returns the first one's result.
func (e *Env) Setup(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.setupLocked(ctx)
}

func (e *Env) setupLocked(ctx context.Context) error {
	if e.procs.Closed() {
		return stream.ErrClosed
	}
	if e.setUp {
		return e.setupErr
	}
	e.setUp = true
	e.setupErr = e.create(ctx)
	return e.setupErr
}

func (e *Env) create(ctx context.Context) error {
	if err := e.checkMounts(); err != nil {
		return e.fail(err)
	}
	eng, err := engineFor(e.endpoint)
	if err != nil {
		return e.fail(err)
	}
	if err := eng.ready(ctx); err != nil {
		return e.fail(err)
	}
	e.eng = eng
	if e.private {
		if err := acquireNetwork(ctx, eng, e.netName, e.cfg.ID); err != nil {
			return e.failf("private network %s: %w", e.netName, err)
		}
		e.netHeld = true
	}
	cfg, hc, nc := e.spec()
	created, err := eng.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: cfg, HostConfig: hc, NetworkingConfig: nc, Name: e.name,
	})
	if err != nil {
		if ctx.Err() != nil {
			// The engine may have made it after all: remove it by name.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), engineTimeout)
			_, _ = eng.cli.ContainerRemove(rctx, e.name, client.ContainerRemoveOptions{Force: true})
			cancel()
		}
		return e.fail(e.explainCreate(ctx, err))
	}
	e.id = created.ID
	if _, err := eng.cli.ContainerStart(ctx, e.id, client.ContainerStartOptions{}); err != nil {
		return e.failf("starting the container: %w", e.explainCreate(ctx, err))
	}
	res, err := eng.cli.ContainerInspect(ctx, e.id, client.ContainerInspectOptions{})
	if err != nil {
		return e.failf("inspecting the container: %w", err)
	}
	ins := res.Container
	if ins.State != nil && !ins.State.Running {
		return e.failf("the container stopped at once (exit status %d%s): does the image have /bin/sh and sleep?",
			ins.State.ExitCode, errSuffix(ins.State.Error))
	}
	e.ip = addressOf(ins, e.netName)
	e.cfg.Logf("container %s (%.12s) from image %s on %s, address %s", e.name, e.id, e.image, e.endpoint, e.hostLocked())
	return nil
}

// spec is what the stream's container is made of: its configuration, the
// host's part of it, and its network's.
func (e *Env) spec() (*container.Config, *container.HostConfig, *network.NetworkingConfig) {
	cfg := &container.Config{
		Image:    e.image,
		Hostname: e.hostname,
		Env:      e.env,
		Labels:   labels(e.cfg.ID, e.cfg.Test),
		// An idle process keeps the container up; blocks run beside it
		// through exec. The engine's init (docker-init) is PID 1 and reaps
		// orphans.
		// Without sleep the loop ends (and the set-up says why) instead
		// of spinning.
		Entrypoint: []string{"/bin/sh", "-c", mkWorkDir + "; trap 'exit 0' TERM INT; while sleep 86400 & wait $!; do :; done"},
		Cmd:        []string{},
		WorkingDir: "/",
	}
	yes := true
	hc := &container.HostConfig{
		Init:        &yes,
		Privileged:  e.priv,
		CapAdd:      e.capAdd,
		Mounts:      e.mounts,
		NetworkMode: container.NetworkMode(e.netName),
	}
	var nc *network.NetworkingConfig
	if e.hostname != "" && hc.NetworkMode.IsUserDefined() {
		nc = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			e.netName: {Aliases: []string{e.hostname}},
		}}
	}
	return cfg, hc, nc
}

// addressOf returns the container's address on network name, or else on
// any network it is on; "" when it has none.
func addressOf(ins container.InspectResponse, name string) string {
	if ins.NetworkSettings == nil {
		return ""
	}
	if ep := ins.NetworkSettings.Networks[name]; ep != nil && ep.IPAddress.IsValid() {
		return ep.IPAddress.String()
	}
	for _, ep := range ins.NetworkSettings.Networks {
		if ep != nil && ep.IPAddress.IsValid() {
			return ep.IPAddress.String()
		}
	}
	return ""
}

func errSuffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// explainCreate turns a failed ContainerCreate (or start) into a message
// that says what is missing: the image or the network. It asks the engine
// instead of reading its message, which differs between engines: Docker
// answers 404 "network X not found", Podman 500 "unable to find network
// with name or ID X: network not found".
func (e *Env) explainCreate(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if _, ierr := e.eng.cli.ImageInspect(ctx, e.image); isNotFound(ierr) {
		return fmt.Errorf("the image is not on the engine; streams never pull images: build it (`streamtest lab image` builds the streamtest images) or load it first: %w", err)
	}
	// The engine's own networks (bridge, host, none) are not looked up:
	// Podman serves "bridge" under another name.
	if container.NetworkMode(e.netName).IsUserDefined() {
		if _, nerr := e.eng.cli.NetworkInspect(ctx, e.netName, client.NetworkInspectOptions{}); isNotFound(nerr) {
			return fmt.Errorf("network %s does not exist on the engine; create it first or use private_network: %w", e.netName, err)
		}
	}
	return err
}

// checkMounts fails when the source of a bind mount does not exist on this
// machine, before anything is made on the engine. Docker refuses such a
// mount itself, but Podman makes an empty directory there; so the check is
// made here when the engine is on this machine (a unix socket), where the
// sources are this machine's paths. A remote engine decides for itself.
func (e *Env) checkMounts() error {
	if !localEngine(e.endpoint) {
		return nil
	}
	for _, m := range e.mounts {
		if _, err := os.Stat(m.Source); err != nil {
			return fmt.Errorf("bind mount to %s: %w", m.Target, err)
		}
	}
	return nil
}

// mkWorkDir is the shell command that makes the work directory. The idle
// process runs it at start, and so do the block wrapper and Send, which may
// run before it (it costs no process when the directory is there).
const mkWorkDir = "[ -d " + workDir + " ] || mkdir -p -m 0700 " + workDir

// Host is the container's address on its network, reachable from the test
// process and from the other containers on that network. Before Setup it
// sets the stream up (bounded by a minute) so that a test can write
// s.At(2).Host() before stream 2 ran anything; if that fails it returns the
// hostname parameter, and the failure is reported by the stream's first use.
func (e *Env) Host() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.setUp && !e.procs.Closed() {
		ctx, cancel := context.WithTimeout(context.Background(), hostSetUpTimeout)
		defer cancel()
		_ = e.setupLocked(ctx)
	}
	return e.hostLocked()
}

// WorkDir is the stream's private work directory inside the container.
func (e *Env) WorkDir() string { return workDir }

// ContainerID returns the id of the stream's container, "" before Setup.
func (e *Env) ContainerID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.id
}

// ready returns the engine and container id for an operation, or the
// stream's error: its set-up's, or ErrClosed.
func (e *Env) ready(ctx context.Context) (*engine, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.setupLocked(ctx); err != nil {
		return nil, "", err
	}
	if e.procs.Closed() {
		return nil, "", stream.ErrClosed
	}
	return e.eng, e.id, nil
}

// Close stops the running blocks (SIGTERM, then SIGKILL after the
// stream's grace), then removes the container, which kills everything left
// in it (the blocks' background processes, detached daemons), and, with the
// last stream that used it, the private network.
func (e *Env) Close() error {
	procs, first := e.procs.Close()
	if !first {
		return nil
	}
	e.mu.Lock()
	eng, id, netHeld := e.eng, e.id, e.netHeld
	e.mu.Unlock()
	var errs []error
	if id != "" {
		if err := stream.StopAll(procs, e.cfg.GraceOrDefault()); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range procs {
		p.closing.Store(true) // ended by the removal, if not by now
	}
	if id != "" {
		// The network helper first: see closeNetAdmin.
		if err := e.closeNetAdmin(eng); err != nil {
			errs = append(errs, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	if id != "" {
		_, err := eng.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("removing the container: %w", err))
		}
	}
	if netHeld {
		if err := releaseNetwork(ctx, eng, e.netName); err != nil {
			errs = append(errs, fmt.Errorf("removing the private network %s: %w", e.netName, err))
		}
	}
	if len(errs) > 0 {
		return e.fail(errors.Join(errs...))
	}
	return nil
}

// Private networks, shared by the streams of this process that name the
// same one, counted so that the last Close removes it.
var (
	netMu   sync.Mutex
	netRefs = map[string]int{} // by engine endpoint + "\x00" + name
)

func acquireNetwork(ctx context.Context, eng *engine, name, streamID string) error {
	netMu.Lock()
	defer netMu.Unlock()
	key := eng.endpoint + "\x00" + name
	if netRefs[key] == 0 {
		_, err := eng.cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{
			Driver: "bridge",
			Labels: labels(streamID, ""),
		})
		if err != nil && !strings.Contains(err.Error(), "already exists") {
			return err
		}
	}
	netRefs[key]++
	return nil
}

func releaseNetwork(ctx context.Context, eng *engine, name string) error {
	netMu.Lock()
	defer netMu.Unlock()
	key := eng.endpoint + "\x00" + name
	netRefs[key]--
	if netRefs[key] > 0 {
		return nil
	}
	delete(netRefs, key)
	_, err := eng.cli.NetworkRemove(ctx, name, client.NetworkRemoveOptions{})
	if err != nil && isNotFound(err) {
		return nil
	}
	return err
}

// containerState explains why an exec ended early: the container is gone
// or not running. It returns nil when the container still runs. With
// settle, it looks again for a while before it says so: the engine
// updates a killed container's state a moment after its execs end.
func (e *Env) containerState(ctx context.Context, settle time.Duration) error {
	e.mu.Lock()
	eng, id := e.eng, e.id
	e.mu.Unlock()
	if e.procs.Closed() {
		return nil
	}
	if e.gone.Load() {
		return errors.New("the container is gone (killed or removed from outside)")
	}
	deadline := time.Now().Add(settle)
	for {
		err := e.containerState1(ctx, eng, id)
		if err != nil || !time.Now().Before(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(enginePoll)
	}
}

func (e *Env) containerState1(ctx context.Context, eng *engine, id string) error {
	res, err := eng.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	ins := res.Container
	switch {
	case isNotFound(err):
		e.gone.Store(true)
		return errors.New("the container was removed (from outside)")
	case err != nil:
		return fmt.Errorf("inspecting the container: %w", err)
	case ins.State != nil && !ins.State.Running:
		e.gone.Store(true)
		why := fmt.Sprintf("exit status %d", ins.State.ExitCode)
		if ins.State.OOMKilled {
			why += ", out of memory"
		}
		if ins.State.ExitCode != 0 && ins.State.ExitCode <= 128 {
			// Not a signal's death: the idle process could not run
			// (Docker's init says 127, Podman's catatonit 1).
			why += ": does the image have /bin/sh and sleep?"
		}
		return fmt.Errorf("the container stopped (%s%s)", why, errSuffix(ins.State.Error))
	}
	return nil
}

// leftovers lists the containers of this run still on the engine; tests
// use it.
func leftovers(ctx context.Context, eng *engine) (int, error) {
	cs, err := eng.cli.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", LabelRun+"="+RunID())})
	return len(cs.Items), err
}
