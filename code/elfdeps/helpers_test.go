package elfdeps_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/streamtest/streamtest/code/elfdeps"
	"github.com/streamtest/streamtest/internal/testenv"
)

// fakeELF describes a crafted ELF file: a header and, when interp is set,
// a PT_INTERP segment; nothing else (no sections, no code).
type fakeELF struct {
	class   elf.Class
	data    elf.Data
	machine elf.Machine
	osabi   elf.OSABI
	typ     elf.Type
	interp  string
}

// write writes f at path with mode perm.
func (f fakeELF) write(t *testing.T, path string, perm os.FileMode) {
	t.Helper()
	var order binary.ByteOrder = binary.LittleEndian
	if f.data == elf.ELFDATA2MSB {
		order = binary.BigEndian
	}
	ident := [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(f.class), byte(f.data), byte(elf.EV_CURRENT), byte(f.osabi)}
	var buf bytes.Buffer
	interp := append([]byte(f.interp), 0)
	phnum := uint16(0)
	if f.interp != "" {
		phnum = 1
	}
	if f.class == elf.ELFCLASS64 {
		const ehsize, phsize = 64, 56
		binary.Write(&buf, order, elf.Header64{
			Ident: ident, Type: uint16(f.typ), Machine: uint16(f.machine), Version: uint32(elf.EV_CURRENT),
			Phoff: ehsize, Ehsize: ehsize, Phentsize: phsize, Phnum: phnum, Shentsize: 64,
		})
		if phnum > 0 {
			binary.Write(&buf, order, elf.Prog64{
				Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R), Off: ehsize + phsize,
				Filesz: uint64(len(interp)), Memsz: uint64(len(interp)), Align: 1,
			})
		}
	} else {
		const ehsize, phsize = 52, 32
		binary.Write(&buf, order, elf.Header32{
			Ident: ident, Type: uint16(f.typ), Machine: uint16(f.machine), Version: uint32(elf.EV_CURRENT),
			Phoff: ehsize, Ehsize: ehsize, Phentsize: phsize, Phnum: phnum, Shentsize: 40,
		})
		if phnum > 0 {
			binary.Write(&buf, order, elf.Prog32{
				Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R), Off: ehsize + phsize,
				Filesz: uint32(len(interp)), Memsz: uint32(len(interp)), Align: 1,
			})
		}
	}
	if phnum > 0 {
		buf.Write(interp)
	}
	if err := os.WriteFile(path, buf.Bytes(), perm); err != nil {
		t.Fatal(err)
	}
}

// arm64Lib is a crafted 64-bit little-endian aarch64 shared object.
var arm64Lib = fakeELF{class: elf.ELFCLASS64, data: elf.ELFDATA2LSB, machine: elf.EM_AARCH64, typ: elf.ET_DYN}

// needCC returns the C compiler, skipping (failing in CI) without one.
func needCC(t testing.TB) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	testenv.Need(t, err == nil, "a C compiler (cc)", "apt-get install gcc")
	return cc
}

// cc compiles C source into out with the extra arguments.
func cc(t testing.TB, source, out string, args ...string) {
	t.Helper()
	src := out + ".c"
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(needCC(t), append([]string{"-o", out, src}, args...)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, msg)
	}
}

// sharedLib builds lib<name>.so.1.0.0 (soname lib<name>.so.1) in dir,
// with the link lib<name>.so.1 to it and lib<name>.so for the linker,
// defining int <name>(void) that returns value plus what the
// functions of deps return. deps' libraries are in libDir; ldflags go to
// the linker.
func sharedLib(t testing.TB, dir, name string, value int, libDir string, deps []string, ldflags ...string) string {
	t.Helper()
	src := "int " + name + "(void) { return " + strconv.Itoa(value)
	decl := ""
	var args []string
	for _, d := range deps {
		decl += "int " + d + "(void);\n"
		src += " + " + d + "()"
		args = append(args, "-L"+libDir, "-l"+d)
	}
	src = decl + src + "; }\n"
	real := filepath.Join(dir, "lib"+name+".so.1.0.0")
	cc(t, src, real, append(append([]string{"-shared", "-fPIC", "-Wl,-soname,lib" + name + ".so.1"}, args...), ldflags...)...)
	for _, l := range []string{"lib" + name + ".so.1", "lib" + name + ".so"} {
		if err := os.Symlink(filepath.Base(real), filepath.Join(dir, l)); err != nil {
			t.Fatal(err)
		}
	}
	return real
}

// loaderList is what the real loader maps for prog: the name and path of
// each library `LOADER --list` prints ("libc.so.6 => /lib/.../libc.so.6"),
// with the extra environment.
func loaderList(t testing.TB, loader, prog string, env ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(loader, "--list", prog)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s --list %s: %v\n%s", loader, prog, err, out)
	}
	libs := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), " => ")
		if !ok {
			continue
		}
		path, _, _ := strings.Cut(rest, " (")
		libs[name] = path
	}
	return libs
}

// checkAgainstLoader resolves prog with s and compares the libraries with
// what the loader of this machine maps for it (env is the loader's extra
// environment, the same search as s).
func checkAgainstLoader(t *testing.T, s *elfdeps.Search, prog string, env ...string) *elfdeps.Program {
	t.Helper()
	p, err := s.Resolve(prog)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", prog, err)
	}
	if p.Static() {
		t.Fatalf("Resolve(%s): static, but %s has PT_INTERP %q", prog, prog, p.Interp)
	}
	want := loaderList(t, p.Loader.Real, prog, env...)
	got := map[string]string{}
	for _, l := range p.Libs {
		got[l.Name] = l.Path
	}
	for name, path := range want {
		if name == p.Interp { // the loader, when it is run as a program
			if path != p.Loader.Real && path != p.Loader.Path {
				t.Errorf("%s: the loader at %s, the loader says it is %s", prog, p.Loader.Real, path)
			}
			continue
		}
		if got[name] != path {
			t.Errorf("%s: library %s at %q, the loader maps %q", prog, name, got[name], path)
		}
	}
	for name, path := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: library %s (%s) resolved, the loader does not map it", prog, name, path)
		}
	}
	checkClosed(t, p)
	return p
}

// checkClosed checks the invariants of a resolved program: every file is a
// regular file of the program's class and machine, found under its name,
// needed by the program or a library of it, and every need is met.
func checkClosed(t *testing.T, p *elfdeps.Program) {
	t.Helper()
	names := map[string]bool{p.Loader.Name: true}
	paths := map[string]bool{p.Path: true}
	for _, l := range p.Files() {
		names[l.Name] = true
		if l.Soname != "" {
			names[l.Soname] = true
		}
		paths[l.Path] = true
		fi, err := os.Lstat(l.Real)
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: Real %s is not a regular file (%v)", l.Name, l.Real, err)
		}
		if l.Class != p.Class || l.Machine != p.Machine {
			t.Errorf("%s: %v %v, the program is %v %v", l.Name, l.Class, l.Machine, p.Class, p.Machine)
		}
		if l != p.Loader && filepath.Base(l.Path) != l.Name {
			t.Errorf("%s found at %s, under another name", l.Name, l.Path)
		}
	}
	for _, l := range p.Libs {
		if !paths[l.NeededBy] {
			t.Errorf("%s: needed by %s, which is not part of the program", l.Name, l.NeededBy)
		}
		for _, n := range l.Needed {
			if !names[n] {
				t.Errorf("%s needs %s, which was not resolved", l.Name, n)
			}
		}
	}
	for _, n := range p.Needed {
		if !names[n] {
			t.Errorf("the program needs %s, which was not resolved", n)
		}
	}
}
