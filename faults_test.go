package streamtest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/container"
)

// probe asks, from stream from, for n TCP connections to port 22 of to,
// each given timeout, and returns how many were answered (accepted or
// refused) and their median time.
func probe(t *testing.T, from, to *streamtest.Stream, n int, timeout time.Duration) (answered int, median time.Duration) {
	t.Helper()
	addr := net.JoinHostPort(to.Host(), "22")
	from.Run(code.GoProgram("./testdata/probe", "-n", fmt.Sprint(n), "-timeout", timeout.String(), addr), streamtest.Wait())
	out := from.Output().Stdout()
	var total int
	var us int64
	if _, err := fmt.Sscanf(lastLine(out), "answered %d of %d, median %d", &answered, &total, &us); err != nil || !from.Success() {
		t.Fatalf("probe from %s to %s: %v\n%s", from.ID(), addr, err, from)
	}
	return answered, time.Duration(us) * time.Microsecond
}

// sendRate sends n bytes from stream from to the probe sink on to's port
// 7777 and returns the rate in bits per second.
func sendRate(t *testing.T, from, to *streamtest.Stream, n int) float64 {
	t.Helper()
	from.Run(code.GoProgram("./testdata/probe", "-send", fmt.Sprint(n), net.JoinHostPort(to.Host(), "7777")), streamtest.Wait())
	var sent, us int64
	if _, err := fmt.Sscanf(lastLine(from.Output().Stdout()), "sent %d in %d", &sent, &us); err != nil || !from.Success() || us <= 0 {
		t.Fatalf("sending from %s to %s: %v\n%s", from.ID(), to.ID(), err, from)
	}
	return float64(sent*8) / (float64(us) / 1e6)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// reaches reports whether from's two connection attempts to to were both
// answered (true) or none was (false), failing on anything between.
func reaches(t *testing.T, from, to *streamtest.Stream) bool {
	t.Helper()
	got, _ := probe(t, from, to, 2, 300*time.Millisecond)
	if got == 1 {
		t.Fatalf("from %s to %s: one of two connections answered", from.ID(), to.ID())
	}
	return got == 2
}

// checkFaults partitions, isolates and degrades streams 1–4 of s, each a
// stream with a network of its own, and measures the effect from the
// streams themselves.
func checkFaults(t *testing.T, s *streamtest.Manager) {
	one, two, three, four := s.At(1), s.At(2), s.At(3), s.At(4)
	for _, st := range []*streamtest.Stream{one, two, three, four} {
		st.Host() // set up: Isolate and Degrade fault the streams set up
	}
	t.Run("partition", func(t *testing.T) {
		if !reaches(t, one, two) {
			t.Fatal("before the partition, 1 does not reach 2")
		}
		f := s.Partition(s.Pick(1), s.Range(2, 3))
		for _, c := range []struct {
			from, to *streamtest.Stream
			want     bool
		}{{one, two, false}, {two, one, false}, {three, one, false}, {two, three, true}, {one, four, true}, {four, two, true}} {
			if got := reaches(t, c.from, c.to); got != c.want {
				t.Errorf("under %v: %s reaches %s = %v, want %v", f, c.from.ID(), c.to.ID(), got, c.want)
			}
		}
		f.Heal()
		if !reaches(t, one, two) || !reaches(t, three, one) {
			t.Error("after Heal, 1 and 2, or 3 and 1, still do not reach each other")
		}
		f.Heal() // twice does nothing
	})
	t.Run("isolate", func(t *testing.T) {
		s.Isolate(one)
		for _, to := range []*streamtest.Stream{two, three, four} {
			if reaches(t, one, to) {
				t.Errorf("isolated 1 reaches %s", to.ID())
			}
		}
		if !reaches(t, two, three) {
			t.Error("isolating 1 cut 2 off from 3")
		}
		if got := len(s.Faults()); got != 1 {
			t.Errorf("%d faults in place, want 1", got)
		}
		s.Heal()
		if !reaches(t, one, four) {
			t.Error("after Heal, 1 does not reach 4")
		}
	})
	t.Run("loss", func(t *testing.T) {
		f := one.Degrade(streamtest.Loss(50), streamtest.Toward(s.Pick(2)))
		const n = 100
		got, _ := probe(t, one, two, n, 50*time.Millisecond)
		t.Logf("under %v: %d of %d connections answered", f, got, n)
		// A connection is answered when 1's SYN gets through: 100 draws
		// of one half are within 30–70 but once in about 30,000 runs.
		if got < 30 || got > 70 {
			t.Errorf("under a 50%% loss, %d of %d connections were answered", got, n)
		}
		if !reaches(t, one, three) {
			t.Error("the loss toward 2 hit 3 too")
		}
		f.Heal()
		if got, _ := probe(t, one, two, 20, time.Second); got != 20 {
			t.Errorf("after Heal, %d of 20 connections answered", got)
		}
	})
	t.Run("rate", func(t *testing.T) {
		two.Run(code.GoProgram("./testdata/probe", "-sink", "7777"))
		two.WaitOutput(regexp.MustCompile("^listening$"), time.Minute)
		before := sendRate(t, one, two, 8<<20)
		const limit = 4_000_000
		f := one.Degrade(streamtest.Rate(limit), streamtest.Toward(s.Pick(2)))
		during := sendRate(t, one, two, 1<<20)
		t.Logf("1 → 2: %.0f Mbit/s before, %.2f Mbit/s under %v", before/1e6, during/1e6, f)
		if during > 1.5*limit || before < 5*limit {
			t.Errorf("1 → 2: %.0f bit/s before, %.0f bit/s under a limit of %d bit/s", before, during, limit)
		}
		f.Heal()
		two.Kill()
	})
	t.Run("delay", func(t *testing.T) {
		_, base := probe(t, one, two, 5, time.Second)
		f, err := one.TryDegrade(streamtest.Delay(50*time.Millisecond, 5*time.Millisecond))
		if err != nil {
			var nae *stream.NetAdminError
			if !errors.As(err, &nae) || !strings.Contains(nae.Missing, "netem") {
				t.Fatalf("Delay failed with %v; a kernel without netem must be named", err)
			}
			t.Logf("this kernel cannot delay: %v", err)
			if len(s.Faults()) != 0 {
				t.Errorf("a fault that failed is still in place: %v", s.Faults())
			}
			if !reaches(t, one, two) {
				t.Error("the failed delay left a rule that cuts 1 off from 2")
			}
			return
		}
		_, d := probe(t, one, two, 5, time.Second)
		t.Logf("connect 1 → 2: median %v before, %v under %v", base, d, f)
		if d < 40*time.Millisecond {
			t.Errorf("under a 50 ms delay a connect takes %v", d)
		}
		f.Heal()
	})
}

// TestFaultsOnTheLab faults the netns lab's hosts, as root through sudo -n,
// and checks from this machine that no rule is left on any host.
func TestFaultsOnTheLab(t *testing.T) {
	s, l := labStreams(t)
	checkFaults(t, s)
	for i := 1; i <= 4; i++ {
		h, _ := l.Host(i)
		if rules := labRules(t, h.Namespace); rules != "" {
			t.Errorf("host %d: rules left after Heal:\n%s", i, rules)
		}
	}
}

// TestFaultsInContainers is TestFaultsOnTheLab on container streams: the
// rules go into each container's network namespace from a helper
// container; once the test's streams are gone no container of the test,
// helper or stream, is left.
func TestFaultsInContainers(t *testing.T) {
	t.Run("faults", func(t *testing.T) { checkFaults(t, containerStreams(t)) })
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	cs, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", container.LabelRun+"="+container.RunID()).Add("label", container.LabelTest+"="+t.Name()+"/faults")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Items {
		t.Errorf("container %s (%v) survived its test", c.ID[:12], c.Labels)
	}
}

