package container

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/stream/sendtree"
)

// Send copies local (a file or a directory, recursively) into the container
// at remote, as package sendtree describes; a relative remote is relative
// to WorkDir.
//
// The tree goes as a tar stream into `tar -x` in the container, several
// times faster than the engine's archive upload (which mounts the
// container's file system for each copy); an image without tar gets the
// upload.
func (e *Env) Send(ctx context.Context, local, remote string) error {
	eng, id, err := e.ready(ctx)
	if err != nil {
		return err
	}
	if !path.IsAbs(remote) {
		remote = path.Join(workDir, remote)
	}
	if !e.noTar.Load() {
		err := sendTar(ctx, e.untar, local, remote)
		if !errors.Is(err, errNoTar) {
			return err
		}
		e.noTar.Store(true)
	}
	upload := func(ctx context.Context, _ []string) (io.WriteCloser, func() error, error) {
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := eng.cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: pr})
			pr.CloseWithError(err)
			if err != nil {
				err = e.execErr(err)
			}
			done <- err
		}()
		return pw, func() error { return <-done }, nil
	}
	return sendTar(ctx, upload, local, remote)
}

// sendTar copies local to remote as a tar stream into what open starts.
func sendTar(ctx context.Context, open opener, local, remote string) error {
	w := &tarWriter{ctx: ctx, open: open}
	if err := sendtree.Copy(ctx, w, local, remote); err != nil {
		w.abort()
		return err
	}
	return w.finish()
}

// errNoTar is the untar exec's error when the image has no tar.
var errNoTar = errors.New("the image has no tar")

// untarScript extracts a tar stream from stdin at /, after making the
// missing parents $@ (0755, existing ones kept).
const untarScript = mkWorkDir + `
command -v tar >/dev/null 2>&1 || exit 127
[ $# = 0 ] || mkdir -p -- "$@" || exit 1
exec tar -x -m -f - -C /`

// untar starts `tar -x` in the container: it returns its stdin and a wait
// that says how it ended.
func (e *Env) untar(ctx context.Context, mkdirs []string) (io.WriteCloser, func() error, error) {
	e.mu.Lock()
	eng, id := e.eng, e.id
	e.mu.Unlock()
	argv := append([]string{"/bin/sh", "-c", untarScript, "streamtest-untar"}, mkdirs...)
	created, err := eng.cli.ExecCreate(ctx, id, client.ExecCreateOptions{
		AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: argv,
	})
	if err != nil {
		return nil, nil, e.execErr(err)
	}
	hj, err := eng.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, nil, e.execErr(err)
	}
	// The output ends when tar does: if tar stops before its input ends,
	// closing the connection ends the writes that nobody reads anymore.
	var out bytes.Buffer
	outDone := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&out, &out, hj.Reader)
		hj.Close()
		outDone <- err
	}()
	wait := func() error {
		if err := <-outDone; err != nil {
			return e.execErr(err)
		}
		ins, err := eng.cli.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		switch {
		case err != nil:
			return e.execErr(err)
		case ins.ExitCode == 127:
			return errNoTar
		case ins.ExitCode != 0:
			return e.fail(&exitError{argv0: "tar", code: ins.ExitCode, out: strings.TrimSpace(out.String())})
		}
		return nil
	}
	return hjStdin{hj.Conn, hj.CloseWrite}, wait, nil
}

// hjStdin is the stdin of an exec: Close ends the input, the output stays.
type hjStdin struct {
	io.Writer
	close func() error
}

func (h hjStdin) Close() error { return h.close() }

// tarWriter is the sendtree.Writer of a container stream: it writes the
// tree as one tar stream, into what open returns when the first entry comes
// (tar in the container, or the engine's upload). Directories are made
// owner-writable first; their own modes come as second entries at the end,
// which tar applies to the existing directories, so read-only directories
// are filled before they become read-only.
type tarWriter struct {
	ctx  context.Context
	open opener

	mkdirs []string // MkdirAll's directories, made before the stream
	in     io.WriteCloser
	buf    *bufio.Writer
	tw     *tar.Writer
	wait   func() error
	ended  bool // in was closed and wait called
	err    error
}

// opener starts the extraction of a tar stream in the container, after
// making the directories mkdirs; it returns the stream's input and a wait
// that says how the extraction ended.
type opener func(ctx context.Context, mkdirs []string) (in io.WriteCloser, wait func() error, err error)

var _ sendtree.Writer = (*tarWriter)(nil)

// MkdirAll makes dir and its missing parents before the tar stream.
func (w *tarWriter) MkdirAll(dir string) error {
	if w.tw != nil {
		return w.entry(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755})
	}
	w.mkdirs = append(w.mkdirs, dir)
	return nil
}

// Mkdir makes name, writable by its owner, or keeps the directory there.
func (w *tarWriter) Mkdir(name string) error {
	return w.entry(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o700})
}

// WriteFile writes the file name.
func (w *tarWriter) WriteFile(_ context.Context, name string, perm fs.FileMode, size int64, r io.Reader) error {
	if err := w.entry(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(perm), Size: size}); err != nil {
		return err
	}
	if _, err := io.CopyN(w.tw, r, size); err != nil {
		return w.failed(err)
	}
	return nil
}

// Symlink makes name a link to target.
func (w *tarWriter) Symlink(target, name string) error {
	return w.entry(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
}

// Chmod gives the directory name its mode: a second entry of it.
func (w *tarWriter) Chmod(name string, perm fs.FileMode) error {
	return w.entry(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: int64(perm)})
}

// entry writes a header, starting the stream at the first.
func (w *tarWriter) entry(h *tar.Header) error {
	if w.tw == nil {
		if err := w.start(); err != nil {
			return err
		}
	}
	h.Name = strings.TrimPrefix(h.Name, "/")
	if h.Typeflag == tar.TypeDir {
		h.Name += "/"
	}
	h.Uname, h.Gname, h.Format = "root", "root", tar.FormatPAX
	if err := w.tw.WriteHeader(h); err != nil {
		return w.failed(err)
	}
	return nil
}

func (w *tarWriter) start() error {
	in, wait, err := w.open(w.ctx, w.mkdirs)
	if err != nil {
		return err
	}
	w.in, w.wait = in, wait
	w.buf = bufio.NewWriterSize(in, 64<<10)
	w.tw = tar.NewWriter(w.buf)
	return nil
}

// end closes the stream's input and waits for the extraction, once.
func (w *tarWriter) end() error {
	if !w.ended {
		w.ended = true
		w.in.Close()
		w.err = w.wait()
	}
	return w.err
}

// failed returns the extraction's error when a write failed because the
// extraction ended, else err.
func (w *tarWriter) failed(err error) error {
	if werr := w.end(); werr != nil {
		return werr
	}
	return err
}

// abort ends a stream that will not be finished.
func (w *tarWriter) abort() {
	if w.tw != nil {
		_ = w.end()
	}
}

// finish ends the stream and waits for the extraction.
func (w *tarWriter) finish() error {
	if w.tw == nil {
		if err := w.start(); err != nil {
			return err
		}
	}
	if err := w.tw.Close(); err != nil {
		return w.failed(err)
	}
	if err := w.buf.Flush(); err != nil {
		return w.failed(err)
	}
	return w.end()
}
