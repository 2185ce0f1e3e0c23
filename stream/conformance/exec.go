package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// Setup, Host, exit statuses, stdio, environment, directories, Start.

func (s *suite) setupWorkDir(t *testing.T) {
	w := s.env.WorkDir()
	if !path.IsAbs(w) {
		t.Fatalf("WorkDir() = %q after Setup, want an absolute path on the stream", w)
	}
	en := s.ls(t, s.env, w)[w]
	if en.Type != 'd' || en.Perm != 0o700 {
		t.Errorf("WorkDir %s on the stream is %s, want a directory 0700", w, en)
	}
}

func (s *suite) setupCancelled(t *testing.T) {
	e := s.openEnv(t)
	t.Cleanup(func() { s.close(t, e) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var err error
	if !s.bounded(func() { err = e.Setup(ctx) }) {
		t.Fatalf("Setup with a cancelled context did not return within %v", s.timeout)
	}
	s.note(t, "Setup", err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Setup with a cancelled context returned %v, want an error wrapping context.Canceled", err)
	}
}

func (s *suite) host(t *testing.T) {
	if h := s.env.Host(); h == "" {
		t.Errorf("Host() = \"\" after Setup")
	}
}

func (s *suite) exitStatus(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"true"}, 0},
		{[]string{"false"}, 1},
		{[]string{"/bin/sh", "-c", "exit 3"}, 3},
		{[]string{"/bin/sh", "-c", "exit 255"}, 255},
	} {
		before := time.Now()
		p := s.start(t, s.env, &stream.Command{Args: tc.args})
		started := time.Now()
		x := s.wait(t, p, fmt.Sprintf("%q", tc.args))
		after := time.Now()
		wantExit(t, fmt.Sprintf("%q", tc.args), x, tc.code, 0)
		if x.Success() != (tc.code == 0) {
			t.Errorf("%q: Exit.Success() = %v with %s", tc.args, x.Success(), x)
		}
		if x.Started.Before(before) || x.Started.After(started) {
			t.Errorf("%q: Exit.Started = %v, want the instant Start started it, on the test's clock (between %v and %v)",
				tc.args, x.Started, before, started)
		}
		if x.Ended.Before(x.Started) || x.Ended.After(after) {
			t.Errorf("%q: Exit.Ended = %v, want when the end was learnt (between Started %v and Wait's return %v)",
				tc.args, x.Ended, x.Started, after)
		}
		if !isClosed(p.Done()) {
			t.Errorf("%q: Done() is not closed after Wait returned", tc.args)
		}
		if x2, err := p.Wait(); x2 != x || err != nil {
			t.Errorf("%q: Wait again = %+v, %v; want %+v, nil", tc.args, x2, err, x)
		}
	}
}

func (s *suite) exitSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGKILL} {
		name := stream.SignalName(sig)
		args := []string{"/bin/sh", "-c", "kill -" + strings.TrimPrefix(name, "SIG") + " $$"}
		r := s.run(t, s.env, &stream.Command{Args: args})
		wantExit(t, fmt.Sprintf("%q", args), r.exit, -1, sig)
		if got, want := r.exit.String(), "killed by "+name; got != want {
			t.Errorf("%q: Exit.String() = %q, want %q", args, got, want)
		}
	}
}

func (s *suite) stdioApart(t *testing.T) {
	r := s.run(t, s.env, &stream.Command{Args: []string{"/bin/sh", "-c",
		"echo out1; echo err1 >&2; echo out2; echo err2 >&2; printf 'no newline' >&2"}})
	wantExit(t, "the block", r.exit, 0, 0)
	if r.stdout != "out1\nout2\n" {
		t.Errorf("stdout = %q, want %q", r.stdout, "out1\nout2\n")
	}
	if r.stderr != "err1\nerr2\nno newline" {
		t.Errorf("stderr = %q, want %q", r.stderr, "err1\nerr2\nno newline")
	}
}

// numbered returns n lines "%07d\n" from 0: what numberedAwk prints.
func numbered(n int) []byte {
	b := make([]byte, 0, 8*n)
	line := []byte("0000000\n")
	for i := range n {
		for j, v := 6, i; j >= 0; j, v = j-1, v/10 {
			line[j] = byte('0' + v%10)
		}
		b = append(b, line...)
	}
	return b
}

const numberedAwk = `awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%07d\n", i }'`

