package remote

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/netns"
	"github.com/streamtest/streamtest/stream"
)

// The floors of this machine's remote benchmarks: the bare mechanism, with
// no streamtest code on either side, to state BenchmarkRemoteRun and
// BenchmarkSynchronizedSkew as ratios to them. On the lab:
//
//	STREAMTEST_LAB=$PWD/.lab go test -run '^$' -bench 'Bare' ./stream/remote

// bareClient is an x/crypto/ssh connection to lab host n, logged in with
// the lab's key, the host key checked: no streamtest code.
func bareClient(b testing.TB, l *netns.Lab, n int) *ssh.Client {
	b.Helper()
	h, _ := l.Host(n)
	key, err := os.ReadFile(l.Key)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		b.Fatal(err)
	}
	cb, err := knownhosts.New(l.KnownHosts)
	if err != nil {
		b.Fatal(err)
	}
	c, err := ssh.Dial("tcp", net.JoinHostPort(h.Addr, "22"), &ssh.ClientConfig{
		User: l.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: cb,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkBareSSHExec runs the program a block of BenchmarkRemoteRun runs
// (true, found in PATH and exec'd in the session's own process) in a bare
// session: the floor of a warm block. BenchmarkBareSSHSession runs the
// shell's built-in true instead, which starts no program.
func BenchmarkBareSSHExec(b *testing.B) {
	c := bareClient(b, needLab(b), 1)
	for b.Loop() {
		s, err := c.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run("exec true"); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// bareParked is the program of a BenchmarkBareSSHRelease session: bash
// (as gated blocks use) says it is parked, reads one line from the channel,
// prints the host's clock, read without starting a process, and execs
// true, the program of BenchmarkSynchronizedSkew's blocks (the members
// released first take CPU from those still waking, as there).
const bareParked = `exec bash -c 'echo parked; IFS= read -r l; echo "$EPOCHREALTIME"; exec true'`

// BenchmarkBareSSHRelease is the floor of BenchmarkSynchronizedSkew: one
// bare session per lab host (an established x/crypto/ssh connection each),
// parked in a read of its channel, released together by one write each in
// a loop, each noting the host's clock when its line came (the lab's hosts
// share this machine's clock). It reports the spread between the first and
// the last as skew-µs (the mean) and max-skew-µs (the worst). Every host's
// sshd decrypts its line and wakes its shell, all on this machine's cores.
func BenchmarkBareSSHRelease(b *testing.B) {
	l := needLab(b)
	var clients []*ssh.Client
	for _, h := range l.Hosts {
		clients = append(clients, bareClient(b, l, h.N))
	}
	type parked struct {
		s   *ssh.Session
		in  io.WriteCloser
		out *bufio.Reader
	}
	var total, worst time.Duration
	for b.Loop() {
		b.StopTimer()
		ps := make([]parked, len(clients))
		for i, c := range clients {
			s, err := c.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			in, _ := s.StdinPipe()
			out, _ := s.StdoutPipe()
			if err := s.Start(bareParked); err != nil {
				b.Fatal(err)
			}
			ps[i] = parked{s, in, bufio.NewReader(out)}
		}
		for _, p := range ps {
			if l, err := p.out.ReadString('\n'); err != nil || l != "parked\n" {
				b.Fatalf("%q, %v; want parked", l, err)
			}
		}
		b.StartTimer()
		for _, p := range ps {
			io.WriteString(p.in, "go\n")
		}
		var first, last time.Time
		for i, p := range ps {
			l, err := p.out.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			t := parseGateTime(strings.TrimSpace(l))
			if i == 0 || t.Before(first) {
				first = t
			}
			if i == 0 || t.After(last) {
				last = t
			}
		}
		b.StopTimer()
		for _, p := range ps {
			p.in.Close()
			p.s.Wait()
			p.s.Close()
		}
		skew := last.Sub(first)
		total += skew
		worst = max(worst, skew)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "skew-µs")
	b.ReportMetric(float64(worst.Microseconds()), "max-skew-µs")
	b.ReportMetric(float64(len(clients)), "hosts")
}

// BenchmarkRemoteRunPaired runs, in every iteration, a block of
// BenchmarkRemoteRun (true on an established stream), the bare session of
// BenchmarkBareSSHExec and that of BenchmarkBareSSHSession, on one lab
// host, in a rotating order, and reports each one's mean (block-ms,
// exec-ms, builtin-ms) and the ratios (block/exec, block/builtin). On a
// shared machine the three then see the same load, which separate
// benchmarks, seconds apart, do not.
func BenchmarkRemoteRunPaired(b *testing.B) {
	l := needLab(b)
	e := setUpLab(b, l, 1)
	c := bareClient(b, l, 1)
	ctx := context.Background()
	bare := func(cmd string) {
		s, err := c.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run(cmd); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	runs := []func(){
		func() {
			p, err := e.Start(ctx, &stream.Command{Args: []string{"true"}})
			if err != nil {
				b.Fatal(err)
			}
			if x, err := p.Wait(); err != nil || !x.Success() {
				b.Fatal(x, err)
			}
		},
		func() { bare("exec true") },
		func() { bare("true") },
	}
	var sum [3]time.Duration
	i := 0
	for b.Loop() {
		for k := range runs {
			j := (i + k) % len(runs)
			t := time.Now()
			runs[j]()
			sum[j] += time.Since(t)
		}
		i++
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(sum[0]), "block-ms")
	b.ReportMetric(ms(sum[1]), "exec-ms")
	b.ReportMetric(ms(sum[2]), "builtin-ms")
	b.ReportMetric(float64(sum[0])/float64(sum[1]), "block/exec")
	b.ReportMetric(float64(sum[0])/float64(sum[2]), "block/builtin")
}

// BenchmarkRemoteRunHostCPU measures what a block costs the host, beside a
// bare session: the CPU time of the sshd process that serves the
// connection (host-sshd-µs, per op) and of the session processes it
// started (host-session-µs: sshd's session child, the shells, the program,
// counted in sshd's children's time when they are reaped), from
// /proc/PID/stat; the lab's hosts share this machine's processes. block:
// true on an established stream; exec and builtin: the sessions of
// BenchmarkBareSSHExec and BenchmarkBareSSHSession. The clock ticks are
// 10 ms: run 1,000 operations or more.
func BenchmarkRemoteRunHostCPU(b *testing.B) {
	l := needLab(b)
	ctx := context.Background()
	bare := func(c *ssh.Client, cmd string) func() {
		return func() {
			s, err := c.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Run(cmd); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	}
	for _, v := range []string{"block", "exec", "builtin"} {
		b.Run(v, func(b *testing.B) {
			before := connSSHDs()
			var run func()
			if v == "block" {
				e := setUpLab(b, l, 1)
				run = func() {
					p, err := e.Start(ctx, &stream.Command{Args: []string{"true"}})
					if err != nil {
						b.Fatal(err)
					}
					if x, err := p.Wait(); err != nil || !x.Success() {
						b.Fatal(x, err)
					}
				}
			} else {
				c := bareClient(b, l, 1)
				run = bare(c, map[string]string{"exec": "exec true", "builtin": "true"}[v])
			}
			run() // the connection's sshd has its title by now
			pid := 0
			for p := range connSSHDs() {
				if !before[p] {
					pid = p
				}
			}
			testenv.Need(b, pid != 0, "the lab's sshd serving this connection, in this machine's process table",
				"use the netns lab (`streamtest lab up --kind netns`), whose hosts share this machine's processes")
			own0, kids0 := cpuTicks(b, pid)
			for b.Loop() {
				run()
			}
			own1, kids1 := cpuTicks(b, pid)
			us := func(t int) float64 { return float64(t) * 1e6 / 100 / float64(b.N) }
			b.ReportMetric(us(own1-own0), "host-sshd-µs")
			b.ReportMetric(us(kids1-kids0), "host-session-µs")
		})
	}
}

// connSSHDs returns the processes of this machine that serve a lab user's
// connection ("sshd: USER@notty" and the like, not the privileged half).
func connSSHDs() map[int]bool {
	m := map[int]bool{}
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		c, _ := os.ReadFile(f)
		if s := string(c); strings.HasPrefix(s, "sshd: streamtest") && !strings.Contains(s, "[priv]") {
			if pid, err := strconv.Atoi(strings.Split(f, "/")[2]); err == nil {
				m[pid] = true
			}
		}
	}
	return m
}

// cpuTicks returns the CPU time of pid and of its reaped children, in
// clock ticks (1/100 s on Linux).
func cpuTicks(b *testing.B, pid int) (own, children int) {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(st)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	n := func(i int) int { v, _ := strconv.Atoi(f[i]); return v }
	return n(11) + n(12), n(13) + n(14) // utime stime cutime cstime: fields 14-17
}
