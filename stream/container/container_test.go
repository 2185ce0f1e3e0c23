package container

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

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
			var se *stream.Error
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("New: %v, want a *stream.Error with %q", err, tc.err)
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

func TestControlLines(t *testing.T) {
	type testCase struct {
		name   string
		chunks []string
		want   string
		pgid   int
	}
	tests := []testCase{
		{name: "whole", chunks: []string{"\x1eready 7\n\x1ego\n\x1epgid 9\nerr\n"}, want: "err\n", pgid: 9},
		{name: "split", chunks: []string{"\x1erea", "dy 7\n\x1e", "go\n\x1epg", "id 9\ne", "rr"}, want: "err", pgid: 9},
		{name: "no setsid", chunks: []string{"\x1eready 7\n\x1ego\n\x1epgid -9\n"}, want: "", pgid: -9},
		{name: "wrapper failed", chunks: []string{"\x1eready 7\nsh: bad\n"}, want: "sh: bad\n"},
		{name: "control bytes later pass", chunks: []string{"\x1eready 7\n\x1ego\n\x1epgid 9\n\x1epgid 1\n"}, want: "\x1epgid 1\n", pgid: 9},
	}
	run := func(t *testing.T, tc testCase) {
		var out bytes.Buffer
		p := &process{ready: make(chan struct{}), pgidCh: make(chan struct{}), gated: true}
		c := &control{p: p, out: &out}
		for _, ch := range tc.chunks {
			if n, err := c.Write([]byte(ch)); err != nil || n != len(ch) {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		c.flush()
		if out.String() != tc.want || p.pgid != tc.pgid {
			t.Errorf("out %q pgid %d, want %q %d", out.String(), p.pgid, tc.want, tc.pgid)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestTarOf(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "d", "e"), 0o750))
	must(t, os.WriteFile(filepath.Join(dir, "d", "x.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.Symlink("x.sh", filepath.Join(dir, "d", "l")))
	r, err := tarOf(filepath.Join(dir, "d"), "streamtest/to")
	must(t, err)
	tr := tar.NewReader(r)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		got = append(got, h.Name+" "+os.FileMode(h.Mode).String()+" "+h.Linkname)
	}
	want := []string{"streamtest/to/ -rwxr-x--- ", "streamtest/to/e/ -rwxr-x--- ", "streamtest/to/l -rwxrwxrwx x.sh", "streamtest/to/x.sh -rwxr-xr-x "}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := tarOf(filepath.Join(dir, "missing"), "x"); err == nil {
		t.Error("tarOf of a missing file: no error")
	}
}

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
