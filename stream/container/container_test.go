package container

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/streamtest/streamtest/stream"
)

func TestRegistered(t *testing.T) {
	for _, name := range []string{"container", "docker"} {
		r, ok := stream.Lookup(name)
		if !ok || r.Name != TypeName {
			t.Fatalf("Lookup(%q) = %+v, %v", name, r, ok)
		}
	}
	r, _ := stream.Lookup(TypeName)
	for _, p := range []string{"image", "network", "private_network", "hostname", "env", "privileged", "cap_add", "mounts", "engine"} {
		if _, ok := r.Param(p); !ok {
			t.Errorf("parameter %s not declared", p)
		}
	}
}

func TestNewChecksMounts(t *testing.T) {
	type testCase struct {
		mount, want, err string
	}
	tests := []testCase{
		{mount: "/src:/dst", want: "bind /src:/dst rw"},
		{mount: "data:/data:ro", want: "bind /params/data:/data ro"},
		{mount: "/src:/dst:rw", want: "bind /src:/dst rw"},
		{mount: "/src", err: "want src:dst"},
		{mount: "/src:dst", err: "absolute"},
		{mount: "/src:/dst:rx", err: "ro or rw"},
	}
	run := func(t *testing.T, tc testCase) {
		env, err := New(stream.Config{ID: "1", Type: TypeName, Dir: "/params", Params: stream.Values{"mounts": []string{tc.mount}}})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.HasPrefix(err.Error(), "stream") {
				t.Fatalf("New: %v, want a cause with %q and no stream prefix", err, tc.err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		got := env.(*Env).mounts
		if len(got) != 1 {
			t.Fatalf("mounts = %v, want one", got)
		}
		mode := map[bool]string{true: "ro", false: "rw"}[got[0].ReadOnly]
		if s := fmt.Sprintf("%s %s:%s %s", got[0].Type, got[0].Source, got[0].Target, mode); s != tc.want {
			t.Errorf("mount = %q, want %q", s, tc.want)
		}
	}
	for _, tc := range tests {
		t.Run(tc.mount, func(t *testing.T) { run(t, tc) })
	}
}

// TestCheckMounts: with an engine on this machine, a bind mount whose
// source is missing is an error before anything is made (Podman would make
// an empty directory there); a remote engine decides for itself.
func TestCheckMounts(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		engine, mount string
		fails         bool
	}{
		{"unix:///run/podman/podman.sock", missing + ":/data", true},
		{"unix:///var/run/docker.sock", dir + ":/data:ro", false},
		{"tcp://engine.example:2375", missing + ":/data", false},
	} {
		env, err := New(stream.Config{ID: "1", Type: TypeName, Params: stream.Values{"engine": tc.engine, "mounts": []string{tc.mount}}})
		must(t, err)
		err = env.(*Env).checkMounts()
		if tc.fails != (err != nil) {
			t.Errorf("%s, %s: checkMounts = %v, want an error: %v", tc.engine, tc.mount, err, tc.fails)
		}
		if tc.fails && (!errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "/data")) {
			t.Errorf("checkMounts = %v, want a not-exist error naming %s and /data", err, missing)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	t.Setenv("DOCKER_HOST", "")
	env, err := New(stream.Config{ID: "db", Type: TypeName, Params: stream.Values{"private_network": true}})
	if err != nil {
		t.Fatal(err)
	}
	e := env.(*Env)
	if e.image != DefaultImage || e.endpoint != defaultEndpoint || !strings.HasPrefix(e.netName, "streamtest-"+RunID()) {
		t.Errorf("image %s endpoint %s network %s", e.image, e.endpoint, e.netName)
	}
	if e.WorkDir() != "/streamtest" {
		t.Errorf("WorkDir = %s", e.WorkDir())
	}
	// Close before Setup: nothing to do.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestControl(t *testing.T) {
	const token = "end-1234"
	type testCase struct {
		name   string
		chunks []string
		want   string   // stderr passed through
		events []string // "word arg"
		fail   string
	}
	tests := []testCase{
		{name: "whole", chunks: []string{"\x1eready\n\x1ego 9\nerr\n\x1eend-1234 3\n"}, want: "err\n",
			events: []string{"ready ", "go 9", "end 3"}},
		{name: "split", chunks: []string{"\x1erea", "dy\n\x1e", "go 9\ne", "rr\x1een", "d-12", "34 0", "\nlate"}, want: "errlate",
			events: []string{"ready ", "go 9", "end 0"}},
		{name: "marker after output without newline", chunks: []string{"\x1ego 9\nabc\x1eend-1234 143\n"}, want: "abc",
			events: []string{"go 9", "end 143"}},
		{name: "no setsid", chunks: []string{"\x1eready\n\x1ego -9\n"}, events: []string{"ready ", "go -9"}},
		{name: "no program", chunks: []string{"\x1enoprog\n"}, events: []string{"noprog "}, fail: "noprog"},
		{name: "no directory", chunks: []string{"\x1enodir\n"}, events: []string{"nodir "}, fail: "nodir"},
		{name: "wrapper failed", chunks: []string{"\x1eready\nsh: bad\n"}, want: "sh: bad\n", events: []string{"ready "}},
		{name: "control bytes of the program pass", chunks: []string{"\x1ego 9\n\x1ego 1\n\x1eend-12"}, want: "\x1ego 1\n\x1eend-12",
			events: []string{"go 9"}},
		{name: "a second marker passes", chunks: []string{"\x1ego 9\n\x1eend-1234 0\n\x1eend-1234 1\n"}, want: "\x1eend-1234 1\n",
			events: []string{"go 9", "end 0"}},
	}
	run := func(t *testing.T, tc testCase) {
		var out bytes.Buffer
		var events []string
		c := newControl(&out, token, func(word, arg string) { events = append(events, word+" "+arg) })
		for _, ch := range tc.chunks {
			if n, err := c.Write([]byte(ch)); err != nil || n != len(ch) {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		c.flush()
		if out.String() != tc.want || strings.Join(events, "|") != strings.Join(tc.events, "|") || c.failure() != tc.fail {
			t.Errorf("out %q events %q failure %q, want %q %q %q", out.String(), events, c.failure(), tc.want, tc.events, tc.fail)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestPartialSuffix(t *testing.T) {
	for _, tc := range []struct {
		b, m string
		want int
	}{{"abc", "cde", 1}, {"abcd", "cde", 2}, {"abcde", "cde", 0}, {"", "x", 0}, {"xx", "xxx", 2}} {
		if got := partialSuffix([]byte(tc.b), []byte(tc.m)); got != tc.want {
			t.Errorf("partialSuffix(%q, %q) = %d, want %d", tc.b, tc.m, got, tc.want)
		}
	}
}

func TestExitOf(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{{0, "exit status 0"}, {3, "exit status 3"}, {128, "exit status 128"}, {137, "killed by SIGKILL"}, {138, "killed by SIGUSR1"}, {255, "exit status 255"}} {
		if got := exitOf(tc.status, time.Time{}, time.Time{}).String(); got != tc.want {
			t.Errorf("exitOf(%d) = %s, want %s", tc.status, got, tc.want)
		}
	}
}

// TestTarWriter: the tree arrives as one tar stream after the parents are
// named; directories come owner-writable, and again with their own mode at
// the end (read-only ones included).
func TestTarWriter(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "d", "e"), 0o750))
	must(t, os.WriteFile(filepath.Join(dir, "d", "x.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.Symlink("x.sh", filepath.Join(dir, "d", "l")))
	must(t, os.Chmod(filepath.Join(dir, "d", "e"), 0o555))
	var buf bytes.Buffer
	var mkdirs []string
	open := func(_ context.Context, dirs []string) (io.WriteCloser, func() error, error) {
		mkdirs = dirs
		return nopCloser{&buf}, func() error { return nil }, nil
	}
	must(t, sendTar(t.Context(), open, filepath.Join(dir, "d"), "/streamtest/to"))
	if strings.Join(mkdirs, " ") != "/streamtest" {
		t.Errorf("parents made first: %q", mkdirs)
	}
	tr := tar.NewReader(&buf)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		got = append(got, fmt.Sprintf("%s %o %s", h.Name, h.Mode, h.Linkname))
	}
	want := []string{"streamtest/to/ 700 ", "streamtest/to/e/ 700 ", "streamtest/to/l 777 x.sh", "streamtest/to/x.sh 755 ",
		"streamtest/to/e/ 555 ", "streamtest/to/ 750 "}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := sendTar(t.Context(), open, filepath.Join(dir, "missing"), "/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sending a missing file: %v", err)
	}
}

// TestTarWriterExtractionFails: when the extraction ends early, Send
// reports its error, not the broken write.
func TestTarWriterExtractionFails(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "f"), make([]byte, 1<<20), 0o644))
	open := func(context.Context, []string) (io.WriteCloser, func() error, error) {
		pr, pw := io.Pipe()
		pr.CloseWithError(errors.New("reader gone"))
		return pw, func() error { return errNoTar }, nil
	}
	if err := sendTar(t.Context(), open, filepath.Join(dir, "f"), "/x/f"); !errors.Is(err, errNoTar) {
		t.Errorf("sendTar = %v, want errNoTar", err)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func TestOwnerAlive(t *testing.T) {
	host, _ := os.Hostname()
	type testCase struct {
		name   string
		labels map[string]string
		want   bool
	}
	tests := []testCase{
		{name: "us", labels: map[string]string{LabelOwnerHost: host, LabelOwnerPID: itoa(os.Getpid()), LabelOwnerStart: procStart(os.Getpid())}, want: true},
		{name: "other machine", labels: map[string]string{LabelOwnerHost: host + "-other", LabelOwnerPID: "1"}, want: true},
		{name: "pid reused", labels: map[string]string{LabelOwnerHost: host, LabelOwnerPID: itoa(os.Getpid()), LabelOwnerStart: "1"}, want: false},
		{name: "no pid", labels: map[string]string{LabelOwnerHost: host}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownerAlive(tc.labels); got != tc.want {
				t.Errorf("ownerAlive = %v, want %v", got, tc.want)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestReaperReplaced: a reaper that died is noticed at the next container
// and replaced, and the new one is told every engine.
func TestReaperReplaced(t *testing.T) {
	reaperMu.Lock()
	oldStart, oldPipe, oldKnown := startReaper, reaperPipe, reaperKnown
	reaperMu.Unlock()
	t.Cleanup(func() {
		reaperMu.Lock()
		startReaper, reaperPipe, reaperKnown = oldStart, oldPipe, oldKnown
		reaperMu.Unlock()
	})
	var readers []*os.File
	reaperMu.Lock()
	reaperPipe, reaperKnown = nil, map[string]bool{}
	startReaper = func() (io.WriteCloser, error) {
		r, w, err := os.Pipe()
		readers = append(readers, r)
		return w, err
	}
	reaperMu.Unlock()
	must(t, watchEngine("unix:///one"))
	must(t, watchEngine("unix:///two"))
	readers[0].Close() // the reaper dies
	must(t, watchEngine("unix:///two"))
	if len(readers) != 2 {
		t.Fatalf("%d reapers started, want 2", len(readers))
	}
	reaperMu.Lock()
	reaperPipe.Close()
	reaperMu.Unlock()
	got, _ := io.ReadAll(readers[1])
	lines := strings.Fields(string(got))
	sort.Strings(lines)
	if strings.Join(lines, " ") != "unix:///one unix:///two" {
		t.Errorf("the new reaper was told %q", got)
	}
}

func TestLabelsNameTheTest(t *testing.T) {
	l := labels("db", "TestX/sub")
	if l[LabelStream] != "db" || l[LabelTest] != "TestX/sub" || l[LabelRun] != RunID() {
		t.Errorf("labels = %v", l)
	}
	if _, ok := labels("1", "")[LabelTest]; ok {
		t.Error("a shared object got a test label")
	}
}

// TestRelay: writes return at once although the reader is not there yet;
// close waits until everything was passed on, in order.
func TestRelay(t *testing.T) {
	pr, pw := io.Pipe()
	r := newRelay(pw)
	for _, s := range []string{"a", "b", "c"} {
		if n, err := r.Write([]byte(s)); n != 1 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	got := make(chan string)
	go func() {
		b, _ := io.ReadAll(pr)
		got <- string(b)
	}()
	r.close()
	pw.Close()
	if s := <-got; s != "abc" {
		t.Errorf("passed on %q, want abc", s)
	}
}

// TestSpec: the container runs the idle process under the engine's init,
// with the stream's labels, on its network, with the hostname as an alias
// only on a user-defined network.
func TestSpec(t *testing.T) {
	env, err := New(stream.Config{ID: "db", Type: TypeName, Test: "TestX", Params: stream.Values{
		"hostname": "box", "private_network": true, "env": map[string]string{"A": "1"}, "cap_add": []string{"NET_ADMIN"},
	}})
	must(t, err)
	e := env.(*Env)
	cfg, hc, nc := e.spec()
	if cfg.Image != DefaultImage || cfg.Hostname != "box" || strings.Join(cfg.Env, ",") != "A=1" || cfg.Labels[LabelStream] != "db" || cfg.Labels[LabelTest] != "TestX" {
		t.Errorf("config %+v", cfg)
	}
	if len(cfg.Entrypoint) != 3 || !strings.Contains(cfg.Entrypoint[2], mkWorkDir) {
		t.Errorf("entrypoint %q", cfg.Entrypoint)
	}
	if hc.Init == nil || !*hc.Init || string(hc.NetworkMode) != e.netName || strings.Join(hc.CapAdd, ",") != "NET_ADMIN" {
		t.Errorf("host config %+v", hc)
	}
	if nc == nil || strings.Join(nc.EndpointsConfig[e.netName].Aliases, ",") != "box" {
		t.Errorf("network config %+v", nc)
	}
	env, err = New(stream.Config{ID: "1", Type: TypeName, Params: stream.Values{"hostname": "box"}})
	must(t, err)
	if _, _, nc := env.(*Env).spec(); nc != nil {
		t.Errorf("an alias on the default bridge: %+v", nc)
	}
}

func TestAddressOf(t *testing.T) {
	ins := func(nets map[string]string) container.InspectResponse {
		ns := map[string]*network.EndpointSettings{}
		for n, ip := range nets {
			var addr netip.Addr
			if ip != "" {
				addr = netip.MustParseAddr(ip)
			}
			ns[n] = &network.EndpointSettings{IPAddress: addr}
		}
		return container.InspectResponse{NetworkSettings: &container.NetworkSettings{Networks: ns}}
	}
	for _, tc := range []struct {
		nets map[string]string
		want string
	}{
		{map[string]string{"mine": "10.0.0.2", "other": "10.1.0.2"}, "10.0.0.2"},
		{map[string]string{"other": "10.1.0.2"}, "10.1.0.2"},
		{map[string]string{"mine": ""}, ""},
	} {
		if got := addressOf(ins(tc.nets), "mine"); got != tc.want {
			t.Errorf("addressOf(%v) = %q, want %q", tc.nets, got, tc.want)
		}
	}
	if got := addressOf(container.InspectResponse{}, "mine"); got != "" {
		t.Errorf("no network settings: %q", got)
	}
}
