package sendtree

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// OS is the Writer of streams whose files are on this machine's file
// system (the local and sandbox types): paths are used as they are.
type OS struct{}

// MkdirAll makes dir and its missing parents.
func (OS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

// Mkdir makes name (0700) or keeps an existing directory writable.
func (OS) Mkdir(name string) error {
	err := os.Mkdir(name, 0o700)
	if errors.Is(err, fs.ErrExist) {
		fi, serr := os.Stat(name)
		if serr != nil || !fi.IsDir() {
			return err
		}
		return os.Chmod(name, fi.Mode().Perm()|0o700)
	}
	return err
}

// WriteFile creates or replaces name: what is there, unless a directory,
// is removed first, so that a read-only file or a link there is replaced,
// not written through.
//
// No process is forked while the file is open for writing (it holds
// syscall.ForkLock): a child forked meanwhile would hold the file open
// until it execs, and running the file sent ("text file busy") would fail
// for as long, as when several local streams get one Go block at once.
func (OS) WriteFile(ctx context.Context, name string, perm fs.FileMode, size int64, r io.Reader) error {
	if fi, err := os.Lstat(name); err == nil && !fi.IsDir() {
		if err := os.Remove(name); err != nil {
			return err
		}
	}
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Symlink makes name a link to target, replacing a file or link there.
func (OS) Symlink(target, name string) error {
	if fi, err := os.Lstat(name); err == nil && !fi.IsDir() {
		if err := os.Remove(name); err != nil {
			return err
		}
	}
	return os.Symlink(target, name)
}

// Chmod sets name's permission bits.
func (OS) Chmod(name string, perm fs.FileMode) error { return os.Chmod(name, perm) }
