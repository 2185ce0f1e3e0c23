package sendtree_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/streamtest/streamtest/stream/sendtree"
)

func write(t *testing.T, name, data string, perm fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, perm); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

func send(t *testing.T, src, dst string) error {
	t.Helper()
	return sendtree.Copy(context.Background(), sendtree.OS{}, src, dst)
}

func mode(t *testing.T, name string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func content(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// chmodAll makes a tree writable again, so that t.TempDir can remove it.
func chmodAll(t *testing.T, root string) {
	t.Cleanup(func() {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
}

func TestModesKept(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "deep", "copy")
	write(t, filepath.Join(src, "run.sh"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(src, "secret"), "s", 0o600)
	write(t, filepath.Join(src, "ro", "file"), "r", 0o444)
	if err := os.Chmod(filepath.Join(src, "ro"), 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, 0o750); err != nil {
		t.Fatal(err)
	}
	chmodAll(t, src)
	chmodAll(t, filepath.Dir(dst))
	if err := send(t, src, dst); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{
		"":        fs.ModeDir | 0o750,
		"run.sh":  0o755,
		"secret":  0o600,
		"ro":      fs.ModeDir | 0o555,
		"ro/file": 0o444,
	} {
		if got := mode(t, filepath.Join(dst, name)); got != want {
			t.Errorf("%q: mode %v, want %v", name, got, want)
		}
	}
	if got := mode(t, filepath.Dir(dst)); got != fs.ModeDir|0o755 {
		t.Errorf("a missing parent was made with mode %v, want drwxr-xr-x", got)
	}
	if got := content(t, filepath.Join(dst, "ro", "file")); got != "r" {
		t.Errorf("ro/file = %q", got)
	}

	// Sending again merges into the read-only directory and keeps its mode.
	write(t, filepath.Join(dst, "ro", "extra"), "e", 0o644)
	if err := os.Chmod(filepath.Join(dst, "ro"), 0o555); err != nil {
		t.Fatal(err)
	}
	if err := send(t, src, dst); err != nil {
		t.Fatalf("sending onto a tree with a read-only directory: %v", err)
	}
	if got := mode(t, filepath.Join(dst, "ro")); got != fs.ModeDir|0o555 {
		t.Errorf("ro after a second send: mode %v, want dr-xr-xr-x", got)
	}
}

func TestSymlinks(t *testing.T) {
	outside := t.TempDir()
	write(t, filepath.Join(outside, "far"), "far away", 0o640)
	write(t, filepath.Join(outside, "dir", "f"), "in a far dir", 0o644)
	src := filepath.Join(t.TempDir(), "tree")
	write(t, filepath.Join(src, "data", "file"), "data", 0o644)
	symlink(t, "data/file", filepath.Join(src, "in"))                         // relative, inside: kept
	symlink(t, "../data", filepath.Join(src, "data", "self"))                 // relative, to a directory inside: kept
	symlink(t, filepath.Join(outside, "far"), filepath.Join(src, "out"))      // outside: followed
	symlink(t, filepath.Join(src, "data", "file"), filepath.Join(src, "abs")) // absolute, inside: followed
	symlink(t, filepath.Join(outside, "dir"), filepath.Join(src, "outdir"))   // a directory outside: followed
	symlink(t, "../tree/data/file", filepath.Join(src, "roundabout"))         // leaves the tree and comes back: followed
	dst := filepath.Join(t.TempDir(), "sent")
	if err := send(t, src, dst); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"in": "data/file", "data/self": "../data"} {
		got, err := os.Readlink(filepath.Join(dst, name))
		if err != nil || got != target {
			t.Errorf("%s: link %q, %v; want the link kept, to %q", name, got, err, target)
		}
	}
	if got := content(t, filepath.Join(dst, "in")); got != "data" {
		t.Errorf("the kept link reads %q, want %q", got, "data")
	}
	for name, want := range map[string]string{"out": "far away", "abs": "data", "outdir/f": "in a far dir", "roundabout": "data"} {
		p := filepath.Join(dst, name)
		if m := mode(t, p); m&fs.ModeSymlink != 0 {
			t.Errorf("%s arrived as a link; want it followed", name)
		}
		if got := content(t, p); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := mode(t, filepath.Join(dst, "out")); got != 0o640 {
		t.Errorf("out: mode %v, want the mode of what it points to (0640)", got)
	}
}

func TestRootLinkFollowed(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "real"), "x", 0o644)
	symlink(t, "real", filepath.Join(dir, "link"))
	dst := filepath.Join(t.TempDir(), "f")
	if err := send(t, filepath.Join(dir, "link"), dst); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dst); !m.IsRegular() || content(t, dst) != "x" {
		t.Errorf("a link sent as the root arrived as %v; want the file it points to", m)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		make  func(t *testing.T, src string)
		wants string
	}{
		{"dangling link", func(t *testing.T, src string) { symlink(t, "nowhere", filepath.Join(src, "l")) }, "nowhere"},
		{"link to itself", func(t *testing.T, src string) { symlink(t, "l", filepath.Join(src, "l")) }, "l"},
		{"loop of directory links", func(t *testing.T, src string) {
			os.Mkdir(filepath.Join(src, "d"), 0o755)
			symlink(t, src, filepath.Join(src, "d", "up"))
		}, "loop"},
		{"named pipe", func(t *testing.T, src string) {
			if err := syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "named pipe"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := t.TempDir()
			write(t, filepath.Join(src, "ok"), "ok", 0o644)
			c.make(t, src)
			err := send(t, src, filepath.Join(t.TempDir(), "dst"))
			if err == nil || !strings.Contains(err.Error(), c.wants) {
				t.Errorf("Copy = %v, want an error saying %q", err, c.wants)
			}
		})
	}
	if err := send(t, t.TempDir(), "relative/dst"); err == nil {
		t.Error("Copy to a relative destination succeeded")
	}
	if err := send(t, filepath.Join(t.TempDir(), "missing"), filepath.Join(t.TempDir(), "dst")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Copy of a missing source = %v, want ErrNotExist", err)
	}
}

func TestExistingDestination(t *testing.T) {
	src := t.TempDir()
	write(t, filepath.Join(src, "f"), "new", 0o644)
	write(t, filepath.Join(src, "sub", "g"), "new g", 0o600)
	dst := t.TempDir()
	write(t, filepath.Join(dst, "f"), "old and longer", 0o444)  // replaced, read-only as it is
	write(t, filepath.Join(dst, "keep"), "kept", 0o644)         // merged: stays
	write(t, filepath.Join(dst, "sub", "h"), "kept too", 0o644) // merged: stays
	target := filepath.Join(t.TempDir(), "target")
	write(t, target, "not to be written through", 0o644)
	symlink(t, target, filepath.Join(dst, "sub", "g")) // a link where a file goes: replaced
	if err := send(t, src, dst); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"f": "new", "keep": "kept", "sub/h": "kept too", "sub/g": "new g"} {
		if got := content(t, filepath.Join(dst, name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := mode(t, filepath.Join(dst, "f")); got != 0o644 {
		t.Errorf("the replaced file has mode %v, want the source's 0644", got)
	}
	if got := mode(t, filepath.Join(dst, "sub", "g")); got != 0o600 {
		t.Errorf("sub/g: mode %v, want a regular file with mode 0600", got)
	}
	if got := content(t, target); got != "not to be written through" {
		t.Errorf("the link's target was written: %q", got)
	}

	// A single file onto an existing file.
	one := filepath.Join(t.TempDir(), "one")
	write(t, one, "one", 0o755)
	if err := send(t, one, filepath.Join(dst, "f")); err != nil {
		t.Fatal(err)
	}
	if got, m := content(t, filepath.Join(dst, "f")), mode(t, filepath.Join(dst, "f")); got != "one" || m != 0o755 {
		t.Errorf("f = %q mode %v, want %q mode 0755", got, m, "one")
	}
}

func TestCancelled(t *testing.T) {
	src := t.TempDir()
	write(t, filepath.Join(src, "f"), "x", 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sendtree.Copy(ctx, sendtree.OS{}, src, filepath.Join(t.TempDir(), "d")); !errors.Is(err, context.Canceled) {
		t.Errorf("Copy with a cancelled context = %v, want context.Canceled", err)
	}
}
