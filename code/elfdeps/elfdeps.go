// Package elfdeps finds what a dynamically linked ELF program needs to run
// on a machine that has none of it: the ELF loader its PT_INTERP names and
// the shared libraries its DT_NEEDED entries name, resolved recursively
// (each library's own entries too), each searched for as the dynamic
// loader searches for it. It reads the files with debug/elf: it never runs
// ldd, the loader or the program, so it works on a program of any
// architecture.
//
//	p, err := elfdeps.Resolve("/usr/bin/env")
//	// p.Loader.Real: /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 (PT_INTERP /lib64/ld-linux-x86-64.so.2)
//	// p.Libs[0].Name, .Real: libc.so.6, /usr/lib/x86_64-linux-gnu/libc.so.6
//
// For each name an object needs, the directories are those of glibc's
// loader, in its order:
//
//  1. the DT_RPATH of the object, then of the object that loaded it, and so
//     on up to the program, unless the object has a DT_RUNPATH (an object
//     with both has no DT_RPATH, as the loader reads it);
//  2. LD_LIBRARY_PATH (Search.LibraryPath);
//  3. the object's own DT_RUNPATH;
//  4. the directories of ld.so.conf and of the files its include lines
//     name (the loader reads the cache that ldconfig builds from them);
//  5. the default directories: /lib/TRIPLET, /usr/lib/TRIPLET (the
//     multiarch directories of the program's machine), /lib64 and
//     /usr/lib64 (lib32 for a 32-bit program), /lib, /usr/lib.
//
// An object linked with -z nodeflib skips 4 and 5. $ORIGIN (the object's
// directory), $LIB and $PLATFORM are expanded in every path. A candidate
// that is missing, a symbolic link that points nowhere, not an ELF file, or
// an ELF of another class, byte order or machine than the program's is
// skipped, as the loader skips it; a name found nowhere is a
// *NotFoundError that names it, the object that needs it and what was
// tried. An object that a name matches once (by that name or its soname)
// serves every later need of it, as in the loader.
//
// Not covered: what a program opens at run time with dlopen (NSS modules,
// plugins, Python's extension modules), data files, the glibc-hwcaps
// subdirectories of each directory, ld.so.preload and LD_PRELOAD.
package elfdeps

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Object is one ELF file, as the loader reads it.
type Object struct {
	// Path is where the file was found, absolute; Real is that path with
	// every symbolic link resolved: the file whose bytes the loader maps.
	Path, Real string

	Class   elf.Class
	Data    elf.Data
	Machine elf.Machine
	OSABI   elf.OSABI
	Type    elf.Type
	// Flags is the ELF header's e_flags (an ARM program's float ABI).
	Flags uint32

	// Interp is the loader its PT_INTERP names, "" when it has none (a
	// static program, most libraries).
	Interp string
	// Needed, Soname, RPath and RunPath are its DT_NEEDED, DT_SONAME,
	// DT_RPATH and DT_RUNPATH entries as written ($ORIGIN unexpanded),
	// paths split at colons.
	Needed         []string
	Soname         string
	RPath, RunPath []string
	// NoDefaultLib is set for an object linked with -z nodeflib: its needs
	// are not looked for in ld.so.conf's or the default directories.
	NoDefaultLib bool
}

// Lib is a file a program needs to run: a shared library or its loader.
type Lib struct {
	// Name is the name the loader looks for: the DT_NEEDED entry (a
	// library's soname, as a rule); for the loader, the base name of
	// PT_INTERP. Ship the file under this name.
	Name string
	// NeededBy is the Path of the first object that needs it (for the
	// loader, the program's).
	NeededBy string
	*Object
}

// Program is an executable and everything the loader maps to run it.
type Program struct {
	*Object
	// Loader is the ELF loader PT_INTERP names; nil for a static program.
	Loader *Lib
	// Libs are the shared libraries, in the loader's order (breadth first
	// from the program's DT_NEEDED); nil for a static program. The loader
	// is never one of them, even where a library needs it by name
	// (libc.so.6 needs ld-linux-x86-64.so.2).
	Libs []*Lib
}

// Static reports whether the program has no loader: it runs alone.
func (p *Program) Static() bool { return p.Loader == nil }

