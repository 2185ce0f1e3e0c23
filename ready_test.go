package streamtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/internal/testenv"
)

// listener is the block of a TCP server that starts listening on addr after
// delay: see testdata/listen.
func listener(delay time.Duration, addr string, more ...string) code.Block {
	return code.GoProgram("./testdata/listen", append(append([]string{"-delay", delay.String()}, more...), addr)...)
}

var listeningAt = regexp.MustCompile(`^listening on (\S+) at (\S+)$`)

// listenedAt returns when the block of listener began to listen, as it
// printed it.
func listenedAt(t testing.TB, st *streamtest.Stream) time.Time {
	t.Helper()
	for _, line := range strings.Split(st.Output().Stdout(), "\n") {
		if m := listeningAt.FindStringSubmatch(line); m != nil {
			at, err := time.Parse(time.RFC3339Nano, m[2])
			if err != nil {
				t.Fatal(err)
			}
			return at
		}
	}
	t.Fatalf("stream %s: the listener did not say it listens: %v", st.ID(), st.Output())
	return time.Time{}
}

// freePort returns a TCP port that nothing on this machine listens on at
// 127.0.0.1 now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestWaitOutputReturnsWhileTheBlockRuns(t *testing.T) {
	for _, to := range []string{"stdout", "stderr"} {
		t.Run(to, func(t *testing.T) {
			s := localStreams(t)
			st := s.At(1)
			redirect := map[string]string{"stdout": "", "stderr": " >&2"}[to]
			// The line is printed after some work, then the block goes on.
			st.Run(code.Shell(`sleep 0.2; echo starting; echo "ready to serve at $(date +%s.%N)"` + redirect + `; exec sleep 60`))
			m := st.WaitOutput(regexp.MustCompile(`^ready to serve at (\d+)\.(\d+)$`), 50*time.Second)
			back := time.Now()
			if !st.Active() {
				t.Fatalf("the block ended before WaitOutput returned: %v", st)
			}
			sec, _ := strconv.ParseInt(m[1], 10, 64)
			nsec, _ := strconv.ParseInt(m[2], 10, 64)
			printed := time.Unix(sec, nsec)
			if back.Before(printed) {
				t.Errorf("WaitOutput returned at %v, before the line was printed at %v", back, printed)
			}
			t.Logf("WaitOutput returned %v after the block printed the line on %s", back.Sub(printed), to)
		})
	}
}

// A line counts once its newline has arrived: a half-written line does not
// match half the pattern.
func TestWaitOutputMatchesWholeLines(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	st.Run(code.Shell(`printf 'port 1'; sleep 0.3; printf '23\n'; exec sleep 60`))
	m := st.WaitOutput(regexp.MustCompile(`port (\d+)`), 50*time.Second)
	if m[1] != "123" {
		t.Errorf("WaitOutput matched %q, want port 123", m)
	}
}

// Output printed before the call counts, and so does an ended block's last
// line without a newline.
func TestWaitOutputOfAnEndedBlock(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	st.Run(code.Shell(`echo one; printf 'ready: yes'`), streamtest.Wait())
	m, err := st.TryWaitOutput(regexp.MustCompile(`ready: (\w+)`), time.Minute)
	if err != nil || !slices.Equal(m, []string{"ready: yes", "yes"}) {
		t.Errorf("TryWaitOutput = %q, %v", m, err)
	}
}

func TestWaitOutputBlockEndsFirst(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	st.Run(code.Shell(`for i in 1 2 3 4 5 6 7; do echo line $i; done; echo cannot bind >&2; exit 3`))
	_, err := st.TryWaitOutput(regexp.MustCompile(`ready`), time.Minute)
	if !errors.Is(err, streamtest.ErrBlockEnded) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want ErrBlockEnded, not a timeout", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"stream 1 (local, host 127.0.0.1): wait for output: the block ended (shell ",
		"exit status 3) without a line of stdout or stderr matching `ready`",
		"stdout (the last 5 of 7 lines):\n    | line 3\n", "| line 7\n",
		"stderr (1 line):\n    | cannot bind",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "line 2") || strings.Count(msg, "stream 1") != 1 {
		t.Errorf("the error quotes more than the last 5 lines, or repeats its prefix:\n%s", msg)
	}
}

