package streamtest_test

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/stream"
)

// cgoProgram is a Go program built with cgo: dynamically linked against
// the C library, whose version it prints with its argv.
const cgoProgram = `package main

// #include <gnu/libc-version.h>
import "C"

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("argv0=%s args=%q libc=%s\n", os.Args[0], os.Args[1:], C.GoString(C.gnu_get_libc_version()))
}
`

// buildCgo builds cgoProgram, skipping (failing in CI) without a C
// compiler.
func buildCgo(t testing.TB) string {
	t.Helper()
	_, err := exec.LookPath("cc")
	testenv.Need(t, err == nil, "a C compiler (cc) for a cgo program", "apt-get install gcc")
	return testenv.BuildGo(t, cgoProgram, "CGO_ENABLED=1")
}

// runHere is what prog prints when this machine runs it with args.
func runHere(t *testing.T, prog string, args ...string) string {
	t.Helper()
	out, err := exec.Command(prog, args...).Output()
	if err != nil {
		t.Fatalf("%s here: %v", prog, err)
	}
	return string(out)
}

// checkProgramRuns runs the cgo program with code.Program on st and wants
// what it prints here: its own argv[0], its arguments, the C library
// shipped with it.
func checkProgramRuns(t *testing.T, st *streamtest.Stream, prog string) {
	t.Helper()
	args := []string{"a", "b c", ""}
	want := runHere(t, prog, args...)
	if err := st.TryRun(code.Program(prog, args...), streamtest.Wait()); err != nil {
		t.Fatal(err)
	}
	if !st.Success() || st.Output().Stdout() != want {
		t.Errorf("code.Program on %s stream %s: %s\n stdout %q, want %q as here", st.Type(), st.ID(), st, st.Output().Stdout(), want)
	}
}

// checkSentOnce proves that a second run on st sends nothing: the shipped
// files' times, set to 2001 on the stream after the first run, are still
// 2001 after the second (any send writes them anew). After Terminate, the
// stream's new environment gets everything again.
func checkSentOnce(t *testing.T, st *streamtest.Stream, prog string) {
	t.Helper()
	want := runHere(t, prog)
	block := code.Program(prog)
	st.Run(block, streamtest.Wait())
	if st.Output().Stdout() != want {
		t.Fatalf("first run: %s, stdout %q", st, st.Output().Stdout())
	}
	const old = "1000000000" // 2001-09-09 01:46:40 UTC
	st.Run(code.Shell(`find blocks/elf -type f | sort > shipped.list && test -s shipped.list &&
		while read -r f; do touch -d @`+old+` "$f" || exit 1; done < shipped.list &&
		while read -r f; do stat -c %Y "$f"; done < shipped.list`), streamtest.Wait())
	before := st.Output().Stdout()
	if !st.Success() || strings.Trim(strings.ReplaceAll(before, old, ""), "\n") != "" {
		t.Fatalf("setting the shipped files' times: %s\n%s", st, before)
	}
	for _, b := range []code.Block{block, code.Program(prog, "other", "args")} {
		st.Run(b, streamtest.Wait())
		if !st.Success() {
			t.Fatalf("again: %s", st)
		}
	}
	st.Run(code.Shell(`find blocks/elf -type f | sort | cmp - shipped.list && while read -r f; do stat -c %Y "$f"; done < shipped.list`), streamtest.Wait())
	if after := st.Output().Stdout(); !st.Success() || after != before {
		t.Errorf("after two more runs, the shipped files' times (or the files) changed: the runs sent them again: %s\n%q, before %q", st, after, before)
	}
	st.Terminate()
	st.Run(block, streamtest.Wait())
	if !st.Success() || st.Output().Stdout() != want {
		t.Errorf("after Terminate, a new environment did not get the program: %s", st)
	}
}

// TestProgramOnTheBaseImage: a cgo program sent as it is cannot run in a
// container of the busybox image (no loader there, no C library); shipped
// with code.Program, it runs, and a second run sends nothing.
func TestProgramOnTheBaseImage(t *testing.T) {
	prog := buildCgo(t)
	s := containerStreams(t)
	st := s.At(1)
	st.Send(prog, "plain/prog")
	err := st.TryRun(code.Exec("plain/prog"), streamtest.Wait())
	if oc := st.Outcome(); err != nil || oc.Exit.Code != 127 {
		t.Errorf("the program sent plainly: %v, %s; want exit status 127 (its loader is missing)", err, st)
	}
	t.Run("shipped", func(t *testing.T) { checkProgramRuns(t, st, prog) })
	t.Run("sent once", func(t *testing.T) { checkSentOnce(t, s.At(2), prog) })
}

// TestProgramOnLocalStreams is TestProgramOnTheBaseImage on local streams.
func TestProgramOnLocalStreams(t *testing.T) {
	prog := buildCgo(t)
	s := streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.DefaultType("local"))
	checkProgramRuns(t, s.At(1), prog)
	t.Run("sent once", func(t *testing.T) { checkSentOnce(t, s.At(2), prog) })
}

// TestProgramInSandboxes is TestProgramOnTheBaseImage in sandboxes.
func TestProgramInSandboxes(t *testing.T) {
	prog := buildCgo(t)
	s := sandboxStreams(t)
	checkProgramRuns(t, s.At(1), prog)
	t.Run("sent once", func(t *testing.T) { checkSentOnce(t, s.At(2), prog) })
}

// TestProgramOnTheLab is TestProgramOnTheBaseImage on the netns lab's
// hosts (remote streams).
func TestProgramOnTheLab(t *testing.T) {
	prog := buildCgo(t)
	s, _ := labStreams(t)
	checkProgramRuns(t, s.At(1), prog)
	t.Run("sent once", func(t *testing.T) { checkSentOnce(t, s.At(2), prog) })
}

// TestProgramForAnotherMachine: a program for another architecture is
// refused by its stream before anything is sent, saying why.
func TestProgramForAnotherMachine(t *testing.T) {
	goarch, uname := "arm64", "aarch64"
	if runtime.GOARCH == "arm64" {
		goarch, uname = "amd64", "x86_64"
	}
	prog := testenv.BuildGo(t, "package main\n\nfunc main() {}\n", "CGO_ENABLED=0", "GOARCH="+goarch)
	check := func(t *testing.T, st *streamtest.Stream) {
		goos, march, err := stream.MachinePlatform()
		if err != nil {
			t.Fatal(err)
		}
		err = st.TryRun(code.Program(prog), streamtest.Wait())
		want := "program " + prog + " is a Linux ELF for " + uname + ", and the stream runs " + goos + "/" + march
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want %q", st.Type(), err, want)
		}
		st.Run(code.Shell("test ! -e blocks/elf"), streamtest.Wait())
		if !st.Success() {
			t.Errorf("%s: the refused program's directory is on the stream: something was sent", st.Type())
		}
	}
	t.Run("local", func(t *testing.T) {
		check(t, streamtest.For(t, streamtest.IgnoreEnvironment(), streamtest.DefaultType("local")).At(1))
	})
	t.Run("container", func(t *testing.T) { check(t, containerStreams(t).At(1)) })
	t.Run("sandbox", func(t *testing.T) { check(t, sandboxStreams(t).At(1)) })
	t.Run("remote", func(t *testing.T) { s, _ := labStreams(t); check(t, s.At(1)) })
}
