package conformance

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/streamtest/streamtest/stream"
)

// Send, by the policy of package sendtree.

// send sends local to remote on e, bounded; it returns Send's error.
func (s *suite) send(t testing.TB, e stream.Environment, local, remote string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var err error
	if !s.bounded(func() { err = e.Send(ctx, local, remote) }) {
		t.Fatalf("Send %s to %s did not return within %v", local, remote, s.timeout)
	}
	s.note(t, "Send", err)
	return err
}

// mustSend sends local to remote on e, failing t if it cannot.
func (s *suite) mustSend(t testing.TB, e stream.Environment, local, remote string) {
	t.Helper()
	if err := s.send(t, e, local, remote); err != nil {
		t.Fatalf("Send %s to %s: %v", local, remote, err)
	}
}

// wantSendError fails t unless Send fails with an error naming what.
func (s *suite) wantSendError(t testing.TB, e stream.Environment, local, remote, what string) {
	t.Helper()
	err := s.send(t, e, local, remote)
	switch {
	case err == nil:
		t.Errorf("Send %s to %s succeeded, want an error", local, remote)
	case !strings.Contains(err.Error(), what):
		t.Errorf("Send %s to %s: the error %q does not name %q", local, remote, err, what)
	}
}

// localDir returns a new local directory, removed when t ends even if it
// holds read-only directories.
func localDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o700)
			}
			return nil
		})
	})
	return dir
}

// layout makes files, directories and links under root, in order. A
// directory's mode is set once everything was made, so that read-only
// directories can be filled.
type layout []struct {
	name string
	perm fs.FileMode // of a file or directory
	data string      // a file's contents; "/" ends a directory's name
	link string      // a link's target (no perm, no data)
}

