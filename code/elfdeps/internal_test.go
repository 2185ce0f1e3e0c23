package elfdeps

import (
	"debug/elf"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestExpandTokens(t *testing.T) {
	exe := &Object{Path: "/opt/app/bin/prog", Real: "/opt/app-1.2/bin/prog", Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB, Machine: elf.EM_X86_64}
	lib := &Object{Path: "/opt/app/lib/libx.so.1", Real: "/opt/app-1.2/lib/libx.so.1.0", Class: exe.Class, Data: exe.Data, Machine: exe.Machine}
	cases := []struct {
		paths  []string
		origin *Object
		want   []string
	}{
		// The program's origin is its real directory; a library's, where
		// it was found.
		{[]string{"$ORIGIN/../lib"}, exe, []string{"/opt/app-1.2/lib"}},
		{[]string{"${ORIGIN}/plugins"}, lib, []string{"/opt/app/lib/plugins"}},
		{[]string{"/opt/$PLATFORM/$LIB"}, exe, []string{"/opt/x86_64/lib/x86_64-linux-gnu", "/opt/x86_64/lib64", "/opt/x86_64/lib"}},
		{[]string{"/a", "$ORIGINAL/x"}, exe, []string{"/a", mustAbs("$ORIGINAL/x")}},
	}
	for _, c := range cases {
		if got := expandAll(c.paths, c.origin, exe); !slices.Equal(got, c.want) {
			t.Errorf("expandAll(%q, origin %s) = %q, want %q", c.paths, c.origin.Path, got, c.want)
		}
	}
}

func mustAbs(p string) string {
	a, _ := filepath.Abs(p)
	return a
}

func TestReadConf(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(dir, "d"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "main.conf"), []byte("/first\ninclude d/*.conf\n  /last/  # trailing comment\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "d", "b.conf"), []byte("/b\ninclude "+filepath.Join(dir, "main.conf")+"\n"), 0o644)) // a loop
	must(os.WriteFile(filepath.Join(dir, "d", "a.conf"), []byte("# a\nhwcap 1 tls\n/a=libc6\n\n"), 0o644))
	got, err := readConf(filepath.Join(dir, "main.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/first", "/a", "/b", "/last"}; !slices.Equal(got, want) {
		t.Errorf("readConf = %q, want %q", got, want)
	}
	if got, err := readConf(filepath.Join(dir, "missing.conf")); err != nil || got != nil {
		t.Errorf("a missing file: %q, %v; want nothing", got, err)
	}
}
