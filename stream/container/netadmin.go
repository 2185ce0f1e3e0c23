package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/stream"
)

// NetAdminImage is the image of the helper container that NetAdmin runs
// network scripts in: busybox, dash, iptables (nf_tables) and iproute2's ip
// and tc. `streamtest lab image` builds it (package lab/dockerlab).
const NetAdminImage = "streamtest/netadmin:latest"

// LabelNetAdminOf marks a network helper container; its value is the id of
// the stream's container whose network namespace the helper shares. The
// helper carries the stream's other labels too, so that the reaper and the
// start-up sweep remove it with the stream's container.
const LabelNetAdminOf = "dev.streamtest.netadmin-of"

// The helper's image and the bounds of NetAdmin's own work.
var (
	// netAdminImage is NetAdminImage; tests replace it.
	netAdminImage = NetAdminImage
	// netAdminUndoTimeout bounds the undo script that Close runs.
	netAdminUndoTimeout = 10 * time.Second
	// netAdminOutputMax bounds a script's standard output; more is an
	// error.
	netAdminOutputMax = 4 << 20
	// netAdminStderrQuote bounds the part of a failed script's standard
	// error that its error quotes (the first and last half of it).
	netAdminStderrQuote = 2048
)

// netAdminCaps are the helper's capabilities beyond the engine's default
// set: NET_ADMIN for iptables' nf_tables backend (netlink) and tc.
// NET_RAW, which iptables' legacy backend would need, is not added: the
// image's iptables is nf_tables.
var netAdminCaps = []string{"NET_ADMIN"}

// netAdmin is the state of a stream's network helper container.
type netAdmin struct {
	// closing is cancelled by Close, before it takes mu: a script still
	// running is cut short, so that Close does not wait for it.
	closing context.Context
	cancel  context.CancelFunc

	mu     sync.Mutex // held through a NetAdmin call and through Close
	closed bool
	id     string // the helper's container id, "" before the first call
	undo   string // the latest undo script
}

func (n *netAdmin) init() {
	if n.closing == nil {
		n.closing, n.cancel = context.WithCancel(context.Background())
	}
}

var _ stream.NetAdmin = (*Env)(nil)