// Files returns the loader (if any), then the libraries.
func (p *Program) Files() []*Lib {
	var fs []*Lib
	if p.Loader != nil {
		fs = append(fs, p.Loader)
	}
	return append(fs, p.Libs...)
}

// NotProgramError is the error of a file that is not an ELF program: a
// script, a file of another format, an ELF object that cannot be run, a
// damaged ELF.
type NotProgramError struct {
	Path string
	// What the file is instead: "a script (#!/bin/sh -e)", "not an ELF
	// file", "an ELF relocatable object (ET_REL)", "a damaged ELF file
	// (...)", "a directory".
	What string
	// Script is the interpreter line of a script, without "#!".
	Script string
}

func (e *NotProgramError) Error() string {
	return fmt.Sprintf("%s is not an ELF program: %s", e.Path, e.What)
}

// NotFoundError is the error of a library that none of the directories
// the loader would search holds (usable: of the program's class and
// machine).
type NotFoundError struct {
	Name     string   // the DT_NEEDED entry
	NeededBy string   // the path of the object that needs it
	Searched []string // the directories, in the order searched
	Skipped  []string // candidates that were there but refused, and why
}

func (e *NotFoundError) Error() string {
	s := fmt.Sprintf("library %s, needed by %s, not found on this machine (searched %s)",
		e.Name, e.NeededBy, strings.Join(e.Searched, ", "))
	if len(e.Skipped) > 0 {
		s += "; skipped: " + strings.Join(e.Skipped, "; ")
	}
	return s
}

// Read reads the ELF headers and dynamic section of the file at path. A
// file that is not ELF, or a damaged one, is a *NotProgramError.
func Read(path string) (*Object, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, &NotProgramError{Path: abs, What: "a directory"}
	}
	head := make([]byte, 256)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	head = head[:n]
	if bytes.HasPrefix(head, []byte("#!")) {
		line, _, _ := bytes.Cut(head[2:], []byte("\n"))
		interp := strings.TrimSpace(string(line))
		return nil, &NotProgramError{Path: abs, What: "a script (#!" + interp + ")", Script: interp}
	}
	if !bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
		what := "not an ELF file"
		if len(head) == 0 {
			what = "an empty file"
		}
		return nil, &NotProgramError{Path: abs, What: what}
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, &NotProgramError{Path: abs, What: "a damaged ELF file (" + err.Error() + ")"}
	}
	defer ef.Close()
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	o := &Object{
		Path: abs, Real: real,
		Class: ef.Class, Data: ef.Data, Machine: ef.Machine, OSABI: ef.OSABI, Type: ef.Type,
	}
	if err := o.readHeaderFlags(f); err != nil {
		return nil, &NotProgramError{Path: abs, What: "a damaged ELF file (" + err.Error() + ")"}
	}
	for _, p := range ef.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		data, err := io.ReadAll(p.Open())
		if err != nil {
			return nil, &NotProgramError{Path: abs, What: "a damaged ELF file (PT_INTERP: " + err.Error() + ")"}
		}
		o.Interp = string(bytes.TrimRight(data, "\x00"))
	}
	if err := o.readDynamic(ef); err != nil {
		return nil, &NotProgramError{Path: abs, What: "a damaged ELF file (" + err.Error() + ")"}
	}
	return o, nil
}

// readHeaderFlags reads e_flags, which debug/elf does not keep.
func (o *Object) readHeaderFlags(r io.ReaderAt) error {
	off := int64(0x24) // ELF32: after e_ident, type, machine, version, entry, phoff, shoff
	if o.Class == elf.ELFCLASS64 {
		off = 0x30
	}
	b := make([]byte, 4)
	if _, err := r.ReadAt(b, off); err != nil {
		return fmt.Errorf("reading e_flags: %w", err)
	}
	if o.Data == elf.ELFDATA2MSB {
		o.Flags = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	} else {
		o.Flags = uint32(b[3])<<24 | uint32(b[2])<<16 | uint32(b[1])<<8 | uint32(b[0])
	}
	return nil
}

