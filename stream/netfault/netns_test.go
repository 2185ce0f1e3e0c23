package netfault_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/netfault"
)

// pair is two network namespaces of the test's own, a and b, joined by a
// veth pair: a is 10.251.0.1, b is 10.251.0.2. Nothing else is reached.
type pair struct {
	a, b   string
	aAddr  netip.Addr
	bAddr  netip.Addr
	prefix string
}

func newPair(t *testing.T) *pair {
	t.Helper()
	testenv.NeedRoot(t, "the rules are tried in network namespaces of the test's own")
	for _, tool := range []string{"ip", "iptables", "tc"} {
		_, err := exec.LookPath(tool)
		testenv.Need(t, err == nil, tool, "apt-get install iptables iproute2")
	}
	p := &pair{
		prefix: fmt.Sprintf("stnf%d", os.Getpid()%100000),
		aAddr:  netip.MustParseAddr("10.251.0.1"),
		bAddr:  netip.MustParseAddr("10.251.0.2"),
	}
	p.a, p.b = p.prefix+"a", p.prefix+"b"
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", p.a).Run()
		exec.Command("ip", "netns", "del", p.b).Run()
	})
	run("ip", "netns", "add", p.a)
	run("ip", "netns", "add", p.b)
	run("ip", "link", "add", p.prefix+"x", "netns", p.a, "type", "veth", "peer", "name", p.prefix+"y", "netns", p.b)
	run("ip", "-n", p.a, "addr", "add", "10.251.0.1/24", "dev", p.prefix+"x")
	run("ip", "-n", p.b, "addr", "add", "10.251.0.2/24", "dev", p.prefix+"y")
	for _, ns := range []string{p.a, p.b} {
		run("ip", "-n", ns, "link", "set", "lo", "up")
	}
	run("ip", "-n", p.a, "link", "set", p.prefix+"x", "up")
	run("ip", "-n", p.b, "link", "set", p.prefix+"y", "up")
	return p
}

