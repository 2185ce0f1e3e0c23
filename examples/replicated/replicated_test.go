// A replicated service under crashes and partitions: a three-member etcd
// cluster on streams 1-3, its client on stream 4.
//
// etcd and etcdctl are this machine's (Debian's etcd-server and
// etcd-client), shipped to the streams by code.Program with their loader
// and libraries: the same test runs on the hosts of a lab and in containers
// of a busybox image that has no libc. Only the parameters file says where
// the streams are. They need networks of their own, which the test
// partitions: remote hosts, containers (examples/replicated/kinds).
package replicated_test

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"regexp"
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
	// the cluster, and the cluster has a leader.
	ready = regexp.MustCompile(`embed: ready to serve client requests`)
	// elected is the line every member prints when it learns of a new
	// leader: "raft.node: <its id> elected leader <the leader's id> at term <n>".
	elected = regexp.MustCompile(`raft\.node: ([0-9a-f]+) elected leader ([0-9a-f]+) at term (\d+)`)
	// steppedDown is the line of a leader that has lost touch with the
	// majority (etcd's leaders check that a quorum follows them).
	steppedDown = regexp.MustCompile(`([0-9a-f]+) stepped down to follower since quorum is not active`)
	// notCommitted is how etcdctl says that a write was not committed.
	notCommitted = regexp.MustCompile(`context deadline exceeded|request timed out|no leader`)
)

// TestReplicated runs the cluster's test as a subtest, then checks that
// nothing of it outlived the subtest.
func TestReplicated(t *testing.T) {
	for _, prog := range []string{"etcd", "etcdctl"} {
		_, err := exec.LookPath(prog)
		testenv.Need(t, err == nil, prog+" on this machine (the test ships it to the streams)", "`apt-get install etcd-server etcd-client`")
	}
	var members *streamtest.Group
	var faults int
	t.Run("cluster", func(t *testing.T) {
		s := streamtest.For(t, streamtest.DefaultParams("container.yaml"))
		if os.Getenv("STREAMTEST_PARAMS") == "" && os.Getenv("STREAMTEST_INVENTORY") == "" {
			// The example's own streams are containers: without an engine
			// that has the images, say what is missing (fail in CI).
			err := s.At(4).TryRun(code.Exec("true"), streamtest.Wait())
			testenv.Need(t, err == nil, "the Docker Engine with the streamtest images, for the example's default streams (containers)",
				"start dockerd and run `go run ./cmd/streamtest lab image`, or point STREAMTEST_PARAMS at lab hosts; "+firstLine(err))
		}
		members = s.Range(1, 3)
		testCluster(t, s)
		faults = len(s.Faults())
	})
	if members == nil {
		return // the cluster's test was skipped
	}
	if faults != 0 {
		t.Errorf("%d network faults were in place at the end of the cluster's test, after Heal", faults)
	}
	// Each member's server ended with its test: the outcome is known only
	// once the program has ended on its stream.
	for _, st := range members.Streams() {
		if oc := st.Outcome(); !oc.Exited || oc.Stopped != streamtest.TestEnded {
			t.Errorf("stream %s: the member's server did not end with its test: %v", st.ID(), st)
		}
	}
}