// NetAdmin runs script (POSIX sh, as root) in the stream's network
// namespace and returns its standard output; it implements
// stream.NetAdmin. The first call sets the stream up if needed and starts
// a helper container from NetAdminImage that shares the stream's network
// namespace (network mode "container:ID") with CAP_NET_ADMIN, running
// only sleep; every script is an exec of /bin/sh -c in it. The stream's
// own container keeps its capabilities: its blocks cannot change the rules
// unless the stream's parameters give them NET_ADMIN.
//
// undo replaces the undo script of an earlier call ("" forgets it); it is
// taken before the script runs, so that a script that fails half-way is
// undone too. Close runs the latest undo, then removes the helper, then the
// stream's container.
//
// A stream on the network "host" cannot be faulted (its rules would be the
// test machine's): the error wraps errors.ErrUnsupported. A stream on
// "none" can (it has only its loopback, so there is nothing to cut off).
// A missing helper image is a *stream.NetAdminError.
func (e *Env) NetAdmin(ctx context.Context, script, undo string) ([]byte, error) {
	if container.NetworkMode(e.netName).IsHost() {
		return nil, e.fail(fmt.Errorf("network %q is the test machine's own network: its rules cannot be changed for one stream: %w",
			e.netName, errors.ErrUnsupported))
	}
	eng, id, err := e.ready(ctx)
	if err != nil {
		return nil, err
	}
	n := e.netAdmin()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.closing.Err() != nil {
		return nil, stream.ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(n.closing, cancel)
	defer stop()
	n.undo = undo
	if n.id == "" {
		hid, err := e.startNetHelper(ctx, eng, id)
		if err != nil {
			return nil, err
		}
		n.id = hid
	}
	out, err := e.netExec(ctx, eng, n.id, script)
	if err != nil && errors.Is(err, errHelperGone) {
		// Removed or killed from outside: start another one, once.
		e.removeNetHelper(eng, n.id)
		n.id = ""
		hid, serr := e.startNetHelper(ctx, eng, id)
		if serr != nil {
			return nil, serr
		}
		n.id = hid
		out, err = e.netExec(ctx, eng, n.id, script)
		if errors.Is(err, errHelperGone) {
			err = e.fail(err)
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// netAdmin returns the stream's helper state, made on first use.
func (e *Env) netAdmin() *netAdmin {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nadm.init()
	return &e.nadm
}

// netHelperName is the helper's container name: the stream's, with a
// suffix.
func (e *Env) netHelperName() string { return e.name + "-netadmin" }

// startNetHelper creates and starts the helper container in the network
// namespace of container id, and returns the helper's id.
func (e *Env) startNetHelper(ctx context.Context, eng *engine, id string) (string, error) {
	l := labels(e.cfg.ID, e.cfg.Test)
	l[LabelNetAdminOf] = id
	yes := true
	name := e.netHelperName()
	created, err := eng.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image:      netAdminImage,
			User:       "0",
			Env:        []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
			Labels:     l,
			Entrypoint: []string{"/bin/sleep", "2147483647"},
			Cmd:        []string{},
			WorkingDir: "/",
		},
		HostConfig: &container.HostConfig{
			Init:        &yes, // reaps what a script leaves in the background
			NetworkMode: container.NetworkMode("container:" + id),
			CapAdd:      netAdminCaps,
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			// The engine may have made it after all: remove it by name.
			e.removeNetHelper(eng, name)
		}
		return "", e.netHelperCreateErr(ctx, eng, err)
	}
	if _, err := eng.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		e.removeNetHelper(eng, created.ID)
		return "", e.failf("starting the network helper %s (image %s) in the stream's network namespace: %w", name, netAdminImage, err)
	}
	e.cfg.Logf("network helper %s (%.12s) from image %s, in the network namespace of %.12s", name, created.ID, netAdminImage, id)
	return created.ID, nil
}

// netHelperCreateErr words a failed ContainerCreate of the helper: a
// missing image is a *stream.NetAdminError.
func (e *Env) netHelperCreateErr(ctx context.Context, eng *engine, err error) error {
	if ctx.Err() == nil {
		if _, ierr := eng.cli.ImageInspect(ctx, netAdminImage); isNotFound(ierr) {
			return e.fail(&stream.NetAdminError{
				Missing: "the " + strings.TrimSuffix(netAdminImage, ":latest") + " image",
				Fix:     "go run ./cmd/streamtest lab image",
				Err:     fmt.Errorf("image %s is not on engine %s; streams never pull images: %w", netAdminImage, eng.endpoint, err),
			})
		}
	}
	return e.failf("creating the network helper %s (image %s): %w", e.netHelperName(), netAdminImage, err)
}

// errHelperGone is the cause when the helper container is no longer
// there or no longer runs.
var errHelperGone = errors.New("the network helper container is gone")

// netExec runs script in the helper hid as root and returns its standard
// output; a non-zero exit is an error that quotes its standard error.
func (e *Env) netExec(ctx context.Context, eng *engine, hid, script string) ([]byte, error) {
	created, err := eng.cli.ExecCreate(ctx, hid, client.ExecCreateOptions{
		User:         "0",
		AttachStdout: true,
		AttachStderr: true,
		Cmd:          []string{"/bin/sh", "-c", script},
		WorkingDir:   "/",
	})
	if err != nil {
		return nil, e.netExecErr(ctx, eng, hid, err)
	}
	hj, err := eng.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, e.netExecErr(ctx, eng, hid, err)
	}
	defer hj.Close()
	// The attach does not follow ctx once it is made: close it on ctx's
	// end. The script may run on in the helper; Close removes it.
	stop := context.AfterFunc(ctx, hj.Close)
	defer stop()
	stdout := &boundedBuffer{max: netAdminOutputMax}
	stderr := &boundedBuffer{max: netAdminOutputMax}
	if _, err := stdcopy.StdCopy(stdout, stderr, hj.Reader); err != nil {
		if ctx.Err() != nil {
			return nil, e.failf("network script: %w", ctx.Err())
		}
		return nil, e.failf("network script: reading its output: %w", err)
	}
	status, err := execStatus(ctx, eng, created.ID)
	if ctx.Err() != nil {
		return nil, e.failf("network script: %w", ctx.Err())
	}
	if err != nil {
		return nil, e.failf("network script: learning its exit status: %w", err)
	}
	if stdout.over > 0 {
		return nil, e.failf("network script: its standard output is over %d bytes", netAdminOutputMax)
	}
	if status != 0 {
		return nil, e.fail(&NetScriptError{Status: status, Stderr: quoteStderr(stderr.Bytes(), stderr.over)})
	}
	return stdout.Bytes(), nil
}

