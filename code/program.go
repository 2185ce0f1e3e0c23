package code

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/streamtest/streamtest/code/elfdeps"
	"github.com/streamtest/streamtest/stream"
)

// Program ships the local executable at path to the stream, with the ELF
// loader and the shared libraries it needs (package elfdeps finds them as
// the loader would), and runs it with args: a program of this machine runs
// on a stream that has none of its libraries, an image with nothing but
// busybox included. A path without a slash is looked up in the test
// process's PATH.
//
// A dynamically linked program runs through the shipped loader,
// LOADER --argv0 PATH --library-path DIRS PROGRAM ARGS, so the loader that
// PT_INTERP names need not exist on the stream; the program's argv[0] is
// path as given (where the loader has --argv0: glibc 2.33 and later), but
// its /proc/self/exe is the loader. A static program is shipped and run
// alone. Every file goes to a directory named by a hash of its content
// under the work directory's blocks/elf, links resolved (a library is the
// real file under the name the loader looks for), and is sent once per
// stream, on streams whose Target is a SendOnce.
//
// It is an error, from SendSelf and before anything is sent: a file that
// is not an ELF program (a script: use Script), a library not found on
// this machine (naming it and who needs it), and a program the stream
// cannot run (an ELF of another machine), where the stream can say its
// platform (stream.Platformer).
//
// What the program opens at run time is not shipped: modules it loads
// with dlopen (NSS, plugins), data files (an interpreter's standard
// library).
func Program(path string, args ...string) Block { return programBlock{path: path, args: args} }

// SendOnce is the optional interface of a Target that remembers, for as
// long as the stream's environment lives, which paths were sent to it, so
// that a block sends content-addressed files (a path whose name holds a
// hash of its content) once per stream. A recreated environment (after
// Terminate) starts with nothing sent. Program uses it.
type SendOnce interface {
	// Sent reports whether remote (relative to WorkDir) was marked sent on
	// the stream's current environment.
	Sent(remote string) bool
	// MarkSent marks the remote paths sent on the stream's current
	// environment.
	MarkSent(remote ...string)
}

type programBlock struct {
	path string
	args []string
}

func (b programBlock) Kind() string { return "program" }
func (b programBlock) String() string {
	return summarize(strings.Join(append([]string{b.path}, b.args...), " "))
}
func (b programBlock) Text() string { return quoteArgs(append([]string{b.path}, b.args...)) }

// elfDir is where Program's files go, below the work directory.
const elfDir = "blocks/elf"

// shipped is a file to send: the real local file, and its path below the
// work directory.
type shipped struct {
	real   string
	remote string
}

func (b programBlock) SendSelf(ctx context.Context, t Target) (*Plan, error) {
	exe, err := b.locate()
	if err != nil {
		return nil, err
	}
	obj, err := elfdeps.Read(exe)
	if err != nil {
		return nil, b.notProgram(err)
	}
	if err := checkPlatform(ctx, t, b.path, obj); err != nil {
		return nil, err
	}
	prog, err := elfdeps.Resolve(exe)
	if err != nil {
		return nil, b.notProgram(err)
	}
	main, err := toShip(prog.Real, filepath.Base(exe))
	if err != nil {
		return nil, err
	}
	files := []shipped{main}
	var loader shipped
	var libDirs []string
	if !prog.Static() {
		if loader, err = toShip(prog.Loader.Real, prog.Loader.Name); err != nil {
			return nil, err
		}
		files = append(files, loader)
		for _, l := range prog.Libs {
			f, err := toShip(l.Real, l.Name)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
			libDirs = append(libDirs, path.Join(t.WorkDir(), path.Dir(f.remote)))
		}
	}
	if err := sendFiles(ctx, t, files); err != nil {
		return nil, fmt.Errorf("code.Program: sending %s: %w", b.path, err)
	}
	run := path.Join(t.WorkDir(), main.remote)
	if prog.Static() {
		return &Plan{Args: append([]string{run}, b.args...)}, nil
	}
	args := []string{path.Join(t.WorkDir(), loader.remote)}
	argv0, err := hasArgv0(prog.Loader.Real)
	if err != nil {
		return nil, fmt.Errorf("code.Program: reading the loader %s: %w", prog.Loader.Real, err)
	}
	if argv0 {
		args = append(args, "--argv0", b.path)
	}
	if len(libDirs) > 0 {
		libPath := strings.Join(unique(libDirs), ":")
		if strings.Contains(t.WorkDir(), ":") {
			return nil, fmt.Errorf("code.Program: the stream's work directory %s holds a colon: the loader's --library-path cannot name it", t.WorkDir())
		}
		args = append(args, "--library-path", libPath)
	}
	args = append(append(args, run), b.args...)
	return &Plan{Args: args}, nil
}