// admin runs script as root in ns, as a stream's NetAdmin would.
func admin(ns, script string) error {
	cmd := exec.Command("ip", "netns", "exec", ns, "sh", "-c", script)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func mustAdmin(t *testing.T, ns string, r netfault.Rules) {
	t.Helper()
	script, err := netfault.Script(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin(ns, script); err != nil {
		t.Fatalf("rules %+v in %s: %v", r, ns, err)
	}
}

// inNetns runs f on a thread that has joined network namespace ns; sockets
// made there stay in ns.
func inNetns(t *testing.T, ns string, f func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		if err == nil {
			f()
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("joining %s: %v", ns, err)
	}
}

// listen starts a TCP server in ns that reads everything a client sends.
func listen(t *testing.T, ns string) string {
	t.Helper()
	var ln net.Listener
	var err error
	inNetns(t, ns, func() { ln, err = net.Listen("tcp", "0.0.0.0:0") })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort().String()
}

// dial connects from ns to addr within d.
func dial(t *testing.T, ns, addr string, d time.Duration) (net.Conn, error) {
	var c net.Conn
	var err error
	inNetns(t, ns, func() { c, err = net.DialTimeout("tcp", addr, d) })
	return c, err
}

func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

func TestDropBlocksBothWaysAndUndoHeals(t *testing.T) {
	p := newPair(t)
	inA := listen(t, p.a)
	toA := net.JoinHostPort(p.aAddr.String(), port(inA))
	c, err := dial(t, p.b, toA, 2*time.Second)
	if err != nil {
		t.Fatalf("before the fault, b cannot reach a: %v", err)
	}
	c.Close()

	mustAdmin(t, p.a, netfault.Rules{Tag: "t1", Drop: []netip.Addr{p.bAddr}})
	if c, err := dial(t, p.b, toA, 500*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("b connected to a through a's drop rule")
	}
	inB := listen(t, p.b)
	toB := net.JoinHostPort(p.bAddr.String(), port(inB))
	if c, err := dial(t, p.a, toB, 500*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("a connected to b through its own drop rule (the way out)")
	}
	// The same script again changes nothing: it sets the state.
	mustAdmin(t, p.a, netfault.Rules{Tag: "t1", Drop: []netip.Addr{p.bAddr}})
	if out, _ := exec.Command("ip", "netns", "exec", p.a, "iptables", "-S", "INPUT").Output(); strings.Count(string(out), netfault.Chain("t1")) != 1 {
		t.Fatalf("after the script ran twice, INPUT jumps to the chain other than once:\n%s", out)
	}

	undo, err := netfault.Undo("t1")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin(p.a, undo); err != nil {
		t.Fatal(err)
	}
	if c, err := dial(t, p.b, toA, 2*time.Second); err != nil {
		t.Fatalf("after undo, b cannot reach a: %v", err)
	} else {
		c.Close()
	}
	if out, _ := exec.Command("ip", "netns", "exec", p.a, "iptables-save").Output(); strings.Contains(string(out), "STREAMTEST") {
		t.Fatalf("a rule survived undo:\n%s", out)
	}
	// Undo of what is not there is quiet.
	if err := admin(p.a, undo); err != nil {
		t.Fatalf("undo twice: %v", err)
	}
}

// sendFor sends as much as it can from ns to addr for d and returns the
// rate in bits per second that the peer took.
func sendFor(t *testing.T, ns, addr string, n int) float64 {
	t.Helper()
	c, err := dial(t, ns, addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 32<<10)
	start := time.Now()
	for sent := 0; sent < n; sent += len(buf) {
		c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	io.Copy(io.Discard, c) // the server closes once it has read all
	return float64(n*8) / time.Since(start).Seconds()
}

func TestRateLimitsWhatTheStreamSends(t *testing.T) {
	p := newPair(t)
	inB := listen(t, p.b)
	toB := net.JoinHostPort(p.bAddr.String(), port(inB))
	const limit = 4_000_000 // bit/s
	before := sendFor(t, p.a, toB, 4<<20)
	mustAdmin(t, p.a, netfault.Rules{Tag: "t2", Shapes: []netfault.Shape{{Peers: []netip.Addr{p.bAddr}, Impairment: netfault.Impairment{Rate: limit}}}})
	during := sendFor(t, p.a, toB, 1<<20)
	t.Logf("a → b: %.1f Mbit/s unshaped, %.2f Mbit/s under a %d Mbit/s limit", before/1e6, during/1e6, limit/1_000_000)
	if during > 1.5*limit {
		t.Errorf("under a %d bit/s limit a sent at %.0f bit/s", limit, during)
	}
	if before < 10*limit {
		t.Errorf("unshaped, a sent at %.0f bit/s only: the test cannot tell the limit apart", before)
	}
	undo, _ := netfault.Undo("t2")
	if err := admin(p.a, undo); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("ip", "netns", "exec", p.a, "tc", "qdisc", "show").Output(); strings.Contains(string(out), "htb "+netfault.Handle+":") {
		t.Fatalf("the qdisc survived undo:\n%s", out)
	}
	after := sendFor(t, p.a, toB, 4<<20)
	if after < 10*limit {
		t.Errorf("after undo a sends at %.0f bit/s: still limited", after)
	}
}

func TestLossDropsAboutThatShare(t *testing.T) {
	p := newPair(t)
	mustAdmin(t, p.a, netfault.Rules{Tag: "t3", Shapes: []netfault.Shape{{Peers: []netip.Addr{p.bAddr}, Impairment: netfault.Impairment{Loss: 50}}}})
	// UDP datagrams from a to b, counted where they arrive.
	var pc net.PacketConn
	var err error
	inNetns(t, p.b, func() { pc, err = net.ListenPacket("udp", "0.0.0.0:0") })
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	const n = 2000
	got := make(chan int)
	go func() {
		k := 0
		buf := make([]byte, 64)
		for {
			pc.SetReadDeadline(time.Now().Add(time.Second))
			if _, _, err := pc.ReadFrom(buf); err != nil {
				got <- k
				return
			}
			k++
		}
	}()
	inNetns(t, p.a, func() {
		var c net.Conn
		c, err = net.Dial("udp", net.JoinHostPort(p.bAddr.String(), port(pc.LocalAddr().String())))
		if err != nil {
			return
		}
		defer c.Close()
		for i := 0; i < n; i++ {
			c.Write([]byte("x"))
			if i%100 == 0 {
				time.Sleep(time.Millisecond) // keep b's socket buffer from overflowing
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	k := <-got
	lost := 100 * float64(n-k) / n
	t.Logf("a → b under loss 50%%: %d of %d datagrams arrived (%.1f%% lost)", k, n, lost)
	// 2000 draws of p=0.5: the share lost is within 45–55% but once in
	// about 10^5 runs.
	if lost < 45 || lost > 55 {
		t.Errorf("%.1f%% lost under a 50%% loss rule", lost)
	}
}

func TestDelayWithoutNetemSaysWhatIsMissing(t *testing.T) {
	p := newPair(t)
	script, err := netfault.Script(netfault.Rules{Tag: "t4", Shapes: []netfault.Shape{{Peers: []netip.Addr{p.bAddr},
		Impairment: netfault.Impairment{Delay: 50 * time.Millisecond, Jitter: 5 * time.Millisecond}}}})
	if err != nil {
		t.Fatal(err)
	}
	err = admin(p.a, script)
	if err == nil {
		// This kernel has netem: the delay must show in a connect's time.
		inB := listen(t, p.b)
		start := time.Now()
		c, derr := dial(t, p.a, net.JoinHostPort(p.bAddr.String(), port(inB)), 2*time.Second)
		if derr != nil {
			t.Fatal(derr)
		}
		c.Close()
		if rtt := time.Since(start); rtt < 45*time.Millisecond {
			t.Errorf("connect took %v under a 50 ms ± 5 ms delay", rtt)
		}
		return
	}
	var nae *stream.NetAdminError
	if !errors.As(netfault.Explain(err), &nae) || !strings.Contains(nae.Missing, "netem") {
		t.Fatalf("delay failed with %v; want a NetAdminError naming netem", err)
	}
	t.Logf("this kernel cannot delay: %v", netfault.Explain(err))
	// It left nothing: the script stops at the delay, and undo clears what
	// came before it.
	undo, _ := netfault.Undo("t4")
	if err := admin(p.a, undo); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("ip", "netns", "exec", p.a, "sh", "-c", "iptables-save; tc qdisc show").Output()
	if strings.Contains(string(out), "STREAMTEST") || strings.Contains(string(out), "htb "+netfault.Handle) {
		t.Fatalf("rules left after undo:\n%s", out)
	}
}

func TestScriptRefusesBadInput(t *testing.T) {
	for _, r := range []netfault.Rules{
		{Tag: "bad tag"},
		{Tag: "x", Drop: []netip.Addr{netip.MustParseAddr("::1")}},
		{Tag: "x", Shapes: []netfault.Shape{{Peers: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Impairment: netfault.Impairment{Loss: 120}}}},
		{Tag: "x", Shapes: []netfault.Shape{{Peers: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Impairment: netfault.Impairment{Jitter: time.Millisecond}}}},
	} {
		if _, err := netfault.Script(r); err == nil {
			t.Errorf("Script(%+v) took it", r)
		}
	}
}
