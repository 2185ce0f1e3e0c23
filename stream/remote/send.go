package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/pkg/sftp"

	"github.com/streamtest/streamtest/stream/sendtree"
)

// Send copies local (a file or a directory, recursively) to remote over
// SFTP, as package sendtree says. A relative remote is relative to WorkDir.
func (e *Env) Send(ctx context.Context, local, remote string) error {
	c, base, err := e.sftpClient()
	if err != nil {
		return err
	}
	if !path.IsAbs(remote) {
		remote = path.Join(base, "work", remote)
	}
	if err := sendtree.Copy(ctx, sftpWriter{c}, local, remote); err != nil {
		if lost := e.lostErr(); lost != nil {
			return fmt.Errorf("%w (%v)", lost, err)
		}
		return err
	}
	return nil
}

func (e *Env) sftpClient() (*sftp.Client, string, error) {
	_, base, err := e.ready()
	if err != nil {
		return nil, "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sftp == nil {
		c, _, err := onConn(context.Background(), e, func(c *conn) (*sftp.Client, error) {
			return sftp.NewClient(c.client, sftp.UseConcurrentWrites(true))
		})
		if err != nil {
			return nil, "", e.cause(fmt.Errorf("cannot start SFTP: %w", err))
		}
		e.sftp = c
	}
	return e.sftp, base, nil
}

// sftpWriter is the sendtree.Writer of a remote stream.
type sftpWriter struct{ c *sftp.Client }

func (w sftpWriter) MkdirAll(dir string) error { return w.c.MkdirAll(dir) }

func (w sftpWriter) Mkdir(name string) error {
	err := w.c.Mkdir(name)
	if err == nil {
		return nil
	}
	fi, serr := w.c.Stat(name)
	if serr != nil || !fi.IsDir() {
		return err
	}
	return w.c.Chmod(name, fi.Mode().Perm()|0o700)
}

// WriteFile replaces name. Knowing the size lets the SFTP client write
// several packets at once (it learns it from an io.LimitedReader, since
// sendtree's context check hides the file): 3.3 times as fast for a 10 MiB
// file on the lab (BenchmarkSend).
func (w sftpWriter) WriteFile(ctx context.Context, name string, perm fs.FileMode, size int64, r io.Reader) error {
	// A link is replaced, not written through; a read-only file too.
	if fi, err := w.c.Lstat(name); err == nil && (!fi.Mode().IsRegular() || fi.Mode().Perm()&0o200 == 0) {
		if err := w.c.Remove(name); err != nil {
			return err
		}
	}
	f, err := w.c.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return err
	}
	if _, err := f.ReadFrom(&io.LimitedReader{R: r, N: size}); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (w sftpWriter) Symlink(target, name string) error {
	if fi, err := w.c.Lstat(name); err == nil {
		if fi.IsDir() {
			return errors.New("a directory is in the way")
		}
		if err := w.c.Remove(name); err != nil {
			return err
		}
	}
	return w.c.Symlink(target, name)
}

func (w sftpWriter) Chmod(name string, perm fs.FileMode) error { return w.c.Chmod(name, perm) }
