package elfdeps_test

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/streamtest/streamtest/code/elfdeps"
	"github.com/streamtest/streamtest/internal/testenv"
)

// TestResolveSystemPrograms resolves programs of this machine and checks
// the result against what this machine's loader maps for them.
func TestResolveSystemPrograms(t *testing.T) {
	for _, prog := range []string{"/bin/ls", "/usr/bin/env", "/usr/bin/python3"} {
		t.Run(filepath.Base(prog), func(t *testing.T) {
			_, err := os.Stat(prog)
			testenv.Need(t, err == nil, prog, "apt-get install coreutils python3 (make test installs python3)")
			p := checkAgainstLoader(t, elfdeps.System(), prog)
			if p.Loader.NeededBy != p.Path || p.Loader.Name != filepath.Base(p.Interp) {
				t.Errorf("loader %+v, want the base name of PT_INTERP %s, needed by %s", p.Loader, p.Interp, p.Path)
			}
			if fi, err := os.Lstat(p.Interp); err == nil && fi.Mode()&os.ModeSymlink != 0 && p.Loader.Real == p.Interp {
				t.Errorf("the loader's PT_INTERP %s is a link, but Real is the link itself", p.Interp)
			}
			if !p.RunsOn("linux", runtime.GOARCH) {
				t.Errorf("%s (%s) does not run on linux/%s", prog, p.Arch(), runtime.GOARCH)
			}
		})
	}
}

// TestResolveCgoProgram resolves a Go program built with cgo: it needs the
// C library, as the loader says.
func TestResolveCgoProgram(t *testing.T) {
	needCC(t)
	prog := testenv.BuildGo(t, cgoSource, "CGO_ENABLED=1")
	p := checkAgainstLoader(t, elfdeps.System(), prog)
	var libc *elfdeps.Lib
	for _, l := range p.Libs {
		if strings.HasPrefix(l.Name, "libc.so") {
			libc = l
		}
	}
	if libc == nil || libc.NeededBy != p.Path {
		t.Errorf("the cgo program's libraries %v: no C library needed by the program itself", names(p.Libs))
	}
}

const cgoSource = `package main

// #include <unistd.h>
import "C"

import "fmt"

func main() { fmt.Println("pid", C.getpid()) }
`

const plainSource = `package main

import "fmt"

func main() { fmt.Println("hello") }
`

// TestResolveStatic: a Go program without cgo has no loader and ships
// alone.
func TestResolveStatic(t *testing.T) {
	prog := testenv.BuildGo(t, plainSource, "CGO_ENABLED=0")
	p, err := elfdeps.Resolve(prog)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Static() || p.Interp != "" || len(p.Files()) != 0 {
		t.Errorf("static program: Static %v, Interp %q, files %v", p.Static(), p.Interp, names(p.Files()))
	}
	if !p.RunsOn("linux", runtime.GOARCH) || p.GOARCH() != runtime.GOARCH {
		t.Errorf("a program built for %s: GOARCH %q", runtime.GOARCH, p.GOARCH())
	}
}

// otherArch is a GOARCH this machine is not.
func otherArch() (goarch, uname string) {
	if runtime.GOARCH == "arm64" {
		return "amd64", "x86_64"
	}
	return "arm64", "aarch64"
}

// TestResolveOtherArchitecture: a program for another machine is read, not
// refused: the caller decides where it runs.
func TestResolveOtherArchitecture(t *testing.T) {
	goarch, uname := otherArch()
	prog := testenv.BuildGo(t, plainSource, "CGO_ENABLED=0", "GOARCH="+goarch)
	p, err := elfdeps.Resolve(prog)
	if err != nil {
		t.Fatal(err)
	}
	if p.GOARCH() != goarch || p.Arch() != uname || !p.Static() {
		t.Errorf("GOARCH=%s program: GOARCH %q, Arch %q, Static %v", goarch, p.GOARCH(), p.Arch(), p.Static())
	}
	if p.RunsOn("linux", runtime.GOARCH) || !p.RunsOn("linux", goarch) || p.RunsOn("darwin", goarch) {
		t.Errorf("RunsOn: linux/%s %v, linux/%s %v, darwin/%s %v", runtime.GOARCH, p.RunsOn("linux", runtime.GOARCH),
			goarch, p.RunsOn("linux", goarch), goarch, p.RunsOn("darwin", goarch))
	}

	// A dynamic one whose loader this machine does not have.
	fake := filepath.Join(t.TempDir(), "fake")
	interp := filepath.Join(t.TempDir(), "ld-linux-aarch64.so.1")
	f := arm64Lib
	f.typ, f.interp = elf.ET_DYN, interp
	f.write(t, fake, 0o755)
	o, err := elfdeps.Read(fake)
	if err != nil {
		t.Fatal(err)
	}
	if o.Interp != interp || o.Machine != elf.EM_AARCH64 {
		t.Errorf("Read: Interp %q, machine %v; want %q, EM_AARCH64", o.Interp, o.Machine, interp)
	}
	_, err = elfdeps.Resolve(fake)
	if err == nil || !strings.Contains(err.Error(), interp) || !strings.Contains(err.Error(), "not on this machine") {
		t.Errorf("Resolve of a program whose loader is missing: %v; want an error naming %s", err, interp)
	}
}

