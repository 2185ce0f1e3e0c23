package dockerlab

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/lab/sshdconf"
)

// The images `streamtest lab image` builds. None comes from a registry:
// each is made FROM scratch out of this machine's own binaries.
const (
	// BaseImage has busybox (sh, ping, sleep, kill, setsid, ip, nc, ...).
	// It is the container stream's default image.
	BaseImage = "streamtest/base:latest"
	// PythonImage is BaseImage plus this machine's python3 and its
	// standard library.
	PythonImage = "streamtest/python:latest"
	// SSHDImage is PythonImage plus OpenSSH's sshd and a user for the
	// docker lab's hosts.
	SSHDImage = "streamtest/sshd:latest"
)

// LabelImage marks the images built here; the value is the image's name.
const LabelImage = "dev.streamtest.image"

// LabUser is the unprivileged user the lab's sshd image logs in.
const LabUser = "streamtest"

// LabUID is its uid and gid.
const LabUID = 1000

// Images lists the images Build knows, in build order.
var Images = []string{BaseImage, PythonImage, SSHDImage, NetAdminImage}

// what the images need from this machine
var (
	busyboxPaths = []string{"/bin/busybox", "/usr/bin/busybox"}
	pythonPaths  = []string{"/usr/bin/python3", "/usr/local/bin/python3"}
	sshdPaths    = []string{"/usr/sbin/sshd"}
)

// Build builds the named images (all of Images when names is empty) and
// writes progress to w. An image that needs another one builds it first.
func Build(ctx context.Context, cli client.APIClient, w io.Writer, names ...string) error {
	if len(names) == 0 {
		names = Images
	}
	done := map[string]bool{}
	var build func(name string) error
	build = func(name string) error {
		if done[name] {
			return nil
		}
		var root *rootfs
		var err error
		switch name {
		case BaseImage:
			root, err = baseRoot()
		case PythonImage:
			root, err = pythonRoot()
		case SSHDImage:
			root, err = sshdRoot()
		case NetAdminImage:
			root, err = netadminRoot()
		default:
			return fmt.Errorf("unknown image %s; known: %s", name, strings.Join(Images, ", "))
		}
		if err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
		start := time.Now()
		if err := buildImage(ctx, cli, name, root); err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
		fmt.Fprintf(w, "built %s (%d files, %.1f MB) in %v\n", name, len(root.entries), float64(root.size)/1e6, time.Since(start).Round(time.Millisecond))
		done[name] = true
		return nil
	}
	for _, n := range names {
		if err := build(n); err != nil {
			return err
		}
	}
	return nil
}

// Ensure builds those of names that are not on the engine yet.
func Ensure(ctx context.Context, cli client.APIClient, w io.Writer, names ...string) error {
	var missing []string
	for _, n := range names {
		if _, err := cli.ImageInspect(ctx, n); err != nil {
			if !cerrdefs.IsNotFound(err) {
				return err
			}
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return Build(ctx, cli, w, missing...)
}

// rootfs is the file tree of an image, built in memory before it is sent
// as the build context.
type rootfs struct {
	entries map[string]*entry // by path without leading "/"
	size    int64
	cmd     []string
}

type entry struct {
	typ      byte // tar.TypeReg, TypeDir, TypeSymlink
	mode     int64
	uid      int
	src      string // host file for a regular file; "" when data is set
	data     []byte
	linkname string
}

func newRoot() *rootfs { return &rootfs{entries: map[string]*entry{}} }

func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

func (r *rootfs) dir(p string, mode int64, uid int) {
	p = clean(p)
	if p == "" {
		return
	}
	r.parents(p)
	r.entries[p] = &entry{typ: tar.TypeDir, mode: mode, uid: uid}
}

func (r *rootfs) parents(p string) {
	for d := path.Dir(p); d != "." && d != "/" && d != ""; d = path.Dir(d) {
		if _, ok := r.entries[d]; !ok {
			r.entries[d] = &entry{typ: tar.TypeDir, mode: 0o755}
		}
	}
}

func (r *rootfs) file(p string, data []byte, mode int64, uid int) {
	p = clean(p)
	r.parents(p)
	r.entries[p] = &entry{typ: tar.TypeReg, mode: mode, uid: uid, data: data}
	r.size += int64(len(data))
}

func (r *rootfs) symlink(p, target string) {
	p = clean(p)
	r.parents(p)
	r.entries[p] = &entry{typ: tar.TypeSymlink, mode: 0o777, linkname: target}
}

// copyFile adds the host file src at p (the same path by default), with
// its mode, following symlinks.
func (r *rootfs) copyFile(src, p string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if p == "" {
		p = src
	}
	p = clean(p)
	r.parents(p)
	r.entries[p] = &entry{typ: tar.TypeReg, mode: int64(fi.Mode().Perm()), src: src}
	r.size += fi.Size()
	return nil
}

// copyTree adds the host directory src at the same path, skipping the
// directories named in skip.
func (r *rootfs) copyTree(src string, skip map[string]bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[d.Name()] && p != src {
				return filepath.SkipDir
			}
			r.dir(p, 0o755, 0)
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			r.symlink(p, t)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return r.copyFile(p, "")
	})
}

