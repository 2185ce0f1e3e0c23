package dockerlab

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/streamtest/streamtest/internal/testenv"
)

func TestBaseRootAndContext(t *testing.T) {
	_, err := firstExisting(busyboxPaths, "busybox", "busybox-static")
	testenv.Need(t, err == nil, "a static busybox", "apt-get install busybox-static")
	r, err := baseRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"bin/busybox", "bin/sh", "bin/setsid", "bin/kill", "bin/sleep", "bin/ping", "etc/passwd", "tmp"} {
		if _, ok := r.entries[p]; !ok {
			t.Errorf("base image lacks /%s", p)
		}
	}
	if e := r.entries["tmp"]; e != nil && e.mode != 0o1777 {
		t.Errorf("/tmp mode %o", e.mode)
	}
	var buf bytes.Buffer
	if err := writeContext(&buf, BaseImage, r); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	seen := map[string]*tar.Header{}
	var dockerfile string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Name] = h
		if h.Name == "Dockerfile" {
			b, _ := io.ReadAll(tr)
			dockerfile = string(b)
		}
	}
	if !strings.Contains(dockerfile, "FROM scratch\nCOPY rootfs/ /\n") {
		t.Errorf("Dockerfile:\n%s", dockerfile)
	}
	if h := seen["rootfs/bin/sh"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
		t.Errorf("rootfs/bin/sh: %+v", h)
	}
}

func TestMissingTool(t *testing.T) {
	_, err := firstExisting([]string{"/nonexistent/busybox"}, "a static busybox", "busybox-static")
	if err == nil || !strings.Contains(err.Error(), "apt-get install busybox-static") {
		t.Errorf("err = %v", err)
	}
}