// TestNotPrograms: scripts and other files are refused, saying what they
// are.
func TestNotPrograms(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rel := filepath.Join(dir, "object.o")
	f := arm64Lib
	f.machine, f.typ = elf.EM_X86_64, elf.ET_REL
	f.write(t, rel, 0o644)
	cases := []struct {
		path, what, script string
	}{
		{write("script.sh", "#!/bin/sh -e\necho hi\n"), "a script (#!/bin/sh -e)", "/bin/sh -e"},
		{write("data.txt", "hello\n"), "not an ELF file", ""},
		{write("empty", ""), "an empty file", ""},
		{write("damaged", "\x7fELF\x02\x01"), "a damaged ELF file", ""},
		{dir, "a directory", ""},
		{rel, "an ELF relocatable object (ET_REL)", ""},
	}
	for _, c := range cases {
		_, err := elfdeps.Resolve(c.path)
		var np *elfdeps.NotProgramError
		if !errors.As(err, &np) {
			t.Errorf("Resolve(%s): %v, want a *NotProgramError", c.path, err)
			continue
		}
		if !strings.HasPrefix(np.What, c.what) || np.Script != c.script || np.Path != c.path {
			t.Errorf("Resolve(%s): %+v; want what %q, script %q", c.path, np, c.what, c.script)
		}
		if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), "not an ELF program") {
			t.Errorf("Resolve(%s): the message %q does not say which file is not a program", c.path, err)
		}
	}
}

// TestOSABI: an ELF for another system is not a Linux program.
func TestOSABI(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bsd")
	f := arm64Lib
	f.machine, f.osabi, f.typ = elf.EM_X86_64, elf.ELFOSABI_FREEBSD, elf.ET_EXEC
	f.write(t, p, 0o755)
	o, err := elfdeps.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if o.Linux() || o.OS() != "FreeBSD" || o.RunsOn("linux", "amd64") {
		t.Errorf("a FreeBSD ELF: Linux %v, OS %q, RunsOn(linux, amd64) %v", o.Linux(), o.OS(), o.RunsOn("linux", "amd64"))
	}
}

// libTree is a program that needs libbar, which needs libfoo, built with
// the C compiler.
type libTree struct {
	dir    string // the program's directory
	lib    string // dir/lib: libbar and libfoo
	loader string // this machine's loader, for the cross-checks
}

const progSource = `#include <stdio.h>
int bar(void);
int main(void) { printf("%d\n", bar()); return 0; }
`

// newLibTree builds dir/lib/libfoo.so.1 and dir/lib/libbar.so.1, which
// needs libfoo and is linked with barFlags (without them it has no
// DT_RUNPATH or DT_RPATH of its own).
func newLibTree(t *testing.T, barFlags ...string) *libTree {
	t.Helper()
	dir := t.TempDir()
	lt := &libTree{dir: dir, lib: filepath.Join(dir, "lib")}
	if err := os.Mkdir(lt.lib, 0o755); err != nil {
		t.Fatal(err)
	}
	sharedLib(t, lt.lib, "foo", 1, "", nil)
	sharedLib(t, lt.lib, "bar", 2, lt.lib, []string{"foo"}, barFlags...)
	p, err := elfdeps.Resolve("/bin/sh")
	if err != nil || p.Loader == nil {
		t.Fatalf("finding this machine's loader through /bin/sh: %v", err)
	}
	lt.loader = p.Loader.Real
	return lt
}

// prog builds a program named name in the tree's directory, linked with
// libbar and the extra linker arguments.
func (lt *libTree) prog(t *testing.T, name string, ldflags ...string) string {
	t.Helper()
	out := filepath.Join(lt.dir, name)
	cc(t, progSource, out, append([]string{"-L" + lt.lib, "-lbar", "-Wl,-rpath-link," + lt.lib}, ldflags...)...)
	return out
}

// noSystem is a search of the given LD_LIBRARY_PATH only, where the system
// directories hold the C library (and so what the loader needs).
func noSystem(llp ...string) *elfdeps.Search {
	return &elfdeps.Search{LibraryPath: llp, Conf: "/etc/ld.so.conf"}
}

