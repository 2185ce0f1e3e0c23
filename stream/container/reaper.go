package container

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/stream/helper"
)

// The labels every container and network of a stream carries. They are how
// the reaper and the start-up sweep find what a test process left behind.
const (
	// LabelRun holds the random id of the test process that created the
	// object; every object of one process has the same run id.
	LabelRun = "dev.streamtest.run"
	// LabelOwnerPID and LabelOwnerStart identify that process (its pid and
	// its start time in clock ticks since boot, against pid reuse), and
	// LabelOwnerHost the machine it ran on.
	LabelOwnerPID   = "dev.streamtest.owner-pid"
	LabelOwnerStart = "dev.streamtest.owner-start"
	LabelOwnerHost  = "dev.streamtest.owner-host"
	// LabelStream holds the stream's id ("1", "db").
	LabelStream = "dev.streamtest.stream"
	// LabelTest holds the name of the test the stream belongs to.
	LabelTest = "dev.streamtest.test"
)

// reaperName is the helper that removes a run's containers and networks
// once the test process is gone.
const reaperName = "container-reaper"

func init() {
	helper.Register(reaperName, reaperMain)
}

var (
	runOnce sync.Once
	runID   string
)

// RunID is the random id of this process's run: the value of LabelRun on
// everything this process creates.
func RunID() string {
	runOnce.Do(func() {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		runID = hex.EncodeToString(b[:])
	})
	return runID
}

// labels returns the labels of an object created for stream id of test
// ("" for an object shared by the tests of this process).
func labels(id, test string) map[string]string {
	host, _ := os.Hostname()
	l := map[string]string{
		LabelRun:        RunID(),
		LabelOwnerPID:   strconv.Itoa(os.Getpid()),
		LabelOwnerStart: procStart(os.Getpid()),
		LabelOwnerHost:  host,
		LabelStream:     id,
	}
	if test != "" {
		l[LabelTest] = test
	}
	return l
}

// procStart returns the start time of process pid (field 22 of
// /proc/PID/stat), or "" when it cannot be read.
func procStart(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces; it ends at the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// ownerAlive reports whether the process that labels name is still running
// on this machine. Objects of other machines count as alive: their pids mean
// nothing here.
func ownerAlive(l map[string]string) bool {
	host, _ := os.Hostname()
	if l[LabelOwnerHost] != host {
		return true
	}
	pid, err := strconv.Atoi(l[LabelOwnerPID])
	if err != nil || pid <= 0 {
		return true
	}
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return false
	}
	if st := l[LabelOwnerStart]; st != "" {
		if now := procStart(pid); now != "" && now != st {
			return false // the pid was reused
		}
	}
	return true
}

// The reaper: one helper process per test process, started with the first
// container. The test process holds the write end of the helper's stdin and
// writes the endpoint of each engine it uses, one a line. When the test
// process ends, however it ends, the pipe closes; the reaper then removes
// everything labelled with the run id from every engine it was told of, and
// exits.
var (
	reaperMu    sync.Mutex
	reaperPipe  io.WriteCloser
	reaperKnown = map[string]bool{}
	// startReaper is replaced in tests.
	startReaper = startReaperProcess
)

// watchEngine makes sure the reaper runs and knows endpoint. It is called
// for every container, and writes the endpoint each time (one short line):
// a reaper that died (someone killed it) is noticed so, replaced, and told
// every engine again.
func watchEngine(endpoint string) error {
	reaperMu.Lock()
	defer reaperMu.Unlock()
	reaperKnown[endpoint] = true
	if reaperPipe != nil {
		if _, err := fmt.Fprintln(reaperPipe, endpoint); err == nil {
			return nil
		}
		reaperPipe.Close()
		reaperPipe = nil
	}
	w, err := startReaper()
	if err != nil {
		delete(reaperKnown, endpoint)
		return fmt.Errorf("starting the container reaper: %w", err)
	}
	for ep := range reaperKnown {
		if _, err := fmt.Fprintln(w, ep); err != nil {
			w.Close()
			delete(reaperKnown, endpoint)
			return fmt.Errorf("container reaper: %w", err)
		}
	}
	reaperPipe = w
	return nil
}