// labRules returns the streamtest rules and queueing disciplines in
// network namespace ns, "" when there are none.
func labRules(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "sh", "-c", "iptables-save; tc qdisc show").CombinedOutput()
	if err != nil {
		t.Fatalf("reading the rules of %s: %v\n%s", ns, err, out)
	}
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "STREAMTEST") || strings.Contains(line, "htb 5354:") {
			ours = append(ours, line)
		}
	}
	return strings.Join(ours, "\n")
}

// TestFaultsOnLocalStreamsSayWhy: local streams share this machine's
// network; faulting them is an error that says so, and leaves no fault.
func TestFaultsOnLocalStreamsSayWhy(t *testing.T) {
	s := streamtest.For(t, streamtest.IgnoreEnvironment())
	s.At(1).Host()
	s.At(2).Host()
	_, err := s.TryPartition(s.Pick(1), s.Pick(2))
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "share the test machine's network") {
		t.Fatalf("partition of local streams: %v", err)
	}
	if !strings.Contains(err.Error(), "stream 1 (local") {
		t.Errorf("the error does not name the stream: %v", err)
	}
	if len(s.Faults()) != 0 {
		t.Errorf("a failed partition is in place: %v", s.Faults())
	}
	if _, err := s.TryPartition(s.Pick(1)); err == nil {
		t.Error("a partition of one side was taken")
	}
	if _, err := s.TryPartition(s.Pick(1, 2), s.Pick(2)); err == nil || !strings.Contains(err.Error(), "one side only") {
		t.Errorf("a stream on two sides: %v", err)
	}
	if _, err := s.At(1).TryDegrade(); err == nil {
		t.Error("Degrade with no impairment was taken")
	}
	if _, err := s.At(1).TryDegrade(streamtest.Loss(150)); err == nil {
		t.Error("a loss of 150% was taken")
	}
}

