// Package sendtree copies a local file or directory tree to a stream: one
// walk, one policy, for every stream type. A type supplies a Writer (how to
// make a directory, write a file, make a link and set a mode where it
// runs); Copy decides what is sent and in which order.
//
// The policy, which every type's Environment.Send follows and package
// conformance checks:
//
//   - A file's permission bits are kept. A directory's are kept too, read-
//     only ones (0555) included: a directory is made writable while it is
//     filled and gets its own mode once everything in it was sent.
//   - The destination names the copy itself. An existing file there is
//     replaced; an existing directory is merged into. Missing parents are
//     made (mode 0755).
//   - A symbolic link is sent as a link when it is relative and its target
//     lies inside the tree being sent, so that it resolves the same way on
//     the stream. Any other link, the root included, is followed: what it
//     points to is sent in its place, so that nothing arrives dangling. A
//     link that points nowhere, or a loop of directory links, is an error.
//   - Devices, sockets and named pipes are an error: they cannot be sent.
package sendtree

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Writer makes a tree on a stream. Paths are absolute, slash-separated
// paths on the stream. Copy calls it from one goroutine.
type Writer interface {
	// MkdirAll makes dir and its missing parents (mode 0755); an existing
	// directory is kept as it is.
	MkdirAll(dir string) error
	// Mkdir makes the directory name, writable by its owner, or keeps an
	// existing directory.
	Mkdir(name string) error
	// WriteFile creates or replaces the regular file name with size bytes
	// from r and the permission bits perm.
	WriteFile(ctx context.Context, name string, perm fs.FileMode, size int64, r io.Reader) error
	// Symlink makes name a symbolic link to target, replacing what is there.
	Symlink(target, name string) error
	// Chmod sets the permission bits of the directory name, once all its
	// contents were sent.
	Chmod(name string, perm fs.FileMode) error
}

// Copy copies the local file or directory src to dst on the stream through
// w, following the package's policy. dst must be absolute.
func Copy(ctx context.Context, w Writer, src, dst string) error {
	if !path.IsAbs(dst) {
		return fmt.Errorf("sendtree: destination %q is not an absolute path", dst)
	}
	root, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if err := w.MkdirAll(path.Dir(dst)); err != nil {
		return fmt.Errorf("making %s: %w", path.Dir(dst), err)
	}
	c := &copier{ctx: ctx, w: w, root: root, realRoot: realRoot, active: map[string]bool{}}
	if err := c.copy(root, dst, true); err != nil {
		return err
	}
	for i := len(c.dirs) - 1; i >= 0; i-- {
		d := c.dirs[i]
		if err := w.Chmod(d.name, d.perm); err != nil {
			return fmt.Errorf("chmod %s: %w", d.name, err)
		}
	}
	return nil
}

type dirMode struct {
	name string
	perm fs.FileMode
}

type copier struct {
	ctx      context.Context
	w        Writer
	root     string          // the tree's root as given, made absolute
	realRoot string          // the tree's root with every link resolved
	active   map[string]bool // real paths of the directories being copied: a loop guard
	dirs     []dirMode
}

// copy sends the local path p (which may be a link) to dst; the root is
// always followed.
func (c *copier) copy(p, dst string, isRoot bool) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("%s: a symbolic link to %s, which cannot be resolved: %w", p, target, err)
		}
		if !isRoot && !filepath.IsAbs(target) && within(c.realRoot, real) && c.staysInside(p, target) {
			if err := c.w.Symlink(filepath.ToSlash(target), dst); err != nil {
				return fmt.Errorf("making link %s: %w", dst, err)
			}
			return nil
		}
		if fi, err = os.Stat(p); err != nil {
			return err
		}
	}
	switch {
	case fi.IsDir():
		return c.copyDir(p, dst, fi)
	case fi.Mode().IsRegular():
		return c.copyFile(p, dst, fi)
	}
	return fmt.Errorf("%s is a %s: only files, directories and symbolic links can be sent", p, kind(fi.Mode()))
}

func (c *copier) copyDir(p, dst string, fi fs.FileInfo) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	if c.active[real] {
		return fmt.Errorf("%s: a loop of directory links (back to %s)", p, real)
	}
	c.active[real] = true
	defer delete(c.active, real)
	if err := c.w.Mkdir(dst); err != nil {
		return fmt.Errorf("making %s: %w", dst, err)
	}
	c.dirs = append(c.dirs, dirMode{dst, fi.Mode().Perm()})
	ents, err := os.ReadDir(p)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := c.copy(filepath.Join(p, e.Name()), path.Join(dst, e.Name()), false); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) copyFile(p, dst string, fi fs.FileInfo) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := c.w.WriteFile(c.ctx, dst, fi.Mode().Perm(), fi.Size(), Reader(c.ctx, f)); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}

// staysInside reports whether the relative link target, read from the
// link p's directory, names a path inside the tree without leaving it
// ("../../tree/f" leaves it, even when it comes back: the tree has another
// name on the stream).
func (c *copier) staysInside(p, target string) bool {
	rel, err := filepath.Rel(c.root, p)
	if err != nil {
		return false
	}
	return filepath.IsLocal(filepath.Join(filepath.Dir(rel), target))
}

// within reports whether the resolved path p is root or below it.
func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	}
	return "special file (" + m.String() + ")"
}

// Reader returns r that stops with ctx's error once ctx is done, for
// writers whose copies have no context of their own.
func Reader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