// testCluster starts the cluster, crashes and restarts its leader, cuts
// the next leader off from the majority, and heals the partition.
func testCluster(t *testing.T, s *streamtest.Manager) {
	members := s.Range(1, 3)
	ctl := etcdctl{t: t, client: s.At(4)}

	// 1. Three members, each with its name and its addresses.
	members.RunEach(func(st *streamtest.Stream) code.Block { return etcd(members, st, "new") })

	// 2. Ready: each serves clients, and accepts connections.
	members.WaitOutput(ready, 2*time.Minute)
	members.WaitPort(clientPort, 30*time.Second)

	// 3. A write through one member, read back through another.
	ctl.put(s.At(1), "v1")
	if got := ctl.get(s.At(2), "l"); got != "v1" {
		t.Fatalf("stream 2 reads %q after a write of v1 through stream 1", got)
	}

	// 4. Crash the leader: the two others elect another one, and take
	// writes.
	leader, leaderID := ctl.leader(members)
	others := s.Pick(idsBut(members, leader)...)
	mark := others.Mark()
	leader.Kill()
	if oc := leader.Outcome(); oc.Stopped != streamtest.Killed || !strings.Contains(oc.StopMessage(), "killed by the test") {
		t.Fatalf("the crashed leader's outcome does not say that the test killed it: %v", leader)
	}
	others.WaitOutputAfter(mark, elected, time.Minute)
	first, second := others.Streams()[0], others.Streams()[1]
	m := first.WaitOutputAfter(mark.Of(first), elected, time.Second)
	if m[2] == leaderID {
		t.Fatalf("after the crash of its leader, stream %s learned of the same leader: %q", first.ID(), m[0])
	}
	t.Logf("stream %s crashed; stream %s: %s", leader.ID(), first.ID(), m[0])
	ctl.put(first, "v2")
	if got := ctl.get(second, "l"); got != "v2" {
		t.Fatalf("stream %s reads %q after a write of v2 through stream %s", second.ID(), got, first.ID())
	}

	// 5. Restart the crashed member on its stream, from its data: it
	// rejoins, and serves what was written while it was down.
	leader.Run(etcd(members, leader, "existing"))
	leader.WaitOutput(ready, 2*time.Minute)
	leader.WaitPort(clientPort, 30*time.Second)
	if got := ctl.get(leader, "s"); got != "v2" {
		t.Fatalf("the restarted stream %s serves %q, want v2, written while it was down", leader.ID(), got)
	}

	// 6. Cut the leader off from the two others. The client, on no side of
	// the partition, still reaches all three.
	leader, leaderID = ctl.leader(members)
	majority := s.Pick(idsBut(members, leader)...)
	mark, cut := majority.Mark(), leader.Mark()
	f := s.Partition(s.Pick(leader.ID()), majority)
	majority.WaitOutputAfter(mark, elected, time.Minute)
	first = majority.Streams()[0]
	m = first.WaitOutputAfter(mark.Of(first), elected, time.Second)
	newLeader := m[2]
	if newLeader == leaderID {
		t.Fatalf("the majority kept the leader it was cut off from: %q", m[0])
	}
	leader.WaitOutputAfter(cut, steppedDown, time.Minute)
	t.Logf("%v: stream %s: %s", f, first.ID(), m[0])
	ctl.put(first, "v3")
	out, ok := ctl.run([]*streamtest.Stream{leader}, "--command-timeout", "2s", "put", "k", "lost")
	if ok || !notCommitted.MatchString(out) {
		t.Fatalf("a write through stream %s, cut off from the majority: want it not committed, got %v: %s", leader.ID(), ctl.client, out)
	}
	t.Logf("a write through stream %s, cut off: %s", leader.ID(), lastLine(out))

	// 7. Heal: the old leader learns of the new one and catches up. A
	// linearizable read through each member alone returns once that member
	// has applied all that was committed; then each serves the same data.
	cut = leader.Mark()
	f.Heal()
	m = leader.WaitOutputAfter(cut, elected, time.Minute)
	if m[2] != newLeader {
		t.Errorf("after the heal, stream %s follows %s, want the majority's leader %s: %q", leader.ID(), m[2], newLeader, m[0])
	}
	for _, st := range members.Streams() {
		if got := ctl.get(st, "l"); got != "v3" {
			t.Errorf("stream %s: a linearizable read gives %q, want v3", st.ID(), got)
		}
		if got := ctl.get(st, "s"); got != "v3" {
			t.Errorf("stream %s: a serializable read gives %q, want v3", st.ID(), got)
		}
	}
	revisions := map[int64][]string{}
	for _, e := range ctl.status(members) {
		revisions[e.Status.Header.Revision] = append(revisions[e.Status.Header.Revision], e.Endpoint)
	}
	if len(revisions) != 1 {
		t.Errorf("the members have not converged: their endpoints by revision: %v", revisions)
	}
}

