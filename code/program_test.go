package code_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/code/elfdeps"
	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/sendtree"
)

// shipTarget is a Target whose work directory is a local directory: Send
// copies there as a local stream would, and records what each Send
// carried (the files below the tree sent, as paths below WorkDir).
type shipTarget struct {
	dir   string
	sends [][]string
}

func newShipTarget(t *testing.T) *shipTarget { return &shipTarget{dir: t.TempDir()} }

func (f *shipTarget) ID() string      { return "2" }
func (f *shipTarget) Type() string    { return "container" }
func (f *shipTarget) WorkDir() string { return f.dir }
func (f *shipTarget) Send(ctx context.Context, local, remote string) error {
	var files []string
	err := filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		files = append(files, path.Join(remote, filepath.ToSlash(rel)))
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	f.sends = append(f.sends, files)
	return sendtree.Copy(ctx, sendtree.OS{}, local, filepath.Join(f.dir, remote))
}

// memoTarget adds code.SendOnce to a shipTarget.
type memoTarget struct {
	*shipTarget
	sent map[string]bool
}

func (m *memoTarget) Sent(remote string) bool { return m.sent[remote] }
func (m *memoTarget) MarkSent(remote ...string) {
	for _, r := range remote {
		m.sent[r] = true
	}
}

// platformTarget adds stream.Platformer to a memoTarget.
type platformTarget struct {
	*memoTarget
	goos, goarch string
	err          error
}

func (p *platformTarget) Platform(context.Context) (string, string, error) {
	return p.goos, p.goarch, p.err
}

var (
	_ code.SendOnce     = (*memoTarget)(nil)
	_ stream.Platformer = (*platformTarget)(nil)
)

// runPlan runs a plan on this machine, in the target's work directory,
// with the plan's environment and a PATH that finds nothing, and returns
// its output.
func runPlan(t *testing.T, dir string, plan *code.Plan) string {
	t.Helper()
	cmd := exec.Command(plan.Args[0], plan.Args[1:]...)
	cmd.Dir, cmd.Env = dir, append([]string{"PATH=/nonexistent"}, plan.Env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running %q: %v\n%s", plan.Args, err, out)
	}
	return string(out)
}

// filesOf is what a program ships: the names of the program, its loader
// and its libraries.
func filesOf(t *testing.T, prog string) []string {
	t.Helper()
	p, err := elfdeps.Resolve(prog)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{filepath.Base(prog)}
	for _, l := range p.Files() {
		names = append(names, l.Name)
	}
	sort.Strings(names)
	return names
}

func baseNames(files []string) []string {
	var n []string
	for _, f := range files {
		n = append(n, path.Base(f))
	}
	sort.Strings(n)
	return n
}

// TestProgramShipsAndRunsThroughItsLoader: the plan runs the shipped
// program through the shipped loader, on the shipped libraries only, with
// the program's own name as argv[0].
func TestProgramShipsAndRunsThroughItsLoader(t *testing.T) {
	tg := newShipTarget(t)
	// sh -c without more arguments sets $0 to the shell's argv[0].
	plan, err := code.Program("sh", "-c", `echo "$0"`).SendSelf(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := exec.LookPath("sh")
	if want := filesOf(t, sh); len(tg.sends) != 1 || strings.Join(baseNames(tg.sends[0]), " ") != strings.Join(want, " ") {
		t.Fatalf("sends %q; want one, of %q", tg.sends, want)
	}
	for _, f := range tg.sends[0] {
		if !strings.HasPrefix(f, "blocks/elf/") {
			t.Errorf("%s sent outside blocks/elf", f)
		}
		fi, err := os.Lstat(filepath.Join(tg.dir, f))
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s on the stream is not a regular file (%v): a link would dangle there", f, err)
		}
	}
	p, err := elfdeps.Resolve(sh)
	if err != nil {
		t.Fatal(err)
	}
	// Whether this loader has --argv0, as its own help says.
	help, _ := exec.Command(p.Loader.Real, "--help").Output()
	argv0 := strings.Contains(string(help), "--argv0")
	a := plan.Args
	if len(a) < 4 || path.Base(a[0]) != p.Loader.Name || !strings.HasPrefix(a[0], tg.dir+"/blocks/elf/") {
		t.Fatalf("plan %q does not start with the shipped loader %s", a, p.Loader.Name)
	}
	if argv0 {
		if a[1] != "--argv0" || a[2] != "sh" {
			t.Fatalf("plan %q; the loader has --argv0, want LOADER --argv0 sh --library-path DIRS PROGRAM ARGS", a)
		}
		a = append(a[:1:1], a[3:]...)
	}
	if a[1] != "--library-path" {
		t.Fatalf("plan %q; want LOADER --library-path DIRS PROGRAM ARGS, all below %s", a, tg.dir)
	}
	for _, d := range strings.Split(a[2], ":") {
		if !strings.HasPrefix(d, tg.dir+"/blocks/elf/") {
			t.Errorf("library directory %s is not a shipped one", d)
		}
	}
	// Run without any library path of this machine's: LD_LIBRARY_PATH is
	// not consulted, the shipped directories are.
	plan.Env = []string{"LD_LIBRARY_PATH=/nonexistent"}
	want := "sh\n"
	if !argv0 {
		want = plan.Args[len(plan.Args)-3] + "\n" // the shipped program's path
	}
	if out := runPlan(t, tg.dir, plan); out != want {
		t.Errorf("the shipped sh printed %q as its $0, want %q", out, want)
	}
}