// binary adds a host executable and every shared library it needs (as ldd
// lists them), at their own paths.
func (r *rootfs) binary(src, p string, extraLibsOf ...string) error {
	if err := r.copyFile(src, p); err != nil {
		return err
	}
	return r.libs(append([]string{src}, extraLibsOf...)...)
}

var lddLine = regexp.MustCompile(`(?:=>\s*)?(/\S+)\s+\(0x`)

// libs adds the shared libraries of the host files objs.
func (r *rootfs) libs(objs ...string) error {
	for _, o := range objs {
		out, err := exec.Command("ldd", o).Output()
		if err != nil {
			// "not a dynamic executable": nothing to add.
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			m := lddLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			lib := m[1]
			if _, ok := r.entries[clean(lib)]; ok {
				continue
			}
			if err := r.copyFile(lib, lib); err != nil {
				return fmt.Errorf("library of %s: %w", o, err)
			}
		}
	}
	return nil
}

func firstExisting(paths []string, what, pkg string) (string, error) {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not on this machine (looked at %s); install it: apt-get install %s", what, strings.Join(paths, ", "), pkg)
}

// baseRoot is busybox with a link for every applet, /etc/passwd, /tmp.
func baseRoot() (*rootfs, error) {
	bb, err := firstExisting(busyboxPaths, "a static busybox", "busybox-static")
	if err != nil {
		return nil, err
	}
	if out, err := exec.Command("ldd", bb).CombinedOutput(); err == nil && !strings.Contains(string(out), "not a dynamic") && !strings.Contains(string(out), "statically linked") {
		return nil, fmt.Errorf("%s is not statically linked; install busybox-static", bb)
	}
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", bb, err)
	}
	r := newRoot()
	if err := r.copyFile(bb, "/bin/busybox"); err != nil {
		return nil, err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		r.symlink("/bin/"+applet, "busybox")
	}
	r.symlink("/usr/bin/env", "/bin/busybox")
	r.dir("/sbin", 0o755, 0)
	r.dir("/usr/sbin", 0o755, 0)
	r.dir("/tmp", 0o1777, 0)
	r.dir("/var/tmp", 0o1777, 0)
	r.dir("/root", 0o700, 0)
	r.dir("/etc", 0o755, 0)
	r.dir("/run", 0o755, 0)
	r.dir("/home", 0o755, 0)
	r.file("/etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"), 0o644, 0)
	r.file("/etc/group", []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644, 0)
	r.file("/etc/hosts", []byte("127.0.0.1 localhost\n"), 0o644, 0)
	r.file("/etc/nsswitch.conf", []byte("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"), 0o644, 0)
	r.cmd = []string{"/bin/sh"}
	return r, nil
}

// pythonRoot adds python3, its standard library and their libraries.
func pythonRoot() (*rootfs, error) {
	r, err := baseRoot()
	if err != nil {
		return nil, err
	}
	py, err := firstExisting(pythonPaths, "python3", "python3")
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(py)
	if err != nil {
		return nil, err
	}
	// Ask python itself where its standard library is.
	out, err := exec.Command(real, "-S", "-c", "import sys, sysconfig; print(sysconfig.get_path('stdlib')); print(sys.version_info[0]*100+sys.version_info[1])").Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", real, err)
	}
	lines := strings.Fields(string(out))
	if len(lines) < 1 {
		return nil, fmt.Errorf("%s did not name its standard library", real)
	}
	stdlib := lines[0]
	skip := map[string]bool{"test": true, "tests": true, "__pycache__": true, "idlelib": true, "tkinter": true,
		"turtledemo": true, "ensurepip": true, "lib2to3": true, "site-packages": true, "dist-packages": true, "config-3.11-x86_64-linux-gnu": true}
	if err := r.copyTree(stdlib, skip); err != nil {
		return nil, err
	}
	if err := r.copyFile(real, real); err != nil {
		return nil, err
	}
	r.symlink("/usr/bin/python3", real)
	if real != "/usr/bin/python3" && path.Dir(real) == "/usr/bin" {
		r.symlink("/usr/bin/python3", path.Base(real))
	}
	objs := []string{real}
	dyn := filepath.Join(stdlib, "lib-dynload")
	ents, _ := os.ReadDir(dyn)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".so") {
			objs = append(objs, filepath.Join(dyn, e.Name()))
		}
	}
	if err := r.libs(objs...); err != nil {
		return nil, err
	}
	r.cmd = []string{"/usr/bin/python3"}
	return r, nil
}