func (l layout) make(t testing.TB, root string) {
	t.Helper()
	var dirs []string
	var perms []fs.FileMode
	for _, f := range l {
		p := filepath.Join(root, f.name)
		var err error
		switch {
		case f.link != "":
			err = os.Symlink(f.link, p)
		case strings.HasSuffix(f.name, "/"):
			if err = os.Mkdir(p, 0o700); err == nil {
				dirs, perms = append(dirs, p), append(perms, f.perm)
			}
		default:
			if err = os.WriteFile(p, []byte(f.data), 0o600); err == nil {
				err = os.Chmod(p, f.perm)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], perms[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// wantEntries fails t unless the paths on e are as want says.
func (s *suite) wantEntries(t testing.TB, e stream.Environment, want map[string]entry) {
	t.Helper()
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	got := s.ls(t, e, paths...)
	for _, p := range paths {
		if got[p] != want[p] {
			t.Errorf("%s on the stream is %s, want %s", p, got[p], want[p])
		}
	}
}

// wantContents fails t unless the files on e hold what want says.
func (s *suite) wantContents(t testing.TB, e stream.Environment, want map[string]string) {
	t.Helper()
	for p, data := range want {
		r := s.run(t, e, &stream.Command{Args: []string{"cat", p}})
		if !r.exit.Success() || r.stdout != data {
			t.Errorf("cat %s on the stream: %s, %q (stderr %q); want %q", p, r.exit, r.stdout, r.stderr, data)
		}
	}
}

func file(perm fs.FileMode) entry { return entry{Type: '-', Perm: perm} }
func dir(perm fs.FileMode) entry  { return entry{Type: 'd', Perm: perm} }
func link(target string) entry    { return entry{Type: 'l', Perm: 0o777, Target: target} }

func (s *suite) sendFile(t *testing.T) {
	l := localDir(t)
	layout{
		{name: "hello.txt", perm: 0o640, data: "hello\n"},
		{name: "run.sh", perm: 0o755, data: "#!/bin/sh\necho script ran\n"},
	}.make(t, l)
	abs := path.Join(s.env.WorkDir(), "conformance-send/abs/deep/hello.txt")
	s.mustSend(t, s.env, filepath.Join(l, "hello.txt"), "conformance-send/rel/hello.txt")
	s.mustSend(t, s.env, filepath.Join(l, "hello.txt"), abs)
	s.mustSend(t, s.env, filepath.Join(l, "run.sh"), "conformance-send/run.sh")
	s.wantEntries(t, s.env, map[string]entry{
		"conformance-send/rel/hello.txt": file(0o640),
		abs:                              file(0o640),
		"conformance-send/run.sh":        file(0o755),
	})
	s.wantContents(t, s.env, map[string]string{"conformance-send/rel/hello.txt": "hello\n", abs: "hello\n"})
	r := s.run(t, s.env, &stream.Command{Args: []string{"./run.sh"}, Dir: "conformance-send"})
	if !r.exit.Success() || r.stdout != "script ran\n" {
		t.Errorf("the sent script: %s, stdout %q, stderr %q", r.exit, r.stdout, r.stderr)
	}
	s.wantSendError(t, s.env, filepath.Join(l, "conformance-missing"), "conformance-send/missing", "conformance-missing")
}

func (s *suite) sendDirModes(t *testing.T) {
	l := localDir(t)
	layout{
		{name: "tree/", perm: 0o755},
		{name: "tree/ro/", perm: 0o555},
		{name: "tree/ro/file", perm: 0o444, data: "read-only\n"},
		{name: "tree/ro/sub/", perm: 0o700},
		{name: "tree/ro/sub/secret", perm: 0o600, data: "secret\n"},
		{name: "tree/grp/", perm: 0o750},
		{name: "tree/grp/run", perm: 0o755, data: "#!/bin/sh\n"},
		{name: "tree/empty/", perm: 0o711},
	}.make(t, l)
	s.mustSend(t, s.env, filepath.Join(l, "tree"), "conformance-modes")
	s.wantEntries(t, s.env, map[string]entry{
		"conformance-modes":               dir(0o755),
		"conformance-modes/ro":            dir(0o555),
		"conformance-modes/ro/file":       file(0o444),
		"conformance-modes/ro/sub":        dir(0o700),
		"conformance-modes/ro/sub/secret": file(0o600),
		"conformance-modes/grp":           dir(0o750),
		"conformance-modes/grp/run":       file(0o755),
		"conformance-modes/empty":         dir(0o711),
	})
	s.wantContents(t, s.env, map[string]string{
		"conformance-modes/ro/file":       "read-only\n",
		"conformance-modes/ro/sub/secret": "secret\n",
	})
}

func (s *suite) sendSymlinks(t *testing.T) {
	l := localDir(t)
	layout{
		{name: "outside.txt", perm: 0o644, data: "outside\n"},
		{name: "outdir/", perm: 0o755},
		{name: "outdir/o.txt", perm: 0o644, data: "o\n"},
		{name: "tree/", perm: 0o755},
		{name: "tree/file", perm: 0o644, data: "data\n"},
		{name: "tree/dir/", perm: 0o755},
		{name: "tree/dir/inner", perm: 0o644, data: "inner\n"},
		{name: "tree/in-link", link: "file"},
		{name: "tree/dir-link", link: "dir"},
		{name: "tree/dir/up-link", link: "../file"},
		{name: "tree/out-link", link: "../outside.txt"},
		{name: "tree/abs-link", link: filepath.Join(l, "tree/file")},
		{name: "tree/out-dir-link", link: "../outdir"},
		{name: "root-link", link: "tree"},
		{name: "dangling/", perm: 0o755},
		{name: "dangling/conformance-dangling", link: "nowhere"},
		{name: "loop/", perm: 0o755},
		{name: "loop/conformance-loop", link: filepath.Join(l, "loop")},
	}.make(t, l)

	// Relative links that stay inside the tree are kept; the others are
	// followed, so that nothing arrives dangling.
	s.mustSend(t, s.env, filepath.Join(l, "tree"), "conformance-links")
	s.wantEntries(t, s.env, map[string]entry{
		"conformance-links/in-link":            link("file"),
		"conformance-links/dir-link":           link("dir"),
		"conformance-links/dir/up-link":        link("../file"),
		"conformance-links/out-link":           file(0o644),
		"conformance-links/abs-link":           file(0o644),
		"conformance-links/out-dir-link":       dir(0o755),
		"conformance-links/out-dir-link/o.txt": file(0o644),
	})
	s.wantContents(t, s.env, map[string]string{
		"conformance-links/in-link":            "data\n",
		"conformance-links/dir/up-link":        "data\n",
		"conformance-links/dir-link/inner":     "inner\n",
		"conformance-links/out-link":           "outside\n",
		"conformance-links/abs-link":           "data\n",
		"conformance-links/out-dir-link/o.txt": "o\n",
	})

	// The root is followed: a link sent is what it points to.
	s.mustSend(t, s.env, filepath.Join(l, "root-link"), "conformance-links-root")
	s.mustSend(t, s.env, filepath.Join(l, "tree/in-link"), "conformance-links-file")
	s.wantEntries(t, s.env, map[string]entry{
		"conformance-links-root":         dir(0o755),
		"conformance-links-root/in-link": link("file"),
		"conformance-links-file":         file(0o644),
	})

	// A link that points nowhere, or a loop, cannot be sent.
	s.wantSendError(t, s.env, filepath.Join(l, "dangling"), "conformance-links-dangling", "conformance-dangling")
	s.wantSendError(t, s.env, filepath.Join(l, "loop"), "conformance-links-loop", "conformance-loop")
}

func (s *suite) sendSpecial(t *testing.T) {
	l := localDir(t)
	if err := os.Mkdir(filepath.Join(l, "tree"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(l, "tree", "conformance-fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.wantSendError(t, s.env, filepath.Join(l, "tree"), "conformance-special", "conformance-fifo")
	s.wantSendError(t, s.env, filepath.Join(l, "tree", "conformance-fifo"), "conformance-special-fifo", "conformance-fifo")
}

func (s *suite) sendReplaceMerge(t *testing.T) {
	l := localDir(t)
	layout{
		{name: "long", perm: 0o644, data: "a longer first version\n"},
		{name: "short", perm: 0o600, data: "second\n"},
		{name: "ro", perm: 0o444, data: "read-only first\n"},
		{name: "one/", perm: 0o755},
		{name: "one/a", perm: 0o644, data: "a from one\n"},
		{name: "one/b", perm: 0o644, data: "b from one\n"},
		{name: "one/sub/", perm: 0o755},
		{name: "one/sub/c", perm: 0o644, data: "c from one\n"},
		{name: "one/locked/", perm: 0o555},
		{name: "one/locked/x", perm: 0o644, data: "x from one\n"},
		{name: "two/", perm: 0o755},
		{name: "two/a", perm: 0o644, data: "a from two\n"},
		{name: "two/sub/", perm: 0o755},
		{name: "two/sub/d", perm: 0o644, data: "d from two\n"},
		{name: "two/locked/", perm: 0o555},
		{name: "two/locked/y", perm: 0o644, data: "y from two\n"},
	}.make(t, l)

	// An existing file is replaced, a read-only one too.
	s.mustSend(t, s.env, filepath.Join(l, "long"), "conformance-replace/file")
	s.mustSend(t, s.env, filepath.Join(l, "short"), "conformance-replace/file")
	s.mustSend(t, s.env, filepath.Join(l, "ro"), "conformance-replace/ro")
	s.mustSend(t, s.env, filepath.Join(l, "short"), "conformance-replace/ro")
	s.wantEntries(t, s.env, map[string]entry{"conformance-replace/file": file(0o600), "conformance-replace/ro": file(0o600)})
	s.wantContents(t, s.env, map[string]string{"conformance-replace/file": "second\n", "conformance-replace/ro": "second\n"})

	// An existing directory is merged into, a read-only one too.
	s.mustSend(t, s.env, filepath.Join(l, "one"), "conformance-merge")
	s.mustSend(t, s.env, filepath.Join(l, "two"), "conformance-merge")
	s.wantContents(t, s.env, map[string]string{
		"conformance-merge/a":        "a from two\n",
		"conformance-merge/b":        "b from one\n",
		"conformance-merge/sub/c":    "c from one\n",
		"conformance-merge/sub/d":    "d from two\n",
		"conformance-merge/locked/x": "x from one\n",
		"conformance-merge/locked/y": "y from two\n",
	})
	s.wantEntries(t, s.env, map[string]entry{"conformance-merge/locked": dir(0o555)})
}
