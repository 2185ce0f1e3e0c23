// A replicated service under crashes and partitions: a three-member etcd
// cluster on streams 1-3, its client on stream 4.
//
// etcd and etcdctl are this machine's (Debian's etcd-server and
// etcd-client), shipped to the streams with code.Program, their loader and
// libraries included: the same test runs on the hosts of a lab and on
// containers of a busybox image that has no libc. Only the parameters file
// says where the streams are; they need networks of their own (remote hosts,
// containers), which the test partitions.
package replicated_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
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

const (
	clientPort = 2379
	peerPort   = 2380
)

var (
	// ready is the line etcd prints once it serves clients: it has joined
	// the cluster and the cluster has a leader.
	ready = regexp.MustCompile(`embed: ready to serve client requests`)
	// elected is the line every member prints when it learns of a new
	// leader: "raft.node: <its id> elected leader <leader's id> at term <n>".
	elected = regexp.MustCompile(`raft\.node: ([0-9a-f]+) elected leader ([0-9a-f]+) at term (\d+)`)
	// steppedDown is the line of a leader that has lost touch with the
	// majority (etcd's leaders check their quorum).
	steppedDown = regexp.MustCompile(`([0-9a-f]+) stepped down to follower since quorum is not active`)
)

// TestReplicated runs the cluster in a subtest, then checks that nothing of
// it outlived the subtest.
func TestReplicated(t *testing.T) {
	for _, prog := range []string{"etcd", "etcdctl"} {
		_, err := exec.LookPath(prog)
		testenv.Need(t, err == nil, prog+" on this machine (shipped to the streams)", "`apt-get install etcd-server etcd-client`")
	}
	var members *streamtest.Group
	var faults int
	t.Run("cluster", func(t *testing.T) {
		s := streamtest.For(t, streamtest.DefaultParams("container.yaml"))
		members = s.Range(1, 3)
		cluster(t, s)
		faults = len(s.Faults())
	})
	if faults != 0 {
		t.Errorf("%d network faults were still in place at the end of the cluster's test, after Heal", faults)
	}
	// Every member's server was stopped when its test ended: its outcome is
	// known only once the program has ended on its stream.
	for _, st := range members.Streams() {
		oc := st.Outcome()
		if !oc.Exited || oc.Stopped != streamtest.TestEnded {
			t.Errorf("stream %s: the member's last server did not end with its test: %v", st.ID(), st)
		}
	}
}

// cluster is the test itself: start, crash, restart, partition, heal.
func cluster(t *testing.T, s *streamtest.Manager) {
	members, client := s.Range(1, 3), s.At(4)

	// 1. Three members, each with its own name and addresses.
	var initial []string
	for _, st := range members.Streams() {
		initial = append(initial, name(st)+"="+url(st, peerPort))
	}
	etcd := func(st *streamtest.Stream, state string) code.Block {
		return code.Program("etcd",
			"--name", name(st),
			"--data-dir", name(st)+".etcd", // in the stream's work directory
			"--listen-peer-urls", url(st, peerPort),
			"--initial-advertise-peer-urls", url(st, peerPort),
			"--listen-client-urls", url(st, clientPort),
			"--advertise-client-urls", url(st, clientPort),
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", state,
			"--initial-cluster-token", "streamtest",
			"--heartbeat-interval", "100", "--election-timeout", "1000",
			"--pre-vote", // a member cut off does not disrupt the others when it is back
		)
	}
	members.RunEach(func(st *streamtest.Stream) code.Block { return etcd(st, "new") })

	// 2. Ready: each serves clients and accepts connections.
	members.WaitOutput(ready, 2*time.Minute)
	members.WaitPort(clientPort, 30*time.Second)

	// The client: etcdctl on stream 4 against some members.
	ctl := func(on []*streamtest.Stream, args ...string) string {
		t.Helper()
		client.Run(etcdctl(on, args...), streamtest.Wait())
		if !client.Success() {
			t.Fatalf("etcdctl %s against %s failed: %v\n%s", strings.Join(args, " "), ids(on), client, client.Output().Stderr())
		}
		return strings.TrimSpace(client.Output().Stdout())
	}
	get := func(st *streamtest.Stream, consistency string) string {
		t.Helper()
		return ctl([]*streamtest.Stream{st}, "get", "k", "--print-value-only", "--consistency", consistency)
	}

	// 3. A write through one member, read back through another.
	ctl([]*streamtest.Stream{s.At(1)}, "put", "k", "v1")
	if got := get(s.At(2), "l"); got != "v1" {
		t.Fatalf("stream 2 read %q after a write of v1 through stream 1", got)
	}

	// 4. Crash the leader: the two others elect another one.
	all := members.Streams()
	leader, leaderID := leaderOf(t, ctl, all)
	others := except(all, leader)
	survivors := s.Pick(idsOf(others)...)
	mark := survivors.Mark()
	leader.Kill()
	if oc := leader.Outcome(); oc.Stopped != streamtest.Killed || !strings.Contains(oc.StopMessage(), "killed by the test") {
		t.Fatalf("the crashed leader's outcome does not say the test killed it: %v (%q)", leader, oc.StopMessage())
	}
	survivors.WaitOutputAfter(mark, elected, time.Minute)
	m := others[0].WaitOutputAfter(mark.Of(others[0]), elected, time.Second)
	if m[2] == leaderID {
		t.Fatalf("after the crash of its leader, stream %s learned of the same leader: %q", others[0].ID(), m[0])
	}
	t.Logf("stream %s crashed; stream %s says: %s", leader.ID(), others[0].ID(), m[0])
	ctl(others[:1], "put", "k", "v2")
	if got := get(others[1], "l"); got != "v2" {
		t.Fatalf("stream %s read %q after a write of v2 through stream %s", others[1].ID(), got, others[0].ID())
	}

	// 5. Restart the crashed member on its own stream, from its data: it
	// rejoins and serves what was written while it was down.
	leader.Run(etcd(leader, "existing"))
	leader.WaitOutput(ready, 2*time.Minute)
	leader.WaitPort(clientPort, 30*time.Second)
	if got := get(leader, "s"); got != "v2" {
		t.Fatalf("the restarted stream %s serves %q, want v2, written while it was down", leader.ID(), got)
	}

	// 6. Partition the current leader from the two others. The client, on
	// no side, still reaches all three.
	leader, leaderID = leaderOf(t, ctl, all)
	others = except(all, leader)
	majority := s.Pick(idsOf(others)...)
	mark, old := majority.Mark(), leader.Mark()
	f := s.Partition(s.Pick(leader.ID()), majority)
	t.Logf("%v", f)
	majority.WaitOutputAfter(mark, elected, time.Minute)
	m = others[0].WaitOutputAfter(mark.Of(others[0]), elected, time.Second)
	newLeader := m[2]
	if newLeader == leaderID {
		t.Fatalf("the majority kept the leader it was cut off from: %q", m[0])
	}
	leader.WaitOutputAfter(old, steppedDown, time.Minute)
	ctl(others[:1], "put", "k", "v3")
	client.Run(etcdctl([]*streamtest.Stream{leader}, "--command-timeout", "2s", "put", "k", "lost"), streamtest.Wait())
	if client.Success() || client.Err() != nil {
		t.Fatalf("a write through the old leader, cut off from the majority: %v; want etcdctl to run and fail\n%s", client, client.Output().Stdout())
	}
	t.Logf("a write through the cut-off stream %s failed: %s", leader.ID(), strings.TrimSpace(client.Output().Stderr()))

	// 7. Heal: the old leader learns of the new one and catches up; a
	// linearizable read through each member alone returns once that member
	// has applied everything committed, then each serves the same data.
	old = leader.Mark()
	f.Heal()
	m = leader.WaitOutputAfter(old, elected, time.Minute)
	if m[2] != newLeader {
		t.Errorf("after the heal, stream %s follows %s, want the majority's leader %s: %q", leader.ID(), m[2], newLeader, m[0])
	}
	for _, st := range all {
		if got := get(st, "l"); got != "v3" {
			t.Errorf("stream %s: a linearizable read gave %q, want v3", st.ID(), got)
		}
		if got := get(st, "s"); got != "v3" {
			t.Errorf("stream %s: a serializable read gave %q, want v3", st.ID(), got)
		}
	}
	revs := map[int64][]string{}
	for _, st := range status(t, ctl, all) {
		revs[st.Status.Header.Revision] = append(revs[st.Status.Header.Revision], st.Endpoint)
	}
	if len(revs) != 1 {
		t.Errorf("the members have not converged: endpoints by revision: %v", revs)
	}
}