// TestProgramSendsOncePerTarget counts the Sends: once per file per
// target that remembers (SendOnce), every time for one that does not.
func TestProgramSendsOncePerTarget(t *testing.T) {
	ctx := context.Background()
	env := code.Program("/usr/bin/env", "-i", "A=1")
	mt := &memoTarget{shipTarget: newShipTarget(t), sent: map[string]bool{}}
	first, err := env.SendSelf(ctx, mt)
	if err != nil {
		t.Fatal(err)
	}
	again, err := env.SendSelf(ctx, mt)
	if err != nil {
		t.Fatal(err)
	}
	if len(mt.sends) != 1 {
		t.Errorf("two runs of one block sent %d times (%q), want once", len(mt.sends), mt.sends)
	}
	if strings.Join(first.Args, " ") != strings.Join(again.Args, " ") {
		t.Errorf("the second plan %q differs from the first %q", again.Args, first.Args)
	}
	runPlan(t, mt.dir, again)

	// Another program shares the loader and the C library: only what is
	// new goes.
	if _, err := code.Program("/bin/ls", "-d", ".").SendSelf(ctx, mt); err != nil {
		t.Fatal(err)
	}
	if len(mt.sends) != 2 {
		t.Fatalf("after a second program: %d sends, want 2", len(mt.sends))
	}
	old := map[string]bool{}
	for _, f := range mt.sends[0] {
		old[f] = true
	}
	var again2 []string
	for _, f := range mt.sends[1] {
		if old[f] {
			again2 = append(again2, f)
		}
	}
	if len(again2) > 0 {
		t.Errorf("ls's send carried %q again, sent with env before", again2)
	}
	want := map[string]bool{}
	for _, n := range filesOf(t, "/bin/ls") {
		want[n] = true
	}
	for _, n := range baseNames(mt.sends[1]) {
		if !want[n] {
			t.Errorf("ls's send carried %s, which ls does not need", n)
		}
	}

	// A target without the memo gets everything each time.
	st := newShipTarget(t)
	for range 2 {
		if _, err := env.SendSelf(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if len(st.sends) != 2 || len(st.sends[1]) != len(filesOf(t, "/usr/bin/env")) {
		t.Errorf("a target without SendOnce: sends %q; want all the files twice", st.sends)
	}
}

// otherArch is a GOARCH this machine is not, and its uname name.
func otherArch() (goarch, uname string) {
	if runtime.GOARCH == "arm64" {
		return "amd64", "x86_64"
	}
	return "arm64", "aarch64"
}

const helloSource = `package main

import (
	"fmt"
	"os"
)

func main() { fmt.Println("hello", os.Args[1:]) }
`

// TestProgramRefusesAnotherMachine: a program for another architecture is
// refused before anything is sent, where the stream says its platform;
// where it cannot, the program is shipped.
func TestProgramRefusesAnotherMachine(t *testing.T) {
	goarch, uname := otherArch()
	prog := testenv.BuildGo(t, helloSource, "CGO_ENABLED=0", "GOARCH="+goarch)
	mos, march, err := stream.MachinePlatform()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pt := &platformTarget{memoTarget: &memoTarget{shipTarget: newShipTarget(t), sent: map[string]bool{}}, goos: mos, goarch: march}
	_, err = code.Program(prog).SendSelf(ctx, pt)
	want := "program " + prog + " is a Linux ELF for " + uname + ", and the stream runs " + mos + "/" + march
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("SendSelf: %v; want %q", err, want)
	}
	if len(pt.sends) != 0 {
		t.Errorf("a refused program was sent: %q", pt.sends)
	}
	// The same program on a stream of its architecture goes.
	pt.goarch = goarch
	if _, err := code.Program(prog).SendSelf(ctx, pt); err != nil || len(pt.sends) != 1 {
		t.Errorf("on a linux/%s stream: %v, sends %q; want it shipped", goarch, err, pt.sends)
	}
	// A stream that cannot say its platform gets it, and runs it as it can.
	unknown := &platformTarget{memoTarget: &memoTarget{shipTarget: newShipTarget(t), sent: map[string]bool{}}, err: errors.ErrUnsupported}
	if _, err := code.Program(prog).SendSelf(ctx, unknown); err != nil || len(unknown.sends) != 1 {
		t.Errorf("on a stream whose platform is unknown: %v, sends %q; want it shipped", err, unknown.sends)
	}
}

// TestProgramStatic: a static program ships alone and runs as it is.
func TestProgramStatic(t *testing.T) {
	prog := testenv.BuildGo(t, helloSource, "CGO_ENABLED=0")
	tg := newShipTarget(t)
	plan, err := code.Program(prog, "a", "b").SendSelf(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.sends) != 1 || len(tg.sends[0]) != 1 || path.Base(tg.sends[0][0]) != "prog" {
		t.Errorf("sends %q; want the program alone", tg.sends)
	}
	if len(plan.Args) != 3 || plan.Args[0] != path.Join(tg.dir, tg.sends[0][0]) {
		t.Errorf("plan %q; want the shipped program and its arguments", plan.Args)
	}
	if out := runPlan(t, tg.dir, plan); out != "hello [a b]\n" {
		t.Errorf("output %q", out)
	}
}

// TestProgramThroughALink: a program named by a link is shipped as the
// file it points to, under the link's name.
func TestProgramThroughALink(t *testing.T) {
	link := filepath.Join(t.TempDir(), "myenv")
	if err := os.Symlink("/usr/bin/env", link); err != nil {
		t.Fatal(err)
	}
	tg := newShipTarget(t)
	plan, err := code.Program(link, "-i", "X=1").SendSelf(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if out := runPlan(t, tg.dir, plan); out != "X=1\n" {
		t.Errorf("output %q, want X=1", out)
	}
	found := false
	for _, f := range tg.sends[0] {
		if path.Base(f) == "myenv" {
			found = true
			if fi, err := os.Lstat(filepath.Join(tg.dir, f)); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("myenv on the stream: %v, %v; want a regular file", fi, err)
			}
		}
	}
	if !found {
		t.Errorf("sends %q: no myenv", tg.sends)
	}
}

// TestProgramNotShippable: scripts, other files and names not in PATH are
// errors before anything is sent.
func TestProgramNotShippable(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "run.sh")
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755)
	os.WriteFile(text, []byte("not a program\n"), 0o755)
	cases := []struct{ path, want string }{
		{script, script + " is not an ELF program: a script (#!/bin/sh): ship it with code.Script"},
		{text, text + " is not an ELF program: not an ELF file"},
		{"streamtest-no-such-program", "streamtest-no-such-program is not in this machine's PATH"},
		{filepath.Join(dir, "missing"), "no such file"},
		{"", "no program given"},
	}
	for _, c := range cases {
		tg := newShipTarget(t)
		_, err := code.Program(c.path).SendSelf(context.Background(), tg)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "code.Program: ") {
			t.Errorf("Program(%q): %v; want %q", c.path, err, c.want)
		}
		if len(tg.sends) > 0 {
			t.Errorf("Program(%q) sent %q", c.path, tg.sends)
		}
	}
}