func TestWaitOutputTimeout(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	st.Run(code.Shell(`echo starting; exec sleep 60`))
	_, err := st.TryWaitOutput(regexp.MustCompile(`ready`), 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, streamtest.ErrBlockEnded) {
		t.Fatalf("err = %v; want a timeout", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"stream 1 (local, host 127.0.0.1): wait for output: no line of stdout or stderr matched `ready` within 300ms; the block (shell ",
		") is still running\n  stdout (1 line):\n    | starting\n  stderr: empty",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
	if !st.Active() {
		t.Error("the block ended: a failed wait must not stop it")
	}
}

func TestWaitOutputWithoutABlock(t *testing.T) {
	s := localStreams(t)
	_, err := s.At(1).TryWaitOutput(regexp.MustCompile(`x`), time.Second)
	if err == nil || !strings.Contains(err.Error(), "stream 1 (local") || !strings.Contains(err.Error(), "no block has run") {
		t.Errorf("err = %v", err)
	}
}

// The fail-the-test variants fail as t.Fatal does, with the same message.
func TestWaitVariantsFailTheTest(t *testing.T) {
	for name, wait := range map[string]func(*streamtest.Stream){
		"WaitOutput": func(st *streamtest.Stream) { st.WaitOutput(regexp.MustCompile("ready"), time.Minute) },
		"WaitPort":   func(st *streamtest.Stream) { st.WaitPort(freePort(t), 100*time.Millisecond) },
	} {
		t.Run(name, func(t *testing.T) {
			sess := streamtest.NewSession(name)
			sess.SetLog(io.Discard)
			defer sess.Close()
			s := streamtest.For(sess, streamtest.IgnoreEnvironment())
			st := s.At(1)
			st.Run(code.Shell("echo cannot start >&2; exit 1"), streamtest.Wait())
			func() {
				defer func() {
					if _, ok := recover().(*streamtest.FatalError); !ok {
						t.Errorf("%s did not fail the session as Fatalf does", name)
					}
				}()
				wait(st)
			}()
			errs := sess.Errors()
			if len(errs) != 1 || !strings.HasPrefix(errs[0], "streamtest: stream 1 (local") || !strings.Contains(errs[0], "| cannot start") {
				t.Errorf("failures: %q", errs)
			}
		})
	}
}

func TestWaitPortLocal(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	port := freePort(t)
	st.Run(listener(300*time.Millisecond, "127.0.0.1:"+strconv.Itoa(port)))
	st.WaitPort(port, 50*time.Second)
	back := time.Now()
	if !st.Active() {
		t.Fatalf("the listener ended: %v", st)
	}
	at := listenedAt(t, st)
	if back.Before(at) {
		t.Errorf("WaitPort returned at %v, before the listener listened at %v", back, at)
	}
	t.Logf("WaitPort returned %v after the port began to listen", back.Sub(at))
}

// A timeout names the stream, the address and the last connection error,
// and quotes the block's last lines.
func TestWaitPortTimeoutOnAClosedPort(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	st.Run(code.Shell("echo address already in use >&2; exit 1"), streamtest.Wait())
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	err := st.TryWaitPort(port, 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want a timeout", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("the error does not wrap the last connection error: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"stream 1 (local, host 127.0.0.1): wait for a port: nothing accepted a connection at " + addr + " within 300ms (",
		"attempts from the stream's side; the last: dial tcp " + addr + ": connect: connection refused); the block (shell ",
		"ended (exit status 1) ",
		"stderr (1 line):\n    | address already in use",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
}

func TestWaitPortUnreachableStream(t *testing.T) {
	for _, typ := range []string{"local", "sandbox"} {
		t.Run(typ, func(t *testing.T) {
			if typ == "sandbox" {
				_, err := exec.LookPath("bwrap")
				testenv.Need(t, err == nil, "bubblewrap", "`apt-get install bubblewrap`")
			}
			p := writeParams(t, "streams:\n  - 1: {type: "+typ+", network: none}\n")
			s := streamtest.For(t, streamtest.ParamsFile(p), streamtest.IgnoreEnvironment())
			err := s.At(1).TryWaitPort(freePort(t), time.Minute)
			if !errors.Is(err, errors.ErrUnsupported) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v; want ErrUnsupported at once", err)
			}
			if !strings.Contains(err.Error(), "stream 1 ("+typ+", host 127.0.0.1): wait for a port: cannot connect to 127.0.0.1:") ||
				!strings.Contains(err.Error(), `network "none"`) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// Two local streams at two loopback addresses: the group waits for the
// port on each member's own host, and names the member that failed.
func TestGroupWaitPort(t *testing.T) {
	p := writeParams(t, "streams:\n  - 1: {type: local, host: 127.0.0.1}\n  - 2: {type: local, host: 127.0.0.2}\n")
	s := streamtest.For(t, streamtest.ParamsFile(p), streamtest.IgnoreEnvironment())
	port := freePort(t)
	g := s.Range(1, 2)
	s.At(1).Run(listener(100*time.Millisecond, "127.0.0.1:"+strconv.Itoa(port)))
	err := g.TryWaitPort(port, 500*time.Millisecond)
	if err == nil || strings.Contains(err.Error(), "stream 1") || !strings.Contains(err.Error(), "stream 2 (local, host 127.0.0.2): wait for a port: nothing accepted a connection at 127.0.0.2:"+strconv.Itoa(port)) {
		t.Fatalf("with a listener on stream 1 only: %v", err)
	}
	s.At(2).Run(listener(200*time.Millisecond, "127.0.0.2:"+strconv.Itoa(port)))
	g.WaitPort(port, 50*time.Second)
	if !g.Active() || !s.At(2).Active() {
		t.Fatalf("a listener ended: %v", g)
	}
	listenedAt(t, s.At(2))
}

func TestGroupWaitOutput(t *testing.T) {
	s := localStreams(t)
	g := s.Range(1, 3)
	g.Run(code.Shell(`sleep 0.1; echo ready; exec sleep 60`))
	g.WaitOutput(regexp.MustCompile(`^ready$`), 50*time.Second)
	s.At(3).Terminate()
	err := g.TryWaitOutput(regexp.MustCompile(`^never$`), 200*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, streamtest.ErrBlockEnded) {
		t.Fatalf("err = %v; want streams 1 and 2 timed out and stream 3 ended", err)
	}
	if msg := err.Error(); strings.Count(msg, "within 200ms") != 2 || !strings.Contains(msg, "stream 3 (local): wait for output: the block ended (shell \"sleep 0.1; echo ready; exec sleep 60\", killed by SIGTERM, terminated)") {
		t.Errorf("err = %v", err)
	}
}

// labPort returns a port for a listener on a lab host: its network
// namespace is its own, so that this machine's ports say nothing of it; a
// clash with another test's listener there is unlikely.
func labPort() int { return 20000 + rand.IntN(20000) }

// A server bound to a lab host's loopback only is reached from the host's
// side, through the stream's SSH connection: not from this machine, and
// not at the host's address.
func TestWaitAddrRemoteLoopback(t *testing.T) {
	s, l := labStreams(t)
	h1, _ := l.Host(1)
	st := s.At(1)
	// A port nothing on this machine listens on: otherwise the test would
	// prove nothing.
	var port int
	var loop string
	for range 20 {
		port = labPort()
		loop = "127.0.0.1:" + strconv.Itoa(port)
		c, err := net.Dial("tcp", loop)
		if err != nil {
			break
		}
		c.Close()
	}
	st.Run(listener(300*time.Millisecond, loop))
	st.WaitAddr(loop, 50*time.Second)
	if !st.Active() {
		t.Fatalf("the listener ended: %v", st)
	}
	if m := listeningAt.FindStringSubmatch(strings.TrimSpace(st.Output().Stdout())); m == nil || m[1] != loop {
		t.Fatalf("the listener printed %q", st.Output().Stdout())
	}
	if c, err := net.DialTimeout("tcp", loop, time.Second); err == nil {
		c.Close()
		t.Fatalf("this machine reaches %s: the remote check proved nothing", loop)
	}
	err := st.TryWaitPort(port, 300*time.Millisecond)
	want := "stream 1 (remote, host " + h1.Addr + "): wait for a port: nothing accepted a connection at " + h1.Addr + ":" + strconv.Itoa(port)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "Connection refused") {
		t.Errorf("WaitPort at the host's address, with the server on its loopback only: %v\nwant %q and the connection refused", err, want)
	}
	t.Logf("WaitPort at the host's address: %v", err)
}

// Through a jump host, by an ssh_config alias: the stream's Host() is the
// alias, which the check dials as its HostName, from the host.
func TestWaitPortRemoteBehindAJumpHost(t *testing.T) {
	l := needLab(t)
	h1, _ := l.Host(1)
	h2, _ := l.Host(2)
	conf := filepath.Join(t.TempDir(), "ssh_config")
	os.WriteFile(conf, []byte(`Host jumper target
  User `+l.User+`
  IdentityFile `+l.Key+`
  UserKnownHostsFile `+l.KnownHosts+`
Host jumper
  HostName `+h1.Addr+`
Host target
  HostName `+h2.Addr+`
  ProxyJump jumper
`), 0o644)
	p := writeParams(t, "streams:\n  - db: {type: remote, host: target, ssh_config: "+conf+"}\n")
	s := streamtest.For(t, streamtest.ParamsFile(p), streamtest.IgnoreEnvironment(), streamtest.Strict())
	st := s.At("db")
	port := labPort()
	st.Run(listener(300*time.Millisecond, ":"+strconv.Itoa(port)))
	st.WaitPort(port, 50*time.Second)
	if !st.Active() || st.Host() != "target" {
		t.Fatalf("the listener ended, or the host is not the alias: %v", st)
	}
	listenedAt(t, st)
}

func TestWaitPortContainer(t *testing.T) {
	needDocker(t)
	p := writeParams(t, "streams:\n  - 1: {type: container}\n")
	s := streamtest.For(t, streamtest.ParamsFile(p), streamtest.IgnoreEnvironment(), streamtest.Strict())
	st := s.At(1)
	port := 8080
	st.Run(listener(300*time.Millisecond, ":"+strconv.Itoa(port)))
	st.WaitPort(port, 50*time.Second)
	back := time.Now()
	if !st.Active() {
		t.Fatalf("the listener ended: %v", st)
	}
	t.Logf("WaitPort returned %v after the port began to listen in container %s", back.Sub(listenedAt(t, st)), st.Host())
	err := st.TryWaitAddr("127.0.0.1:"+strconv.Itoa(port), time.Minute)
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "the container's loopback") {
		t.Errorf("WaitAddr on the container's loopback: %v; want unsupported at once", err)
	}
}

// Only the lines begun after the mark count: not those printed before it,
// nor the one it cuts in the middle, even when its end comes after it.
func TestWaitOutputAfterAMark(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	// "leader 1" is printed whole, then "leader 2" begun; the mark is taken
	// between; then "leader 2" ends, and "leader 3" follows on stderr.
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	st.Run(code.Shell(`echo leader 1; printf 'leader 2'; echo err 1 >&2; while [ ! -e ` + gate + ` ]; do sleep 0.01; done; echo; sleep 0.2; echo leader 3 >&2; exec sleep 60`))
	st.WaitOutput(regexp.MustCompile(`^err 1$`), 50*time.Second)
	untilStdoutEnds(t, st, "leader 1\nleader 2") // stdout is a pipe of its own
	mark := st.Mark()
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m := st.WaitOutputAfter(mark, regexp.MustCompile(`^leader (\d+)$`), 50*time.Second)
	if !slices.Equal(m, []string{"leader 3", "3"}) {
		t.Errorf("WaitOutputAfter = %q, want leader 3: the lines before the mark counted", m)
	}
	// WaitOutput, from the start, finds the first.
	if m := st.WaitOutput(regexp.MustCompile(`^leader (\d+)$`), time.Second); m[1] != "1" {
		t.Errorf("WaitOutput = %q, want leader 1", m)
	}
	// The same mark once more: still leader 3, and a pattern only the old
	// lines match times out, saying what came after the mark.
	if m := st.WaitOutputAfter(mark, regexp.MustCompile(`^leader (\d+)$`), time.Second); m[1] != "3" {
		t.Errorf("WaitOutputAfter again = %q, want leader 3", m)
	}
	_, err := st.TryWaitOutputAfter(mark, regexp.MustCompile(`^(leader [12]|err 1)$`), 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want a timeout", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"stream 1 (local, host 127.0.0.1): wait for output after a mark: no line of stdout or stderr begun after the mark matched `^(leader [12]|err 1)$` within 300ms; the block (shell ",
		") is still running; since the mark, taken ",
		" ago, no line of stdout and 1 line of stderr\n",
		"stderr (2 lines):\n    | err 1\n    | leader 3",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
}

// untilStdoutEnds waits until the stdout of the stream's block so far ends
// with suffix: an unended line, which no wait can see.
func untilStdoutEnds(t *testing.T, st *streamtest.Stream, suffix string) {
	t.Helper()
	for deadline := time.Now().Add(50 * time.Second); !strings.HasSuffix(st.Output().Stdout(), suffix); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the block did not print %q: %v", suffix, st.Output())
		}
	}
}

// A mark in the middle of a line that goes on: the rest of that line does
// not count, though it matches; the next line does.
func TestWaitOutputAfterAMarkInALine(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	gate := filepath.Join(t.TempDir(), "gate")
	st.Run(code.Shell(`printf 'term 1'; while [ ! -e ` + gate + ` ]; do sleep 0.01; done; echo ' elected'; echo 'term 2 elected'; exec sleep 60`))
	untilStdoutEnds(t, st, "term 1")
	mark := st.Mark()
	os.WriteFile(gate, nil, 0o644)
	m := st.WaitOutputAfter(mark, regexp.MustCompile(`^(.*)elected$`), 50*time.Second)
	if m[0] != "term 2 elected" {
		t.Errorf("WaitOutputAfter = %q, want the line after the mark", m)
	}
}

// A mark in the middle of an unended last line: that line does not count
// when the block ends, though WaitOutput's would.
func TestWaitOutputAfterAMarkInAnUnendedLine(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	gate := filepath.Join(t.TempDir(), "gate")
	st.Run(code.Shell(`printf 'ready'; while [ ! -e ` + gate + ` ]; do sleep 0.01; done; printf ' now'`))
	untilStdoutEnds(t, st, "ready")
	mark := st.Mark()
	os.WriteFile(gate, nil, 0o644)
	_, err := st.TryWaitOutputAfter(mark, regexp.MustCompile(`now`), time.Minute)
	if !errors.Is(err, streamtest.ErrBlockEnded) {
		t.Fatalf("err = %v; want ErrBlockEnded", err)
	}
	if !strings.Contains(err.Error(), "without a line of stdout or stderr begun after the mark matching `now`; since the mark, taken ") ||
		!strings.Contains(err.Error(), "no line of stdout and no line of stderr") {
		t.Errorf("err = %v", err)
	}
	if _, err := st.TryWaitOutput(regexp.MustCompile(`ready now`), time.Minute); err != nil {
		t.Errorf("WaitOutput: %v", err)
	}
	// A mark of a block that has ended is at its end.
	_, err = st.TryWaitOutputAfter(st.Mark(), regexp.MustCompile(`.`), time.Minute)
	if !errors.Is(err, streamtest.ErrBlockEnded) {
		t.Errorf("a mark at the end: %v; want ErrBlockEnded", err)
	}
}

// A mark taken on an earlier block, or before any: every line of the
// current block counts. A mark of another stream is an error.
func TestWaitOutputAfterAMarkOfAnEarlierBlock(t *testing.T) {
	s := localStreams(t)
	st := s.At(1)
	before := st.Mark() // no block yet
	st.Run(code.Shell(`echo elected leader a at term 2`), streamtest.Wait())
	earlier := st.Mark()
	st.Run(code.Shell(`echo elected leader a at term 2; exec sleep 60`)) // the member restarted
	re := regexp.MustCompile(`elected leader (\w+) at term (\d+)`)
	for name, mark := range map[string]streamtest.OutputMark{"before any block": before, "on the earlier block": earlier, "zero": {}} {
		m, err := st.TryWaitOutputAfter(mark, re, 50*time.Second)
		if err != nil || m[2] != "2" {
			t.Errorf("a mark %s: %q, %v; want the current block's line", name, m, err)
		}
	}
	_, err := st.TryWaitOutputAfter(s.At(2).Mark(), re, time.Second)
	if err == nil || !strings.Contains(err.Error(), "stream 1 (local, host 127.0.0.1): wait for output after a mark: the mark was taken on stream 2, not on this one") {
		t.Errorf("a mark of stream 2 on stream 1: %v", err)
	}
	st.Terminate()
	st.Run(code.Shell(`exit 1`), streamtest.Wait())
	_, err = st.TryWaitOutputAfter(earlier, re, time.Minute)
	if !errors.Is(err, streamtest.ErrBlockEnded) || !strings.Contains(err.Error(), "the mark was taken before this block began, so every line of it counted") {
		t.Errorf("a mark of an earlier block, on a block that printed nothing: %v", err)
	}
}

// The group's mark: every member waits for a line after its own mark.
func TestGroupWaitOutputAfter(t *testing.T) {
	s := localStreams(t)
	g := s.Range(1, 2)
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	g.Run(code.Shell(`echo term 1; while [ ! -e ` + gate + ` ]; do sleep 0.01; done; echo term 2; exec sleep 60`))
	g.WaitOutput(regexp.MustCompile(`^term 1$`), 50*time.Second)
	mark := g.Mark()
	err := g.TryWaitOutputAfter(mark, regexp.MustCompile(`^term \d+$`), 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || strings.Count(err.Error(), "within 300ms") != 2 {
		t.Fatalf("before the gate: %v; want both members timed out", err)
	}
	os.WriteFile(gate, nil, 0o644)
	g.WaitOutputAfter(mark, regexp.MustCompile(`^term 2$`), 50*time.Second)
	if m := s.At(2).WaitOutputAfter(mark.Of(s.At(2)), regexp.MustCompile(`^term (\d)$`), time.Second); m[1] != "2" {
		t.Errorf("stream 2 after its mark: %q", m)
	}
	err = s.Range(1, 3).TryWaitOutputAfter(mark, regexp.MustCompile(`term`), time.Second)
	if err == nil || !strings.Contains(err.Error(), "stream 3 (local): wait for output after a mark: the group's mark holds no mark of this stream") || strings.Contains(err.Error(), "stream 1") {
		t.Errorf("a member the mark does not hold: %v", err)
	}
}

// A line printed before the mark does not count: after a crash, the test
// waits for a new election, not the first one.
func ExampleStream_WaitOutputAfter() {
	sess := streamtest.NewSession("ExampleStream_WaitOutputAfter")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment())

	st := s.At(1)
	crash, crashed := io.Pipe() // a stand-in for the crash of another member
	st.Run(code.Shell("echo 'elected leader a at term 2'; read x; echo 'elected leader b at term 3'; exec sleep 60"),
		streamtest.Stdin(func() io.Reader { return crash }))
	elected := regexp.MustCompile(`elected leader (\w+) at term (\d+)`)
	m := st.WaitOutput(elected, 10*time.Second)
	fmt.Println("first:", m[1], "at term", m[2])
	mark := st.Mark() // before the crash
	fmt.Fprintln(crashed, "crash")
	crashed.Close()
	m = st.WaitOutputAfter(mark, elected, 10*time.Second)
	fmt.Println("after the mark:", m[1], "at term", m[2])
	// Output:
	// first: a at term 2
	// after the mark: b at term 3
}