func TestResolveLibraries(t *testing.T) {
	lt := newLibTree(t)

	t.Run("runpath with origin: needs of needs and links resolved", func(t *testing.T) {
		lt := newLibTree(t, "-Wl,--enable-new-dtags,-rpath,$ORIGIN")
		prog := lt.prog(t, "runpath", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib")
		p := checkAgainstLoader(t, noSystem(), prog)
		bar, foo := lib(p, "libbar.so.1"), lib(p, "libfoo.so.1")
		if bar == nil || foo == nil {
			t.Fatalf("libraries %v, want libbar.so.1 and libfoo.so.1", names(p.Libs))
		}
		if bar.NeededBy != prog || foo.NeededBy != bar.Path {
			t.Errorf("libbar needed by %s, libfoo by %s; want %s and %s", bar.NeededBy, foo.NeededBy, prog, bar.Path)
		}
		if foo.Path != filepath.Join(lt.lib, "libfoo.so.1") || foo.Real != filepath.Join(lt.lib, "libfoo.so.1.0.0") {
			t.Errorf("libfoo at %s (real %s); want the link libfoo.so.1 and its target libfoo.so.1.0.0", foo.Path, foo.Real)
		}
		if len(p.RunPath) != 1 || p.RunPath[0] != "$ORIGIN/lib" || p.RPath != nil {
			t.Errorf("RunPath %q, RPath %q; want [$ORIGIN/lib] and none", p.RunPath, p.RPath)
		}
	})

	t.Run("runpath is not inherited", func(t *testing.T) {
		// libbar has no path of its own: the program's DT_RUNPATH does
		// not serve libbar's needs, so libfoo is found nowhere.
		other := t.TempDir()
		bar := filepath.Join(other, "libbar.so.1")
		copyFile(t, filepath.Join(lt.lib, "libbar.so.1.0.0"), bar)
		prog := filepath.Join(other, "prog")
		copyFile(t, lt.prog(t, "runpath-other", "-Wl,--enable-new-dtags,-rpath,$ORIGIN"), prog)
		_, err := noSystem().Resolve(prog)
		var nf *elfdeps.NotFoundError
		if !errors.As(err, &nf) || nf.Name != "libfoo.so.1" || nf.NeededBy != bar {
			t.Fatalf("Resolve: %v; want libfoo.so.1, needed by %s, not found", err, bar)
		}
		if !strings.Contains(err.Error(), "libfoo.so.1") || !strings.Contains(err.Error(), bar) {
			t.Errorf("the message %q does not name the library and who needs it", err)
		}
		if out, err := exec.Command(lt.loader, "--list", prog).CombinedOutput(); err == nil {
			t.Errorf("the loader found every library of %s:\n%s", prog, out)
		}
	})

	t.Run("rpath is inherited", func(t *testing.T) {
		prog := lt.prog(t, "rpath", "-Wl,--disable-new-dtags,-rpath,"+lt.lib)
		p := checkAgainstLoader(t, noSystem(), prog)
		if foo := lib(p, "libfoo.so.1"); foo == nil || foo.Path != filepath.Join(lt.lib, "libfoo.so.1") {
			t.Errorf("libraries %v: libfoo not found through the program's DT_RPATH", names(p.Libs))
		}
	})

	t.Run("order: rpath then LD_LIBRARY_PATH then runpath", func(t *testing.T) {
		other := t.TempDir()
		sharedLib(t, other, "foo", 5, "", nil)
		sharedLib(t, other, "bar", 6, other, []string{"foo"})
		llp := "LD_LIBRARY_PATH=" + other
		rp := checkAgainstLoader(t, noSystem(other), lt.prog(t, "order-rpath", "-Wl,--disable-new-dtags,-rpath,"+lt.lib), llp)
		if b := lib(rp, "libbar.so.1"); b == nil || filepath.Dir(b.Path) != lt.lib {
			t.Errorf("DT_RPATH %s and LD_LIBRARY_PATH %s: libbar from %v; want DT_RPATH's", lt.lib, other, b)
		}
		rup := checkAgainstLoader(t, noSystem(other), lt.prog(t, "order-runpath", "-Wl,--enable-new-dtags,-rpath,"+lt.lib), llp)
		if b := lib(rup, "libbar.so.1"); b == nil || filepath.Dir(b.Path) != other {
			t.Errorf("DT_RUNPATH %s and LD_LIBRARY_PATH %s: libbar from %v; want LD_LIBRARY_PATH's", lt.lib, other, b)
		}
	})

	plain := lt.prog(t, "plain")

	t.Run("ld.so.conf and its includes", func(t *testing.T) {
		conf := t.TempDir()
		os.Mkdir(filepath.Join(conf, "conf.d"), 0o755)
		writeFile(t, filepath.Join(conf, "ld.so.conf"), "# comment\ninclude /etc/ld.so.conf\ninclude conf.d/*.conf\n")
		writeFile(t, filepath.Join(conf, "conf.d", "tree.conf"), "hwcap 0 nosegneg\n"+lt.lib+"   # the tree\n")
		p, err := (&elfdeps.Search{Conf: filepath.Join(conf, "ld.so.conf")}).Resolve(plain)
		if err != nil {
			t.Fatal(err)
		}
		if foo := lib(p, "libfoo.so.1"); foo == nil || filepath.Dir(foo.Path) != lt.lib {
			t.Errorf("libraries %v: libfoo not found in %s, which an included file lists", names(p.Libs), lt.lib)
		}
		checkClosed(t, p)
	})

	t.Run("a link that points nowhere is skipped", func(t *testing.T) {
		dangling := t.TempDir()
		link := filepath.Join(dangling, "libfoo.so.1")
		if err := os.Symlink("libfoo.so.1.0.0", link); err != nil {
			t.Fatal(err)
		}
		p := checkAgainstLoader(t, noSystem(dangling, lt.lib), plain, "LD_LIBRARY_PATH="+dangling+":"+lt.lib)
		if foo := lib(p, "libfoo.so.1"); foo == nil || filepath.Dir(foo.Path) != lt.lib {
			t.Errorf("libfoo from %v; want the one in %s, past the dangling link", foo, lt.lib)
		}
		only := t.TempDir()
		copyFile(t, filepath.Join(lt.lib, "libbar.so.1.0.0"), filepath.Join(only, "libbar.so.1"))
		_, err := (&elfdeps.Search{LibraryPath: []string{only, dangling}, Conf: "/etc/ld.so.conf"}).Resolve(plain)
		var nf *elfdeps.NotFoundError
		if !errors.As(err, &nf) || nf.Name != "libfoo.so.1" || !strings.Contains(err.Error(), link+": a symbolic link to libfoo.so.1.0.0, which does not resolve") {
			t.Errorf("with only the dangling link: %v; want libfoo.so.1 not found, naming the link", err)
		}
	})

	t.Run("a library of another machine is skipped", func(t *testing.T) {
		wrong := t.TempDir()
		arm64Lib.write(t, filepath.Join(wrong, "libfoo.so.1"), 0o644)
		p := checkAgainstLoader(t, noSystem(wrong, lt.lib), plain, "LD_LIBRARY_PATH="+wrong+":"+lt.lib)
		if foo := lib(p, "libfoo.so.1"); foo == nil || filepath.Dir(foo.Path) != lt.lib {
			t.Errorf("libfoo from %v; want the one in %s, past the aarch64 one", foo, lt.lib)
		}
		_, err := (&elfdeps.Search{LibraryPath: []string{wrong, lt.lib}, Defaults: []string{}}).Resolve(plain)
		if err == nil || !strings.Contains(err.Error(), "libc") {
			t.Errorf("with no system directories: %v; want the C library not found", err)
		}
		only := t.TempDir()
		copyFile(t, filepath.Join(lt.lib, "libbar.so.1.0.0"), filepath.Join(only, "libbar.so.1"))
		_, err = noSystem(only, wrong).Resolve(plain)
		var nf *elfdeps.NotFoundError
		if !errors.As(err, &nf) || len(nf.Skipped) != 1 || !strings.Contains(nf.Skipped[0], "an ELF for aarch64 (64-bit, little-endian)") {
			t.Errorf("with only the aarch64 libfoo: %v; want it skipped as an ELF for aarch64", err)
		}
	})

	t.Run("a missing library names who needs it", func(t *testing.T) {
		only := t.TempDir()
		bar := filepath.Join(only, "libbar.so.1")
		copyFile(t, filepath.Join(lt.lib, "libbar.so.1.0.0"), bar)
		_, err := noSystem(only).Resolve(plain)
		var nf *elfdeps.NotFoundError
		if !errors.As(err, &nf) || nf.Name != "libfoo.so.1" || nf.NeededBy != bar {
			t.Fatalf("Resolve: %v; want libfoo.so.1, needed by %s, not found", err, bar)
		}
		if len(nf.Searched) == 0 || nf.Searched[0] != only {
			t.Errorf("searched %q; want LD_LIBRARY_PATH's %s first", nf.Searched, only)
		}
		if msg := err.Error(); !strings.Contains(msg, "library libfoo.so.1, needed by "+bar+", not found") {
			t.Errorf("message %q", msg)
		}
	})
}

func lib(p *elfdeps.Program, name string) *elfdeps.Lib {
	for _, l := range p.Libs {
		if l.Name == name {
			return l
		}
	}
	return nil
}

func names(libs []*elfdeps.Lib) []string {
	var n []string
	for _, l := range libs {
		n = append(n, l.Name+"="+l.Path)
	}
	return n
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