// sshdRoot adds OpenSSH's sshd, the lab user and the privilege separation
// directory. Host keys and authorized_keys are put in per container by
// `streamtest lab up`.
func sshdRoot() (*rootfs, error) {
	r, err := pythonRoot()
	if err != nil {
		var pe error = err
		// Python is a nicety on lab hosts; sshd is not.
		if r, err = baseRoot(); err != nil {
			return nil, errors.Join(pe, err)
		}
	}
	sshd, err := firstExisting(sshdPaths, "OpenSSH's sshd", "openssh-server")
	if err != nil {
		return nil, err
	}
	if err := r.binary(sshd, "/usr/sbin/sshd"); err != nil {
		return nil, err
	}
	// busybox's ping needs a raw socket (root); iputils' ping, when the
	// machine has it, uses ICMP datagram sockets, which the lab allows to
	// every user (net.ipv4.ping_group_range). For the login shell to find
	// it (sshd's PATH has /usr/bin before /bin), /bin/sh is dash: Debian's
	// static busybox shell runs its own applets before anything on PATH.
	if _, err := os.Stat("/usr/bin/ping"); err == nil {
		if err := r.binary("/usr/bin/ping", "/usr/bin/ping"); err != nil {
			return nil, err
		}
	}
	for _, dash := range []string{"/usr/bin/dash", "/bin/dash"} {
		if _, err := os.Stat(dash); err == nil {
			if err := r.binary(dash, "/bin/dash"); err != nil {
				return nil, err
			}
			r.symlink("/bin/sh", "dash")
			break
		}
	}
	r.file("/etc/passwd", []byte(fmt.Sprintf(`root:x:0:0:root:/root:/bin/sh
sshd:x:100:65534::/run/sshd:/bin/false
%s:x:%d:%d:streamtest lab:/home/%s:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`, LabUser, LabUID, LabUID, LabUser)), 0o644, 0)
	r.file("/etc/group", []byte(fmt.Sprintf("root:x:0:\n%s:x:%d:\nnogroup:x:65534:\n", LabUser, LabUID)), 0o644, 0)
	// "*": no usable password, but not locked ("!"), which sshd refuses.
	r.file("/etc/shadow", []byte(fmt.Sprintf("root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n%s:*:19000:0:99999:7:::\n", LabUser)), 0o600, 0)
	r.dir("/run/sshd", 0o755, 0)
	r.dir("/var/empty", 0o755, 0)
	r.dir("/home/"+LabUser, 0o755, LabUID)
	r.dir("/home/"+LabUser+"/.ssh", 0o700, LabUID)
	r.dir("/etc/ssh", 0o755, 0)
	r.file("/etc/ssh/sshd_config", []byte(sshdConfig), 0o644, 0)
	r.cmd = []string{"/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"}
	return r, nil
}

var sshdConfig = sshdconf.Config(sshdconf.Options{
	Comment:  "sshd of a streamtest docker lab host",
	HostKey:  "/etc/ssh/ssh_host_ed25519_key",
	PidFile:  "/run/sshd.pid",
	User:     LabUser,
	Password: false,
})

// buildImage sends root as the context of a FROM scratch build.
func buildImage(ctx context.Context, cli client.APIClient, name string, root *rootfs) error {
	var oldID string
	if ins, err := cli.ImageInspect(ctx, name); err == nil {
		oldID = ins.ID
	}
	if err := buildContext(ctx, cli, name, root); err != nil {
		return err
	}
	ins, err := cli.ImageInspect(ctx, name)
	if err != nil {
		return err
	}
	if oldID != "" && oldID != ins.ID {
		// The image it replaces would be left untagged, a build's worth
		// of disk each time; an error here means containers still use it.
		_, _ = cli.ImageRemove(ctx, oldID, client.ImageRemoveOptions{PruneChildren: true})
	}
	return nil
}

func buildContext(ctx context.Context, cli client.APIClient, name string, root *rootfs) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContext(pw, name, root)) }()
	resp, err := cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags:        []string{name},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelImage: name},
	})
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
	return nil
}

func writeContext(w io.Writer, name string, root *rootfs) error {
	tw := tar.NewWriter(w)
	cmd, _ := json.Marshal(root.cmd)
	df := fmt.Sprintf("# %s, built by streamtest lab image\nFROM scratch\nCOPY rootfs/ /\nCMD %s\n", name, cmd)
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df)), ModTime: now}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, df); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "rootfs/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: now}); err != nil {
		return err
	}
	paths := make([]string, 0, len(root.entries))
	for p := range root.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents before children
	for _, p := range paths {
		e := root.entries[p]
		h := &tar.Header{Name: "rootfs/" + p, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: now, Linkname: e.linkname}
		if e.typ == tar.TypeDir {
			h.Name += "/"
		}
		var data io.Reader
		if e.typ == tar.TypeReg {
			if e.src != "" {
				f, err := os.Open(e.src)
				if err != nil {
					return err
				}
				fi, err := f.Stat()
				if err != nil {
					f.Close()
					return err
				}
				h.Size = fi.Size()
				data = f
			} else {
				h.Size = int64(len(e.data))
				data = bytes.NewReader(e.data)
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if data != nil {
			_, err := io.Copy(tw, data)
			if c, ok := data.(io.Closer); ok {
				c.Close()
			}
			if err != nil {
				return err
			}
		}
	}
	return tw.Close()
}