// readDynamic reads the dynamic section's entries, if the file has one.
func (o *Object) readDynamic(ef *elf.File) error {
	if ef.SectionByType(elf.SHT_DYNAMIC) == nil {
		for _, p := range ef.Progs {
			if p.Type == elf.PT_DYNAMIC {
				return errors.New("a PT_DYNAMIC segment but no section headers to read it by")
			}
		}
		return nil
	}
	var err error
	if o.Needed, err = ef.DynString(elf.DT_NEEDED); err != nil {
		return fmt.Errorf("DT_NEEDED: %w", err)
	}
	sonames, err := ef.DynString(elf.DT_SONAME)
	if err != nil {
		return fmt.Errorf("DT_SONAME: %w", err)
	}
	if len(sonames) > 0 {
		o.Soname = sonames[0]
	}
	rpath, err := ef.DynString(elf.DT_RPATH)
	if err != nil {
		return fmt.Errorf("DT_RPATH: %w", err)
	}
	runpath, err := ef.DynString(elf.DT_RUNPATH)
	if err != nil {
		return fmt.Errorf("DT_RUNPATH: %w", err)
	}
	o.RPath, o.RunPath = splitPaths(rpath), splitPaths(runpath)
	if runpath != nil && o.RunPath == nil {
		o.RunPath = []string{} // present, if empty: it still hides DT_RPATH
	}
	flags, err := ef.DynValue(elf.DT_FLAGS_1)
	if err != nil {
		return fmt.Errorf("DT_FLAGS_1: %w", err)
	}
	for _, f := range flags {
		if elf.DynFlag1(f)&elf.DF_1_NODEFLIB != 0 {
			o.NoDefaultLib = true
		}
	}
	return nil
}

// splitPaths splits colon-separated path lists; an empty entry is kept
// (the loader takes it as the current directory).
func splitPaths(lists []string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, strings.Split(l, ":")...)
	}
	return out
}

// Search says where libraries are looked for (the loader's search, as the
// package documentation says). The zero Search looks in the default
// directories only.
type Search struct {
	// LibraryPath is LD_LIBRARY_PATH's list, searched after DT_RPATH and
	// before DT_RUNPATH.
	LibraryPath []string
	// Conf is an ld.so.conf file: its directories, and those of the files
	// its include lines name, are searched after DT_RUNPATH. "" is none.
	Conf string
	// Defaults, when not nil, replaces the default directories that the
	// program's machine and class give.
	Defaults []string
}

// System returns the search of a program started from this process: its
// LD_LIBRARY_PATH, /etc/ld.so.conf, and the default directories.
func System() *Search {
	s := &Search{Conf: "/etc/ld.so.conf"}
	if llp := os.Getenv("LD_LIBRARY_PATH"); llp != "" {
		s.LibraryPath = strings.FieldsFunc(llp, func(r rune) bool { return r == ':' || r == ';' })
	}
	return s
}

// Resolve is System().Resolve(path).
func Resolve(path string) (*Program, error) { return System().Resolve(path) }

