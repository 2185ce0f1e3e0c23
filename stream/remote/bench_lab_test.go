package remote

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/streamtest/streamtest/stream"
)

// Run against the lab:
//
//	STREAMTEST_LAB=$PWD/.lab go test -run '^$' -bench . -benchtime 3s ./stream/remote

// BenchmarkRemoteRun runs a block (`true`) on an established stream: one
// session, the wrapper, the exit status. Compare with BenchmarkBareSSHSession.
func BenchmarkRemoteRun(b *testing.B) {
	l := needLab(b)
	e := setUpLab(b, l, 1)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		p, err := e.Start(ctx, &stream.Command{Args: []string{"true"}})
		if err != nil {
			b.Fatal(err)
		}
		if x, err := p.Wait(); err != nil || !x.Success() {
			b.Fatal(x, err)
		}
	}
}

// BenchmarkBareSSHSession runs the same command on the same host over a bare
// x/crypto/ssh session on an established connection.
func BenchmarkBareSSHSession(b *testing.B) {
	l := needLab(b)
	h, _ := l.Host(1)
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
	defer c.Close()
	b.ResetTimer()
	for b.Loop() {
		s, err := c.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run("true"); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkRemoteSetup connects, logs in and starts the guard; then closes
// (the guard removes the work directory).
func BenchmarkRemoteSetup(b *testing.B) {
	l := needLab(b)
	ctx := context.Background()
	for b.Loop() {
		env, err := New(stream.Config{ID: "1", Type: "remote", Params: labParams(l, 1), Logf: b.Logf})
		if err != nil {
			b.Fatal(err)
		}
		if err := env.Setup(ctx); err != nil {
			b.Fatal(err)
		}
		if err := env.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSynchronizedSkew starts a gated block on every lab host, releases
// them all in a tight loop, and reports the spread of their start times
// (Exit.Started, taken on the hosts when their gates opened; the lab's hosts
// share this machine's clock) as skew-µs: the mean, and max-skew-µs.
func BenchmarkSynchronizedSkew(b *testing.B) {
	l := needLab(b)
	var envs []*Env
	for _, h := range l.Hosts {
		envs = append(envs, setUpLab(b, l, h.N))
	}
	ctx := context.Background()
	var total, worst time.Duration
	b.ResetTimer()
	for b.Loop() {
		procs := make([]stream.Process, len(envs))
		for i, e := range envs {
			p, err := e.Start(ctx, &stream.Command{Args: []string{"true"}, Gated: true})
			if err != nil {
				b.Fatal(err)
			}
			procs[i] = p
		}
		for _, p := range procs {
			if err := p.Release(); err != nil {
				b.Fatal(err)
			}
		}
		var first, last time.Time
		for i, p := range procs {
			x, err := p.Wait()
			if err != nil || !x.Success() {
				b.Fatal(x, err)
			}
			if i == 0 || x.Started.Before(first) {
				first = x.Started
			}
			if i == 0 || x.Started.After(last) {
				last = x.Started
			}
		}
		skew := last.Sub(first)
		total += skew
		worst = max(worst, skew)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "skew-µs")
	b.ReportMetric(float64(worst.Microseconds()), "max-skew-µs")
	b.ReportMetric(float64(len(envs)), "hosts")
}

// BenchmarkSend copies a 10 MiB file to an established stream (SFTP);
// BenchmarkSCP copies it with OpenSSH's scp over an established master
// connection (ControlMaster), to the same host, with the same key.
func BenchmarkSend(b *testing.B) {
	l := needLab(b)
	e := setUpLab(b, l, 1)
	src := payload(b)
	ctx := context.Background()
	b.SetBytes(payloadSize)
	b.ResetTimer()
	for b.Loop() {
		if err := e.Send(ctx, src, "payload"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSCP(b *testing.B) {
	l := needLab(b)
	if _, err := exec.LookPath("scp"); err != nil {
		b.Skip("scp is not installed (apt-get install openssh-client)")
	}
	h, _ := l.Host(1)
	sock := filepath.Join(b.TempDir(), "master")
	opts := []string{"-i", l.Key, "-o", "UserKnownHostsFile=" + l.KnownHosts, "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "ControlPath=" + sock}
	target := l.User + "@" + h.Addr
	master := exec.Command("ssh", append(opts, "-M", "-N", target)...)
	if err := master.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { master.Process.Kill(); master.Wait() }()
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 500 {
			b.Fatal("ssh master connection did not come up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	src := payload(b)
	b.SetBytes(payloadSize)
	b.ResetTimer()
	for b.Loop() {
		if out, err := exec.Command("scp", append(opts, "-q", src, target+":/tmp/streamtest-scp-bench")...).CombinedOutput(); err != nil {
			b.Fatalf("scp: %v\n%s", err, out)
		}
	}
	b.StopTimer()
	exec.Command("ssh", append(opts, target, "rm", "-f", "/tmp/streamtest-scp-bench")...).Run()
}

const payloadSize = 10 << 20

func payload(b *testing.B) string {
	p := filepath.Join(b.TempDir(), "payload")
	data := make([]byte, payloadSize)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}