// etcd is the block of the member on st, one of members.
func etcd(members *streamtest.Group, st *streamtest.Stream, state string) code.Block {
	var initial []string
	for _, m := range members.Streams() {
		initial = append(initial, name(m)+"="+url(m, peerPort))
	}
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

func name(st *streamtest.Stream) string { return "m" + st.ID() }

func url(st *streamtest.Stream, port int) string {
	return "http://" + net.JoinHostPort(st.Host(), strconv.Itoa(port))
}

// idsBut returns the ids of g's members but st.
func idsBut(g *streamtest.Group, st *streamtest.Stream) []any {
	var ids []any
	for _, m := range g.Streams() {
		if m != st {
			ids = append(ids, m.ID())
		}
	}
	return ids
}

// etcdctl runs etcdctl on the client's stream, against members' client
// URLs, and fails the test when it fails, but in run.
type etcdctl struct {
	t      *testing.T
	client *streamtest.Stream
}

// run runs etcdctl with args against members, and returns its output
// (stdout and stderr) and whether it succeeded. A failure to run it at
// all fails the test.
func (c etcdctl) run(members []*streamtest.Stream, args ...string) (string, bool) {
	c.t.Helper()
	var endpoints []string
	for _, st := range members {
		endpoints = append(endpoints, url(st, clientPort))
	}
	c.client.Run(code.Program("etcdctl", append([]string{"--endpoints", strings.Join(endpoints, ","), "--dial-timeout", "5s"}, args...)...), streamtest.Wait())
	if c.client.Err() != nil {
		c.t.Fatalf("etcdctl %s: %v", strings.Join(args, " "), c.client.Err())
	}
	out := c.client.Output()
	return strings.TrimSpace(out.Stdout() + out.Stderr()), c.client.Success()
}

// must is run, and fails the test when etcdctl fails; it returns stdout.
func (c etcdctl) must(members []*streamtest.Stream, args ...string) string {
	c.t.Helper()
	if out, ok := c.run(members, args...); !ok {
		c.t.Fatalf("etcdctl %s failed: %v\n%s", strings.Join(args, " "), c.client, out)
	}
	return strings.TrimSpace(c.client.Output().Stdout())
}

// put writes value to key k through st.
func (c etcdctl) put(st *streamtest.Stream, value string) {
	c.t.Helper()
	c.must([]*streamtest.Stream{st}, "put", "k", value)
}

// get reads key k from st alone: consistency "l" (linearizable, through
// the leader) or "s" (serializable: what st itself has applied).
func (c etcdctl) get(st *streamtest.Stream, consistency string) string {
	c.t.Helper()
	return c.must([]*streamtest.Stream{st}, "get", "k", "--print-value-only", "--consistency", consistency)
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

// status asks every member of g for its status.
func (c etcdctl) status(g *streamtest.Group) []endpointStatus {
	c.t.Helper()
	out := c.must(g.Streams(), "endpoint", "status", "-w", "json")
	var st []endpointStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != len(g.Streams()) {
		c.t.Fatalf("endpoint status of streams %v: %v: %s", g.IDs(), err, out)
	}
	return st
}

// leader returns the member of g that every member says is the leader, and
// its id as etcd logs it (hexadecimal).
func (c etcdctl) leader(g *streamtest.Group) (*streamtest.Stream, string) {
	c.t.Helper()
	st := c.status(g)
	for _, e := range st {
		if e.Status.Leader != st[0].Status.Leader {
			c.t.Fatalf("the members disagree on their leader: %+v", st)
		}
	}
	for _, e := range st {
		for _, m := range g.Streams() {
			if e.Status.Header.MemberID == e.Status.Leader && e.Endpoint == url(m, clientPort) {
				return m, strconv.FormatUint(e.Status.Leader, 16)
			}
		}
	}
	c.t.Fatalf("no member is the leader %x: %+v", st[0].Status.Leader, st)
	return nil, ""
}

func lastLine(s string) string { return s[strings.LastIndex(s, "\n")+1:] }

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	l, _, _ := strings.Cut(err.Error(), "\n")
	return l
}