// The nested test of TestFaultsUndoneAtEveryEnding: it partitions streams
// 1 and 2 (lab hosts, or containers with FAULT_KIND=container), writes
// "applied", then ends as FAULT_HELPER says.
const faultHelperEnv = "FAULT_HELPER"

func faultHelper(t *testing.T) {
	dir := os.Getenv("FAULT_DIR")
	var s *streamtest.Manager
	if os.Getenv("FAULT_KIND") == "container" {
		s = containerStreams(t)
	} else {
		s, _ = labStreams(t)
	}
	s.At(1).Run(code.Shell("sleep 100"))
	s.At(2).Host()
	s.Partition(s.Pick(1), s.Pick(2))
	os.WriteFile(filepath.Join(dir, "applied.tmp"), []byte("yes"), 0o644)
	os.Rename(filepath.Join(dir, "applied.tmp"), filepath.Join(dir, "applied"))
	switch os.Getenv(faultHelperEnv) {
	case "fail":
		t.Fatal("failing on purpose")
	case "panic":
		panic("panicking on purpose")
	case "hang":
		time.Sleep(time.Minute)
	}
}

// TestFaultsUndoneAtEveryEnding runs a nested test that partitions two
// streams and then passes, fails, panics, or is killed with SIGKILL; no rule
// may be left afterwards. On the lab's hosts the rules are read in the
// hosts' namespaces; a container's rules live in its network namespace, so
// none of the nested test's containers (the streams and their network
// helpers) may be left. For the killed binary the bound is the guards':
// the remote stream's CutLinkBound, the container reaper's.
func TestFaultsUndoneAtEveryEnding(t *testing.T) {
	t.Run("lab", func(t *testing.T) {
		l := needLab(t)
		h1, _ := l.Host(1)
		h2, _ := l.Host(2)
		left := func(t *testing.T, pid int) string {
			return labRules(t, h1.Namespace) + labRules(t, h2.Namespace)
		}
		checkEndings(t, "lab", []string{"STREAMTEST_LAB=" + l.Dir}, left)
	})
	t.Run("container", func(t *testing.T) {
		needDocker(t)
		cli, err := client.New(client.FromEnv)
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		left := func(t *testing.T, pid int) string {
			cs, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true,
				Filters: make(client.Filters).Add("label", container.LabelOwnerPID+"="+fmt.Sprint(pid))})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range cs.Items {
				names = append(names, c.Names...)
			}
			return strings.Join(names, " ")
		}
		checkEndings(t, "container", nil, left)
	})
}

// checkEndings runs the nested test on kind in each ending; left says what
// of the nested test (its pid given) is still there, "" for nothing.
func checkEndings(t *testing.T, kind string, env []string, left func(t *testing.T, pid int) string) {
	for _, mode := range []string{"end", "fail", "panic", "kill"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			helperMode := mode
			if mode == "kill" {
				helperMode = "hang"
			}
			cmd := exec.Command(os.Args[0], "-test.v")
			cmd.Env = append(append(os.Environ(), faultHelperEnv+"="+helperMode, "FAULT_DIR="+dir, "FAULT_KIND="+kind), env...)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFile(t, filepath.Join(dir, "applied"))
			pid := cmd.Process.Pid
			if left(t, pid) == "" {
				t.Fatalf("the nested test said applied, but nothing of its partition is there\n%s", out.String())
			}
			if mode == "kill" {
				cmd.Process.Kill()
			}
			err := cmd.Wait()
			if (mode == "end") != (err == nil) {
				t.Errorf("nested test: %v\n%s", err, out.String())
			}
			bound := 2 * time.Second // the test's own clean-up ran before it exited
			if mode == "kill" {
				bound = 15 * time.Second // the guards: CutLinkBound(5s) is 7 s; the reaper's limit is 15 s
			}
			ended := time.Now()
			deadline := ended.Add(bound)
			for {
				l := left(t, pid)
				if l == "" {
					t.Logf("%s, %s: nothing left %v after the nested test ended", kind, mode, time.Since(ended).Round(time.Millisecond))
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("left %v after the nested test ended (%s):\n%s\n%s", bound, mode, l, out.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
