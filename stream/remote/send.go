package remote

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/pkg/sftp"
)

// sendTree copies local (a file, a directory recursively, or a symbolic
// link) to remote, creating remote's missing parents and keeping modes.
func sendTree(ctx context.Context, c *sftp.Client, local, remote string) error {
	fi, err := os.Stat(local)
	if err != nil {
		return err
	}
	if err := c.MkdirAll(path.Dir(remote)); err != nil {
		return fmt.Errorf("making %s: %w", path.Dir(remote), err)
	}
	if !fi.IsDir() {
		return sendFile(ctx, c, local, remote, fi.Mode())
	}
	// Directories get their own mode once they are filled: a read-only
	// directory could not be filled.
	type dirMode struct {
		path string
		mode fs.FileMode
	}
	var dirs []dirMode
	err = filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(local, p)
		if err != nil {
			return err
		}
		dst := path.Join(remote, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := c.Mkdir(dst); err != nil {
				if st, serr := c.Stat(dst); serr != nil || !st.IsDir() {
					return fmt.Errorf("making %s: %w", dst, err)
				}
			}
			dirs = append(dirs, dirMode{dst, info.Mode().Perm()})
			return c.Chmod(dst, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			c.Remove(dst)
			return c.Symlink(target, dst)
		case info.Mode().IsRegular():
			return sendFile(ctx, c, p, dst, info.Mode())
		}
		return nil // sockets, devices, pipes: not sent
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := c.Chmod(dirs[i].path, dirs[i].mode); err != nil {
			return fmt.Errorf("chmod %s: %w", dirs[i].path, err)
		}
	}
	return nil
}

func sendFile(ctx context.Context, c *sftp.Client, local, remote string, mode fs.FileMode) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return sendReader(ctx, c, f, fi.Size(), remote, mode)
}

// sendReader writes size bytes of r (all of it when size < 0) to remote.
// Knowing the size lets the SFTP
// client write several packets at once (it learns it from an
// io.LimitedReader, since the context check hides the file): 3.3 times as
// fast for a 10 MiB file on the lab (BenchmarkSend).
func sendReader(ctx context.Context, c *sftp.Client, r io.Reader, size int64, remote string, mode fs.FileMode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w, err := c.OpenFile(remote, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("creating %s: %w", remote, err)
	}
	var src io.Reader = ctxReader{ctx, r}
	if size >= 0 {
		src = &io.LimitedReader{R: src, N: size}
	}
	if _, err := w.ReadFrom(src); err != nil {
		w.Close()
		return fmt.Errorf("writing %s: %w", remote, err)
	}
	if err := w.Chmod(mode.Perm()); err != nil {
		w.Close()
		return fmt.Errorf("chmod %s: %w", remote, err)
	}
	return w.Close()
}

// ctxReader stops a copy when ctx is done.
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