// etcdctl is the block of etcdctl against the client URLs of members.
func etcdctl(members []*streamtest.Stream, args ...string) code.Block {
	var eps []string
	for _, st := range members {
		eps = append(eps, url(st, clientPort))
	}
	return code.Program("etcdctl", append([]string{"--endpoints", strings.Join(eps, ","), "--dial-timeout", "5s"}, args...)...)
}

// endpointStatus is what `etcdctl endpoint status -w json` says of one
// member.
type endpointStatus struct {
	Endpoint string
	Status   struct {
		Header struct {
			MemberID uint64 `json:"member_id"`
			Revision int64
		}
		Leader uint64
	}
}

// status asks each member for its status.
func status(t *testing.T, ctl func([]*streamtest.Stream, ...string) string, members []*streamtest.Stream) []endpointStatus {
	t.Helper()
	out := ctl(members, "endpoint", "status", "-w", "json")
	var st []endpointStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != len(members) {
		t.Fatalf("endpoint status of %s: %v: %s", ids(members), err, out)
	}
	return st
}

// leaderOf returns the member that the members agree is their leader, and
// its id as etcd logs it (hexadecimal).
func leaderOf(t *testing.T, ctl func([]*streamtest.Stream, ...string) string, members []*streamtest.Stream) (*streamtest.Stream, string) {
	t.Helper()
	st := status(t, ctl, members)
	for _, e := range st {
		if e.Status.Leader != st[0].Status.Leader {
			t.Fatalf("the members disagree on their leader: %+v", st)
		}
	}
	for _, e := range st {
		for _, m := range members {
			if e.Status.Header.MemberID == e.Status.Leader && e.Endpoint == url(m, clientPort) {
				return m, strconv.FormatUint(e.Status.Leader, 16)
			}
		}
	}
	t.Fatalf("no member is the leader %x: %+v", st[0].Status.Leader, st)
	return nil, ""
}

func name(st *streamtest.Stream) string { return "m" + st.ID() }

func url(st *streamtest.Stream, port int) string {
	return "http://" + net.JoinHostPort(st.Host(), strconv.Itoa(port))
}

func except(all []*streamtest.Stream, st *streamtest.Stream) []*streamtest.Stream {
	return slices.DeleteFunc(slices.Clone(all), func(o *streamtest.Stream) bool { return o == st })
}

func idsOf(sts []*streamtest.Stream) []any {
	var out []any
	for _, st := range sts {
		out = append(out, st.ID())
	}
	return out
}

func ids(sts []*streamtest.Stream) string {
	var out []string
	for _, st := range sts {
		out = append(out, st.ID())
	}
	return fmt.Sprintf("streams %s", strings.Join(out, ","))
}