// locate finds the program on this machine.
func (b programBlock) locate() (string, error) {
	if b.path == "" {
		return "", errors.New("code.Program: no program given")
	}
	p := b.path
	if !strings.Contains(p, "/") {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("code.Program: %s is not in this machine's PATH (the program is shipped from the test's machine; use Exec for one of the stream's): %w", p, err)
		}
		p = found
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("code.Program: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("code.Program: %w", err)
	}
	return abs, nil
}

// notProgram words an error of elfdeps for the test writer.
func (b programBlock) notProgram(err error) error {
	var np *elfdeps.NotProgramError
	if errors.As(err, &np) && np.Script != "" {
		return fmt.Errorf("code.Program: %w: ship it with code.Script, or ship its interpreter with code.Program", err)
	}
	return fmt.Errorf("code.Program: %w", err)
}

// checkPlatform refuses a program the stream cannot run, when the stream
// can say its platform; when it cannot, the program is shipped and left
// to run.
func checkPlatform(ctx context.Context, t Target, name string, o *elfdeps.Object) error {
	p, ok := t.(stream.Platformer)
	if !ok {
		return nil
	}
	goos, goarch, err := p.Platform(ctx)
	if err != nil || goos == "" || goarch == "" || o.RunsOn(goos, goarch) {
		return nil
	}
	// The manager's prefix names the stream ("stream 2 (container, ...)").
	return fmt.Errorf("code.Program: program %s is a %s ELF for %s, and the stream runs %s/%s: nothing was sent",
		name, o.OS(), o.Arch(), goos, goarch)
}

// toShip names the local file real on the stream: blocks/elf/HASH/name,
// HASH of its content and permission bits.
func toShip(real, name string) (shipped, error) {
	h, err := fileHash(real)
	if err != nil {
		return shipped{}, fmt.Errorf("code.Program: %w", err)
	}
	return shipped{real: real, remote: path.Join(elfDir, h, name)}, nil
}

// sendFiles sends the files the target has not had yet, in one Send: a
// local tree of links to them, which Send follows.
func sendFiles(ctx context.Context, t Target, files []shipped) error {
	memo, _ := t.(SendOnce)
	stage, err := os.MkdirTemp("", "streamtest-program-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	if err := os.Chmod(stage, 0o755); err != nil {
		return err
	}
	var sent []string
	for _, f := range files {
		if memo != nil && memo.Sent(f.remote) || slicesContains(sent, f.remote) {
			continue
		}
		rel := strings.TrimPrefix(f.remote, elfDir+"/")
		dir := filepath.Join(stage, filepath.FromSlash(path.Dir(rel)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.Symlink(f.real, filepath.Join(stage, filepath.FromSlash(rel))); err != nil {
			return err
		}
		sent = append(sent, f.remote)
	}
	if len(sent) == 0 {
		return nil
	}
	if err := t.Send(ctx, stage, elfDir); err != nil {
		return err
	}
	if memo != nil {
		memo.MarkSent(sent...)
	}
	return nil
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func unique(list []string) []string {
	var out []string
	for _, s := range list {
		if !slicesContains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// fileKey is what tells a file's content has not changed since it was
// hashed.
type fileKey struct {
	path       string
	dev, ino   uint64
	size       int64
	mtime, ctm int64
	mode       os.FileMode
}

var (
	hashMu sync.Mutex
	hashes = map[fileKey]string{}
)

// fileHash is the first 12 hex digits of the SHA-256 of the file's
// permission bits and content, computed once per process for a file that
// did not change.
func fileHash(name string) (string, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return "", err
	}
	key := fileKey{path: name, size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: fi.Mode()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		key.dev, key.ino, key.ctm = uint64(st.Dev), st.Ino, st.Ctim.Nano()
	}
	hashMu.Lock()
	h, ok := hashes[key]
	hashMu.Unlock()
	if ok {
		return h, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum := sha256.New()
	fmt.Fprintf(sum, "%o\x00", fi.Mode().Perm())
	if _, err := io.Copy(sum, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", name, err)
	}
	h = hex.EncodeToString(sum.Sum(nil)[:6])
	hashMu.Lock()
	hashes[key] = h
	hashMu.Unlock()
	return h, nil
}

var (
	argv0Mu sync.Mutex
	argv0s  = map[string]bool{}
)

// hasArgv0 reports whether the loader at real understands --argv0
// (glibc's does from 2.33): its option table holds the word. It is read
// once per loader file.
func hasArgv0(real string) (bool, error) {
	h, err := fileHash(real)
	if err != nil {
		return false, err
	}
	argv0Mu.Lock()
	ok, known := argv0s[h]
	argv0Mu.Unlock()
	if known {
		return ok, nil
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return false, err
	}
	ok = bytes.Contains(data, []byte("--argv0\x00")) || bytes.Contains(data, []byte("--argv0 "))
	argv0Mu.Lock()
	argv0s[h] = ok
	argv0Mu.Unlock()
	return ok, nil
}