func startReaperProcess() (io.WriteCloser, error) {
	cmd, err := helper.Command(reaperName, RunID())
	if err != nil {
		return nil, err
	}
	// Its own process group: a ^C to the test's group does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// No stdout or stderr: holding the test's output pipes open would
	// keep `go test` waiting for the reaper.
	cmd.Stdout, cmd.Stderr = nil, nil
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// Reap it if it ends while we run; never wait for it otherwise.
	go func() { _ = cmd.Wait() }()
	return w, nil
}

// reaperMain is the reaper helper's main: args[0] is the run id.
func reaperMain(args []string) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGPIPE)
	if len(args) != 1 || args[0] == "" {
		fmt.Fprintln(os.Stderr, "container-reaper: usage: RUN-ID")
		return 2
	}
	run := args[0]
	var endpoints []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if ep := strings.TrimSpace(sc.Text()); ep != "" && !seen[ep] {
			seen[ep] = true
			endpoints = append(endpoints, ep)
		}
	}
	// EOF: the test process is gone (or closed the pipe on purpose).
	rc := 0
	for _, ep := range endpoints {
		ctx, cancel := context.WithTimeout(context.Background(), 2*engineTimeout)
		cli, err := client.New(client.FromEnv, client.WithHost(ep))
		if err == nil {
			_, err = Sweep(ctx, cli, LabelRun+"="+run)
		}
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "container-reaper: %s: %v\n", ep, err)
			rc = 1
		}
	}
	return rc
}

// sweepDead is the start-up sweep, run once per engine by the first stream
// of a process.
func sweepDead(ctx context.Context, cli client.APIClient) { _, _ = SweepDead(ctx, cli) }

// SweepDead removes the containers and networks whose owning test process
// (on this machine) is dead, and returns how many objects it removed. It
// is the start-up sweep, for leftovers of a process whose reaper could not
// do its work (the machine rebooted, the engine was down, the reaper was
// killed too); `streamtest lab sweep` runs it as well.
func SweepDead(ctx context.Context, cli client.APIClient) (int, error) {
	owned := make(client.Filters).Add("label", LabelOwnerPID)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: owned})
	if err != nil {
		return 0, err
	}
	dead := map[string]bool{}
	for _, c := range cs.Items {
		if !ownerAlive(c.Labels) {
			dead[c.Labels[LabelRun]] = true
		}
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: owned})
	if err == nil {
		for _, n := range ns.Items {
			if !ownerAlive(n.Labels) {
				dead[n.Labels[LabelRun]] = true
			}
		}
	}
	n := 0
	var errs []error
	for run := range dead {
		if run != "" && run != RunID() {
			k, err := Sweep(ctx, cli, LabelRun+"="+run)
			n += k
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// Sweep force-removes every container, then every network, that carries
// all of the labels given, each "key" or "key=value" (none: everything
// labelled LabelRun), and returns how many objects it removed. It is what
// the reaper, the start-up sweep and `streamtest lab down` use.
func Sweep(ctx context.Context, cli client.APIClient, labels ...string) (int, error) {
	if len(labels) == 0 {
		labels = []string{LabelRun}
	}
	// The engine matches the objects that carry every label of the term.
	f := make(client.Filters).Add("label", labels...)
	n := 0
	var firstErr error
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return 0, err
	}
	netHelpersFirst(cs.Items)
	for _, c := range cs.Items {
		_, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		switch {
		case err == nil:
			n++
		case !isNotFound(err) && firstErr == nil:
			firstErr = err
		}
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return n, err
	}
	for _, nw := range ns.Items {
		_, err := cli.NetworkRemove(ctx, nw.ID, client.NetworkRemoveOptions{})
		switch {
		case err == nil:
			n++
		case !isNotFound(err) && firstErr == nil:
			firstErr = err
		}
	}
	return n, firstErr
}