// Resolve reads the program at path and finds its loader and, recursively,
// its libraries. A static program (no PT_INTERP) comes back alone. A file
// that is not an ELF program is a *NotProgramError; a library found
// nowhere, a *NotFoundError.
func (s *Search) Resolve(path string) (*Program, error) {
	exe, err := Read(path)
	if err != nil {
		return nil, err
	}
	switch exe.Type {
	case elf.ET_EXEC, elf.ET_DYN:
	default:
		return nil, &NotProgramError{Path: exe.Path, What: "an ELF " + typeName(exe.Type)}
	}
	p := &Program{Object: exe}
	if exe.Interp == "" {
		return p, nil
	}
	ld, err := Read(exe.Interp)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("the loader %s that %s names (PT_INTERP) is not on this machine", exe.Interp, exe.Path)
		}
		return nil, fmt.Errorf("the loader of %s: %w", exe.Path, err)
	}
	if why := mismatch(exe, ld); why != "" {
		return nil, fmt.Errorf("the loader %s that %s names (PT_INTERP) is %s", exe.Interp, exe.Path, why)
	}
	p.Loader = &Lib{Name: filepath.Base(exe.Interp), NeededBy: exe.Path, Object: ld}
	conf, err := readConf(s.Conf)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{p.Loader.Name: true}
	if ld.Soname != "" {
		have[ld.Soname] = true
	}
	type node struct {
		obj    *Object
		loader *node
	}
	queue := []*node{{obj: exe}}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, name := range n.obj.Needed {
			if have[name] {
				continue
			}
			if strings.Contains(name, "/") {
				return nil, fmt.Errorf("%s needs %s by its path (DT_NEEDED with a slash), which the loader opens as it is: it cannot be shipped elsewhere", n.obj.Path, name)
			}
			var rpaths [][]string // the requester's DT_RPATH, then its loaders'
			var origins []*Object
			if n.obj.RunPath == nil {
				for l := n; l != nil; l = l.loader {
					rpaths = append(rpaths, l.obj.RPath)
					origins = append(origins, l.obj)
				}
			}
			var dirs []string
			for i, rp := range rpaths {
				dirs = append(dirs, expandAll(rp, origins[i], exe)...)
			}
			dirs = append(dirs, expandAll(s.LibraryPath, exe, exe)...)
			dirs = append(dirs, expandAll(n.obj.RunPath, n.obj, exe)...)
			if !n.obj.NoDefaultLib {
				dirs = append(dirs, conf...)
				dirs = append(dirs, s.defaults(exe)...)
			}
			lib, err := find(name, n.obj, exe, unique(dirs))
			if err != nil {
				return nil, err
			}
			have[name] = true
			if lib.Soname != "" {
				have[lib.Soname] = true
			}
			p.Libs = append(p.Libs, lib)
			queue = append(queue, &node{obj: lib.Object, loader: n})
		}
	}
	return p, nil
}

// find looks for name in dirs and returns the first usable candidate.
func find(name string, by, exe *Object, dirs []string) (*Lib, error) {
	nf := &NotFoundError{Name: name, NeededBy: by.Path, Searched: dirs}
	for _, dir := range dirs {
		cand := filepath.Join(dir, name)
		fi, err := os.Stat(cand)
		if err != nil {
			if lfi, lerr := os.Lstat(cand); lerr == nil && lfi.Mode()&os.ModeSymlink != 0 {
				target, _ := os.Readlink(cand)
				nf.Skipped = append(nf.Skipped, fmt.Sprintf("%s: a symbolic link to %s, which does not resolve", cand, target))
			}
			continue
		}
		if !fi.Mode().IsRegular() {
			nf.Skipped = append(nf.Skipped, cand+": not a regular file")
			continue
		}
		obj, err := Read(cand)
		if err != nil {
			var np *NotProgramError
			if errors.As(err, &np) {
				nf.Skipped = append(nf.Skipped, cand+": "+np.What)
			} else {
				nf.Skipped = append(nf.Skipped, cand+": "+err.Error())
			}
			continue
		}
		if why := mismatch(exe, obj); why != "" {
			nf.Skipped = append(nf.Skipped, cand+": "+why)
			continue
		}
		return &Lib{Name: name, NeededBy: by.Path, Object: obj}, nil
	}
	return nil, nf
}

// mismatch says why obj cannot be mapped into exe's process, or "".
func mismatch(exe, obj *Object) string {
	if obj.Class != exe.Class || obj.Data != exe.Data || obj.Machine != exe.Machine {
		return fmt.Sprintf("an ELF for %s (%s, %s), the program is for %s (%s, %s)",
			obj.Arch(), className(obj.Class), dataName(obj.Data), exe.Arch(), className(exe.Class), dataName(exe.Data))
	}
	return ""
}

// defaults are the loader's default directories for exe.
func (s *Search) defaults(exe *Object) []string {
	if s.Defaults != nil {
		return s.Defaults
	}
	var dirs []string
	if t := exe.Multiarch(); t != "" {
		dirs = append(dirs, "/lib/"+t, "/usr/lib/"+t)
	}
	lib := "lib32"
	if exe.Class == elf.ELFCLASS64 {
		lib = "lib64"
	}
	return append(dirs, "/"+lib, "/usr/"+lib, "/lib", "/usr/lib")
}

var dst = regexp.MustCompile(`\$(ORIGIN|LIB|PLATFORM)\b|\$\{(ORIGIN|LIB|PLATFORM)\}`)