// sameBytes fails t unless got is want, saying where they part.
func sameBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: %d bytes, want %d; they differ from byte %d (got %q, want %q)", what, len(got), len(want), i,
		excerpt(got, i), excerpt(want, i))
}

func excerpt(b []byte, i int) []byte { return b[i:min(len(b), i+24)] }

func (s *suite) stdioLarge(t *testing.T) {
	const outLines, errLines = 4 << 17, 1 << 17 // 4 MiB and 1 MiB, both at once
	script := fmt.Sprintf(`set -- %d; %s & set -- %d; %s >&2; wait`, outLines, numberedAwk, errLines, numberedAwk)
	r := s.run(t, s.env, &stream.Command{Args: []string{"/bin/sh", "-c", script}})
	wantExit(t, "the block", r.exit, 0, 0)
	sameBytes(t, "stdout", []byte(r.stdout), numbered(outLines))
	sameBytes(t, "stderr", []byte(r.stderr), numbered(errLines))
}

func (s *suite) stdinStreamed(t *testing.T) {
	in, w := io.Pipe()
	defer w.Close()
	out := &output{}
	var p stream.Process
	var err error
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	cmd := &stream.Command{Args: []string{"cat"}, Stdin: in, Stdout: out}
	if !s.bounded(func() { p, err = s.env.Start(ctx, cmd) }) {
		w.Close()
		t.Fatalf("Start did not return within %v while stdin stayed open: it must not read the input before starting", s.timeout)
	}
	if err != nil {
		s.note(t, "Start", err)
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stream.Stop(p, 0) })
	write := func(text string) {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			_, err := io.WriteString(w, text)
			done <- err
		}()
		timer := time.NewTimer(s.timeout)
		defer timer.Stop()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("writing %q to stdin: %v", text, err)
			}
		case <-timer.C:
			w.CloseWithError(errors.New("stdin not read"))
			t.Fatalf("nobody read %q from stdin within %v", text, s.timeout)
		}
	}
	write("ping\n")
	if got, ok := out.waitFor(s.timeout, func(o string) bool { return o == "ping\n" }); !ok {
		t.Fatalf("cat did not echo the first line while stdin was still open (stdout %q after %v): stdin is not streamed", got, s.timeout)
	}
	write("pong\n")
	w.Close()
	x := s.wait(t, p, "cat")
	wantExit(t, "cat", x, 0, 0)
	if got := out.String(); got != "ping\npong\n" {
		t.Errorf("stdout = %q, want %q", got, "ping\npong\n")
	}
}

func (s *suite) stdinNil(t *testing.T) {
	r := s.run(t, s.env, &stream.Command{Args: []string{"/bin/sh", "-c", "cat; echo end"}})
	wantExit(t, "cat with a nil Stdin", r.exit, 0, 0)
	if r.stdout != "end\n" {
		t.Errorf("stdout = %q, want %q (a nil Stdin is an empty input)", r.stdout, "end\n")
	}
}

func (s *suite) stdinLarge(t *testing.T) {
	in := numbered(4 << 17)
	out := &output{}
	p := s.start(t, s.env, &stream.Command{Args: []string{"cat"}, Stdin: bytes.NewReader(in), Stdout: out})
	wantExit(t, "cat", s.wait(t, p, "cat"), 0, 0)
	sameBytes(t, "stdout of cat", []byte(out.String()), in)
}