// netExecErr words a failed exec call on the helper; errHelperGone when it
// is no longer there or no longer runs.
func (e *Env) netExecErr(ctx context.Context, eng *engine, hid string, err error) error {
	res, ierr := eng.cli.ContainerInspect(ctx, hid, client.ContainerInspectOptions{})
	switch {
	case isNotFound(ierr):
		return fmt.Errorf("%w (removed from outside): %v", errHelperGone, err)
	case ierr == nil && res.Container.State != nil && !res.Container.State.Running:
		if serr := e.containerState(ctx, 0); serr != nil {
			// The helper stopped because the stream's container did.
			return e.failf("network script: %w", serr)
		}
		return fmt.Errorf("%w (it stopped): %v", errHelperGone, err)
	}
	return e.failf("network script: running it in the network helper %s: %w", e.netHelperName(), err)
}

// NetScriptError is the error of a network script that exited non-zero:
// its exit status and (the start and end of) its standard error.
type NetScriptError struct {
	Status int
	Stderr string
}

// Error says the status and quotes the standard error.
func (x *NetScriptError) Error() string {
	if x.Stderr == "" {
		return fmt.Sprintf("network script exited with status %d (no standard error)", x.Status)
	}
	return fmt.Sprintf("network script exited with status %d: %s", x.Status, x.Stderr)
}

// quoteStderr returns b trimmed, or its first and last part when it is
// longer than netAdminStderrQuote; dropped bytes (beyond the buffer's
// bound) are counted too.
func quoteStderr(b []byte, dropped int) string {
	s := strings.TrimSpace(string(b))
	if len(s) <= netAdminStderrQuote && dropped == 0 {
		return s
	}
	half := netAdminStderrQuote / 2
	if len(s) <= netAdminStderrQuote {
		return fmt.Sprintf("%s [... %d more bytes]", s, dropped)
	}
	return fmt.Sprintf("%s [... %d bytes ...] %s", s[:half], len(s)-2*half+dropped, s[len(s)-half:])
}

// boundedBuffer keeps the first max bytes written to it and counts the
// rest.
type boundedBuffer struct {
	bytes.Buffer
	max  int
	over int
}

// Write keeps what fits and counts the rest; it never fails.
func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room < len(p) {
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		b.over += len(p) - max(room, 0)
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// closeNetAdmin is Close's part for the network helper: it cuts short a
// script still running, runs the latest undo (best effort, bounded by
// netAdminUndoTimeout; a failure is logged) and removes the helper. Close
// calls it before it removes the stream's container, whose removal then
// takes the network namespace, and every rule in it, with it. In the other
// order the Docker Engine removes the stream's container all the same, but
// the helper, still running, keeps the namespace (its rules, its loopback)
// alive until it is removed in turn; Podman refuses ("has dependent
// containers").
func (e *Env) closeNetAdmin(eng *engine) error {
	e.mu.Lock()
	n := &e.nadm
	n.init()
	e.mu.Unlock()
	n.cancel()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	if n.id == "" {
		return nil
	}
	if n.undo != "" {
		ctx, cancel := context.WithTimeout(context.Background(), netAdminUndoTimeout)
		if _, err := e.netExec(ctx, eng, n.id, n.undo); err != nil {
			e.cfg.Logf("container %s: the network rules' undo failed (the container's removal removes them anyway): %v", e.name, err)
		}
		cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	_, err := eng.cli.ContainerRemove(ctx, n.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	n.id = ""
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("removing the network helper %s: %w", e.netHelperName(), err)
	}
	return nil
}

// removeNetHelper force-removes the helper container ref (id or name),
// ignoring errors: it is for clean-up on a failure.
func (e *Env) removeNetHelper(eng *engine, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	_, _ = eng.cli.ContainerRemove(ctx, ref, client.ContainerRemoveOptions{Force: true})
}

// netHelpersFirst puts the network helpers of cs before the other
// containers, for Sweep: Podman refuses to remove a container whose network
// namespace a helper shares ("has dependent containers") until the helper
// is gone, force or not.
func netHelpersFirst(cs []container.Summary) {
	sort.SliceStable(cs, func(i, j int) bool {
		return cs[i].Labels[LabelNetAdminOf] != "" && cs[j].Labels[LabelNetAdminOf] == ""
	})
}