// expandAll expands the dynamic string tokens of each path: $ORIGIN is the
// directory of origin (the program's own is its real path's, as the
// kernel names it in /proc/self/exe; a library's is where it was found),
// $LIB the library directories of exe's machine, $PLATFORM its name. An
// empty entry is the current directory.
func expandAll(paths []string, origin, exe *Object) []string {
	var out []string
	for _, p := range paths {
		if p == "" {
			p = "."
		}
		cur := []string{p}
		for {
			m := dst.FindStringSubmatchIndex(cur[0])
			if m == nil {
				break
			}
			var tok string
			if m[2] >= 0 {
				tok = cur[0][m[2]:m[3]]
			} else {
				tok = cur[0][m[4]:m[5]]
			}
			var values []string
			switch tok {
			case "ORIGIN":
				dir := filepath.Dir(origin.Path)
				if origin == exe {
					dir = filepath.Dir(origin.Real)
				}
				values = []string{dir}
			case "LIB":
				if t := exe.Multiarch(); t != "" {
					values = append(values, "lib/"+t)
				}
				if exe.Class == elf.ELFCLASS64 {
					values = append(values, "lib64")
				} else {
					values = append(values, "lib32")
				}
				values = append(values, "lib")
			case "PLATFORM":
				values = []string{exe.Platform()}
			}
			var next []string
			for _, c := range cur {
				mm := dst.FindStringIndex(c)
				for _, v := range values {
					next = append(next, c[:mm[0]]+v+c[mm[1]:])
				}
			}
			cur = next
		}
		for _, c := range cur {
			if abs, err := filepath.Abs(c); err == nil {
				out = append(out, abs)
			}
		}
	}
	return out
}

func unique(dirs []string) []string {
	seen := map[string]bool{}
	out := dirs[:0:0]
	for _, d := range dirs {
		d = filepath.Clean(d)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// readConf returns the directories of the ld.so.conf file at path and of
// the files its include lines name (globs, relative to the including
// file's directory), in order; "" or a missing file gives none.
func readConf(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	var dirs []string
	seen := map[string]bool{}
	var read func(file string) error
	read = func(file string) error {
		if seen[file] {
			return nil // an include loop
		}
		seen[file] = true
		data, err := os.ReadFile(file)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", file, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			line, _, _ = strings.Cut(line, "#")
			line = strings.TrimSpace(line)
			if rest, ok := cutWord(line, "include"); ok {
				for _, pat := range strings.Fields(rest) {
					if !filepath.IsAbs(pat) {
						pat = filepath.Join(filepath.Dir(file), pat)
					}
					matches, err := filepath.Glob(pat)
					if err != nil {
						return fmt.Errorf("%s: include %s: %w", file, pat, err)
					}
					sort.Strings(matches)
					for _, m := range matches {
						if err := read(m); err != nil {
							return err
						}
					}
				}
				continue
			}
			if _, ok := cutWord(line, "hwcap"); ok || line == "" {
				continue
			}
			dir, _, _ := strings.Cut(line, "=") // the old "dir=TYPE" form
			dirs = append(dirs, filepath.Clean(strings.TrimSpace(dir)))
		}
		return nil
	}
	if err := read(path); err != nil {
		return nil, err
	}
	return dirs, nil
}

// cutWord cuts the keyword word, followed by a blank, off line.
func cutWord(line, word string) (string, bool) {
	if len(line) > len(word) && strings.HasPrefix(line, word) && (line[len(word)] == ' ' || line[len(word)] == '\t') {
		return strings.TrimSpace(line[len(word):]), true
	}
	return "", false
}

func typeName(t elf.Type) string {
	switch t {
	case elf.ET_REL:
		return "relocatable object (ET_REL)"
	case elf.ET_CORE:
		return "core file (ET_CORE)"
	}
	return "file of type " + t.String()
}

func className(c elf.Class) string {
	switch c {
	case elf.ELFCLASS32:
		return "32-bit"
	case elf.ELFCLASS64:
		return "64-bit"
	}
	return c.String()
}

func dataName(d elf.Data) string {
	switch d {
	case elf.ELFDATA2LSB:
		return "little-endian"
	case elf.ELFDATA2MSB:
		return "big-endian"
	}
	return d.String()
}