func (s *suite) envAdded(t *testing.T) {
	values := []string{
		"CONF_A=first",
		"CONF_B=two words, 'quotes' \"double\" $HOME `x` \\n; exit 9",
		"CONF_C=a=b",
		"CONF_D=line one\nline two",
		"CONF_E=",
		"CONF_A=second",
	}
	r := s.run(t, s.env, &stream.Command{
		Args: []string{"/bin/sh", "-c", `printf '%s|%s|%s|%s|%s|%s' "$CONF_A" "$CONF_B" "$CONF_C" "$CONF_D" "${CONF_E-unset}" "${PATH:+PATH kept}"`},
		Env:  values,
	})
	wantExit(t, "the block", r.exit, 0, 0)
	want := "second|two words, 'quotes' \"double\" $HOME `x` \\n; exit 9|a=b|line one\nline two||PATH kept"
	if r.stdout != want {
		t.Errorf("the block saw %q, want %q (the later CONF_A wins, values as given, the stream's PATH kept)", r.stdout, want)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// scanScript prints "marker" for each process whose command line holds
// $CONF_M1$CONF_M2, and "secret FILE: CMDLINE" for each whose command line
// holds $CONF_S1$CONF_S2. The needles are split so that no command line
// (this scan's own included) holds them whole unless a value was put there
// whole. The arguments are read one a line (busybox grep stops at a NUL).
const scanScript = `for f in /proc/[0-9]*/cmdline; do
	c=$(tr '\0' '\n' < "$f" 2>/dev/null) || continue
	case $c in *"$CONF_M1$CONF_M2"*) echo marker ;; esac
	case $c in *"$CONF_S1$CONF_S2"*) printf 'secret %s: %s\n' "$f" "$(printf '%s' "$c" | tr '\n' ' ')" ;; esac
done`

func (s *suite) envNotOnCommandLine(t *testing.T) {
	secret := "conformance-secret-" + randomHex(12)
	marker := "conformance-marker-" + randomHex(12)
	out := &output{}
	// The block runs while the stream is scanned: whatever the type wraps
	// it in runs too. Its own command line holds the marker (as $0), so the
	// scan proves it sees the block's processes.
	p := s.start(t, s.env, &stream.Command{
		Args:   []string{"/bin/sh", "-c", `echo "ready ${#CONF_SECRET}"; sleep ` + strconv.Itoa(s.long) + `; :`, marker},
		Env:    []string{"CONF_SECRET=" + secret},
		Stdout: out,
	})
	want := fmt.Sprintf("ready %d\n", len(secret))
	if got, ok := out.waitFor(s.timeout, func(o string) bool { return strings.HasPrefix(o, "ready") && strings.HasSuffix(o, "\n") }); !ok || got != want {
		t.Fatalf("the block printed %q, want %q (its Env holds the secret)", got, want)
	}
	scan := s.run(t, s.env, &stream.Command{
		Args: []string{"/bin/sh", "-c", scanScript},
		Env: []string{"CONF_M1=" + marker[:len(marker)/2], "CONF_M2=" + marker[len(marker)/2:],
			"CONF_S1=" + secret[:len(secret)/2], "CONF_S2=" + secret[len(secret)/2:]},
	})
	if !scan.exit.Success() {
		t.Fatalf("scanning /proc/*/cmdline on the stream: %s, stderr %q", scan.exit, scan.stderr)
	}
	if !strings.Contains(scan.stdout, "marker\n") {
		t.Fatalf("the scan of /proc/*/cmdline did not find the running block (marker %s): it cannot see the stream's processes; output %q", marker, scan.stdout)
	}
	for _, line := range strings.Split(scan.stdout, "\n") {
		if strings.HasPrefix(line, "secret ") {
			t.Errorf("an Env value is on a command line on the stream: %s", around(line, secret, 100))
		}
	}
	stream.Stop(p, 0)
}

// around returns the part of line within n bytes of secret, with secret
// itself replaced.
func around(line, secret string, n int) string {
	i := strings.Index(line, secret)
	if i < 0 {
		return line
	}
	before, after := line[:i], line[i+len(secret):]
	if len(before) > n {
		before = "..." + before[len(before)-n:]
	}
	if len(after) > n {
		after = after[:n] + "..."
	}
	return before + "<the secret>" + after
}

// physical is the script that prints the physical path of the directory
// it runs in, and of $1 when given.
const physical = `pwd -P; if [ -n "$1" ]; then cd "$1" && pwd -P; fi`

func (s *suite) dirDefault(t *testing.T) {
	w := s.env.WorkDir()
	lines := strings.Split(s.sh(t, s.env, physical, w), "\n")
	if len(lines) < 2 || lines[0] != lines[1] {
		t.Errorf("a block with Dir \"\" runs in %q, want WorkDir %s (%q)", lines[0], w, lines[1:])
	}
}

func (s *suite) dirRelative(t *testing.T) {
	s.sh(t, s.env, `mkdir -p conformance-dir/sub && printf '#!/bin/sh\necho "script in $(pwd -P)"\n' > conformance-dir/sub/run.sh && chmod 755 conformance-dir/sub/run.sh`)
	want := strings.Split(s.sh(t, s.env, physical, path.Join(s.env.WorkDir(), "conformance-dir/sub")), "\n")[1]
	got := strings.TrimSuffix(s.shIn(t, s.env, "conformance-dir/sub", "pwd -P"), "\n")
	if got != want {
		t.Errorf("a block with Dir %q runs in %q, want %q (relative to WorkDir)", "conformance-dir/sub", got, want)
	}
	// A program named with a slash is relative to Dir.
	r := s.run(t, s.env, &stream.Command{Args: []string{"./run.sh"}, Dir: "conformance-dir/sub"})
	wantExit(t, "./run.sh in Dir conformance-dir/sub", r.exit, 0, 0)
	if r.stdout != "script in "+want+"\n" {
		t.Errorf("./run.sh in Dir conformance-dir/sub printed %q, want %q", r.stdout, "script in "+want+"\n")
	}
}

func (s *suite) dirAbsolute(t *testing.T) {
	if got := s.shIn(t, s.env, "/", "pwd -P"); got != "/\n" {
		t.Errorf("a block with Dir \"/\" runs in %q, want \"/\"", strings.TrimSuffix(got, "\n"))
	}
}

// wantStartError fails t unless Start of cmd fails with an error that
// names what (the program or the directory).
func (s *suite) wantStartError(t *testing.T, cmd *stream.Command, what string) {
	t.Helper()
	desc := fmt.Sprintf("Start %q", cmd.Args)
	if cmd.Dir != "" {
		desc += " in Dir " + cmd.Dir
	}
	if cmd.Gated {
		desc += " (gated)"
	}
	p, err := s.tryStart(t, s.env, cmd)
	if err == nil {
		if cmd.Gated {
			p.Release()
		}
		x, werr := s.waitErr(t, p, desc)
		t.Errorf("%s succeeded, and the process ended with %s (Wait error %v); want an error of Start", desc, x, werr)
		return
	}
	if !strings.Contains(err.Error(), what) {
		t.Errorf("%s: the error %q does not name %q", desc, err, what)
	}
}

func (s *suite) startMissingProgram(t *testing.T) {
	s.sh(t, s.env, `mkdir -p conformance-start/dir && echo 'echo hi' > conformance-start/not-executable && chmod 644 conformance-start/not-executable`)
	for _, gated := range []bool{false, true} {
		for _, tc := range []struct{ args0, dir, what string }{
			{"conformance-no-such-program", "", "conformance-no-such-program"},
			{"./no-such-program", "conformance-start", "no-such-program"},
			{"./not-executable", "conformance-start", "not-executable"},
			{"./dir", "conformance-start", "dir"},
		} {
			s.wantStartError(t, &stream.Command{Args: []string{tc.args0, "arg"}, Dir: tc.dir, Gated: gated}, tc.what)
		}
	}
}

func (s *suite) startMissingDir(t *testing.T) {
	for _, gated := range []bool{false, true} {
		for _, dir := range []string{"conformance-no-such-dir", "/conformance-no-such-dir"} {
			s.wantStartError(t, &stream.Command{Args: []string{"true"}, Dir: dir, Gated: gated}, "conformance-no-such-dir")
		}
	}
}

func (s *suite) startConcurrent(t *testing.T) {
	// Each block waits until all have made their file: they finish only if
	// they run at the same time.
	const n = 6
	dir := "conformance-concurrent"
	s.sh(t, s.env, `mkdir -p "$1"`, dir)
	script := fmt.Sprintf(`: > %s/$1
i=0
until set -- %s/*; [ $# -ge %d ]; do i=$((i+1)); if [ $i -gt 5000 ]; then sleep 1; fi; done
echo done`, dir, dir, n)
	var wg sync.WaitGroup
	procs := make([]stream.Process, n)
	outs := make([]*output, n)
	errs := make([]error, n)
	for i := range n {
		outs[i] = &output{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
			defer cancel()
			procs[i], errs[i] = s.env.Start(ctx, &stream.Command{Args: []string{"/bin/sh", "-c", script, "sh", strconv.Itoa(i)}, Stdout: outs[i]})
		}()
	}
	if !s.bounded(wg.Wait) {
		t.Fatalf("%d concurrent Starts did not all return within %v", n, s.timeout)
	}
	for i, p := range procs {
		if errs[i] != nil {
			s.note(t, "Start", errs[i])
			t.Errorf("concurrent Start %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { stream.Stop(p, 0) })
	}
	if t.Failed() {
		return
	}
	for i, p := range procs {
		x := s.wait(t, p, fmt.Sprintf("concurrent block %d", i))
		if !x.Success() || outs[i].String() != "done\n" {
			t.Errorf("concurrent block %d: %s, stdout %q", i, x, outs[i].String())
		}
	}
}
