package streamtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/netfault"
)

// A Fault is a network fault between streams that the test made with
// Partition, Isolate or Degrade: real kernel rules (iptables, tc) on each
// stream it touches, where the stream's traffic is (on a remote host, as
// root through the stream's net_admin command; in a container's network
// namespace, from a helper container). Heal undoes it.
//
// Every fault still in place is undone when the test ends (passed, failed,
// panicked, timed out), when its stream is terminated, and, when the test
// binary is killed, by the streams' guards, the way they end the streams'
// processes.
//
// Faults touch only the traffic between streams: the test's own
// connection to each stream (SSH, the engine's exec) goes on, so blocks can
// still be run, waited for and killed on a faulted stream. Local and
// sandbox streams share the test machine's network and cannot be faulted:
// faulting them is an error that says so.
type Fault struct {
	m    *Manager
	what string
	// drop[a] lists the streams whose traffic a drops, both ways.
	drop map[*Stream][]*Stream
	// shape is an impairment of what one stream sends to its peers.
	shape  *Stream
	peers  []*Stream
	impair netfault.Impairment
}

// String says what the fault is: "partition 1 | 2,3".
func (f *Fault) String() string { return f.what }

// netState is the fault state of a manager: the faults in place, and the
// script each stream last ran.
type netState struct {
	mu      sync.Mutex // held while faults change, one change at a time
	faults  []*Fault
	tags    map[*Stream]string
	applied map[*Stream]appliedRules
}

type appliedRules struct {
	env    stream.Environment
	script string
}

// Partition cuts the streams of each side off from the streams of every
// other side: their traffic, both ways, is dropped, as a network partition
// would (Jepsen's nemesis does the same with iptables). Streams of one side
// still reach each other, and every stream still reaches the streams of no
// side and the test. A stream may be on one side only.
//
//	f := s.Partition(s.Pick(leader), s.Pick(others...))
//	// ... the majority elects a new leader ...
//	f.Heal()
//
// Partition returns once the rules are in place on every stream, or fails
// the test, as t.Fatal does (call it from the test's goroutine), naming
// the stream and what it lacks (the tool, the privilege) when one cannot
// be faulted: nothing of the fault is then left. TryPartition returns the
// error instead.
func (m *Manager) Partition(sides ...*Group) *Fault {
	m.t.Helper()
	f, err := m.TryPartition(sides...)
	if err != nil {
		m.t.Fatalf("streamtest: %v", err)
	}
	return f
}

// TryPartition is Partition for code that handles the failure itself.
func (m *Manager) TryPartition(sides ...*Group) (*Fault, error) {
	if len(sides) < 2 {
		return nil, fmt.Errorf("partition: needs at least two sides, got %d", len(sides))
	}
	side := map[*Stream]int{}
	var labels []string
	for i, g := range sides {
		if g == nil || len(g.members) == 0 {
			return nil, fmt.Errorf("partition: side %d is an empty group of streams", i+1)
		}
		for _, s := range g.members {
			if j, ok := side[s]; ok && j != i {
				return nil, fmt.Errorf("partition: stream %s is on sides %d and %d; a stream may be on one side only", s.id, j+1, i+1)
			}
			side[s] = i
		}
		labels = append(labels, g.label())
	}
	f := &Fault{m: m, what: "partition " + strings.Join(labels, " | "), drop: map[*Stream][]*Stream{}}
	for a, i := range side {
		for b, j := range side {
			if i != j {
				f.drop[a] = append(f.drop[a], b)
			}
		}
	}
	if err := m.addFault(f); err != nil {
		return nil, err
	}
	return f, nil
}

// Isolate cuts st off from every other stream the test has set up so far
// that has a network of its own (local and sandbox streams share the test
// machine's): Partition with st on one side and the others on the other.
// Streams set up later are not cut off; Partition names both sides.
func (m *Manager) Isolate(st *Stream) *Fault {
	m.t.Helper()
	f, err := m.TryIsolate(st)
	if err != nil {
		m.t.Fatalf("streamtest: %v", err)
	}
	return f
}

// TryIsolate is Isolate for code that handles the failure itself.
func (m *Manager) TryIsolate(st *Stream) (*Fault, error) {
	others := m.setUpExcept(st)
	if len(others) == 0 {
		return nil, st.error("isolate", errors.New("no other stream has been set up, so there is nothing to cut it off from"))
	}
	f, err := m.TryPartition(&Group{m: m, members: []*Stream{st}}, &Group{m: m, members: others})
	if f != nil {
		f.what = "isolate " + st.id
	}
	return f, err
}

// setUpExcept returns the streams, but st, whose environment is set up
// and can be faulted: a local stream, whose address is the test machine's,
// is no peer to cut off.
func (m *Manager) setUpExcept(st *Stream) []*Stream {
	m.mu.Lock()
	var out []*Stream
	for _, s := range m.streams {
		s.mu.Lock()
		_, faultable := s.env.(stream.NetAdmin)
		s.mu.Unlock()
		if faultable && s != st {
			out = append(out, s)
		}
	}
	m.mu.Unlock()
	sortStreams(out)
	return out
}

// An Impairment is what Degrade does to a stream's traffic: Delay, Loss,
// Rate; Toward chooses the peers.
type Impairment interface{ applyImpairment(*impairment) }

type impairment struct {
	netfault.Impairment
	toward *Group
}

type impairmentFunc func(*impairment)

func (f impairmentFunc) applyImpairment(i *impairment) { f(i) }

// Delay delays every packet the stream sends by d, varied at random by up
// to ± jitter (tc netem). It needs a kernel with the netem queueing
// discipline; one without it gives an error that says so.
func Delay(d, jitter time.Duration) Impairment {
	return impairmentFunc(func(i *impairment) { i.Delay, i.Jitter = d, jitter })
}

// Loss drops percent (0–100) of the packets the stream sends, at random
// (iptables' statistic match).
func Loss(percent float64) Impairment {
	return impairmentFunc(func(i *impairment) { i.Loss = percent })
}

// Rate limits what the stream sends to bitsPerSecond (tc htb); at least
// 8000 (1 kB/s).
func Rate(bitsPerSecond int64) Impairment {
	return impairmentFunc(func(i *impairment) { i.Rate = bitsPerSecond })
}

// Toward makes Degrade impair only what the stream sends to the members of
// g, instead of to every other stream the test has set up.
func Toward(g *Group) Impairment {
	return impairmentFunc(func(i *impairment) { i.toward = g })
}

// Degrade impairs what the stream sends to the other streams the test has
// set up so far that have a network of their own (or to those of Toward): Delay, Loss and Rate, together or
// alone. What the peers send back is not touched: degrade them too for
// both ways. Like Partition, it returns once the rules are in place, or
// fails the test (call it from the test's goroutine); TryDegrade returns
// the error instead.
//
//	s.At(1).Degrade(streamtest.Loss(20), streamtest.Rate(1_000_000))
func (s *Stream) Degrade(imps ...Impairment) *Fault {
	s.m.t.Helper()
	f, err := s.TryDegrade(imps...)
	if err != nil {
		s.m.t.Fatalf("streamtest: %v", err)
	}
	return f
}

// TryDegrade is Degrade for code that handles the failure itself.
func (s *Stream) TryDegrade(imps ...Impairment) (*Fault, error) {
	var imp impairment
	for _, i := range imps {
		i.applyImpairment(&imp)
	}
	if imp.IsZero() {
		return nil, s.error("degrade", errors.New("no impairment given: use Delay, Loss or Rate"))
	}
	if err := imp.Check(); err != nil {
		return nil, s.error("degrade", err)
	}
	var peers []*Stream
	if imp.toward != nil {
		for _, p := range imp.toward.members {
			if p != s {
				peers = append(peers, p)
			}
		}
	} else {
		peers = s.m.setUpExcept(s)
	}
	if len(peers) == 0 {
		return nil, s.error("degrade", errors.New("no other stream to degrade the traffic to: set the peers up first, or name them with Toward"))
	}
	ids := make([]string, len(peers))
	for i, p := range peers {
		ids[i] = p.id
	}
	f := &Fault{m: s.m, what: fmt.Sprintf("degrade %s → %s: %s", s.id, strings.Join(ids, ","), imp.Impairment),
		shape: s, peers: peers, impair: imp.Impairment}
	if err := s.m.addFault(f); err != nil {
		return nil, err
	}
	return f, nil
}

// Heal undoes the fault: its rules are removed from every stream it
// touched (other faults stay). Healing a fault twice does nothing. A
// failure fails the test; TryHeal returns it instead.
func (f *Fault) Heal() {
	f.m.t.Helper()
	if err := f.TryHeal(); err != nil {
		f.m.t.Errorf("streamtest: %v", err)
	}
}

// TryHeal is Heal for code that handles the failure itself.
func (f *Fault) TryHeal() error {
	if f == nil {
		return nil
	}
	return f.m.removeFaults(func(g *Fault) bool { return g == f })
}

// Heal undoes every fault of the test.
func (m *Manager) Heal() {
	m.t.Helper()
	if err := m.TryHeal(); err != nil {
		m.t.Errorf("streamtest: %v", err)
	}
}

// TryHeal is Heal for code that handles the failure itself.
func (m *Manager) TryHeal() error {
	return m.removeFaults(func(*Fault) bool { return true })
}

// Faults lists the faults in place, oldest first.
func (m *Manager) Faults() []*Fault {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	return append([]*Fault(nil), m.net.faults...)
}

func (m *Manager) addFault(f *Fault) error {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	if m.isEnding() {
		return errors.New(f.what + ": the test has ended")
	}
	start := time.Now()
	before := m.net.faults
	m.net.faults = append(append([]*Fault(nil), before...), f)
	if err := m.applyFaults(f.touched()); err != nil {
		// Leave nothing of it: back to the faults before.
		m.net.faults = before
		if undo := m.applyFaults(f.touched()); undo != nil {
			err = errors.Join(err, fmt.Errorf("undoing %s: %w", f.what, undo))
		}
		return err
	}
	m.logf("net", "%s in place (%v)", f.what, time.Since(start).Round(time.Millisecond))
	return nil
}

func (m *Manager) removeFaults(which func(*Fault) bool) error {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	var keep, gone []*Fault
	touched := map[*Stream]bool{}
	for _, f := range m.net.faults {
		if which(f) {
			gone = append(gone, f)
			for _, s := range f.touched() {
				touched[s] = true
			}
		} else {
			keep = append(keep, f)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	start := time.Now()
	m.net.faults = keep
	var ss []*Stream
	for s := range touched {
		ss = append(ss, s)
	}
	sortStreams(ss)
	if err := m.applyFaults(ss); err != nil {
		return err
	}
	for _, f := range gone {
		m.logf("net", "%s healed (%v)", f.what, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// touched lists the streams whose rules f sets, in id order.
func (f *Fault) touched() []*Stream {
	var ss []*Stream
	for s := range f.drop {
		ss = append(ss, s)
	}
	if f.shape != nil {
		ss = append(ss, f.shape)
	}
	sortStreams(ss)
	return ss
}

// applyFaults brings the rules of every stream of ss to what the faults in
// place ask for, in parallel; a stream whose rules did not change is left
// alone. m.net.mu is held.
func (m *Manager) applyFaults(ss []*Stream) error {
	if m.net.tags == nil {
		m.net.tags = map[*Stream]string{}
		m.net.applied = map[*Stream]appliedRules{}
	}
	errs := make([]error, len(ss))
	now := make([]appliedRules, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		rules, err := m.rulesOf(s)
		if err != nil {
			errs[i] = s.error("network fault", err)
			continue
		}
		prev, had := m.net.applied[s]
		wg.Go(func() { now[i], errs[i] = m.applyRules(s, rules, prev, had) })
	}
	wg.Wait()
	for i, s := range ss {
		if now[i].env != nil {
			m.net.applied[s] = now[i]
		}
	}
	return errors.Join(errs...)
}

// rulesOf computes the rules of s from the faults in place.
func (m *Manager) rulesOf(s *Stream) (netfault.Rules, error) {
	tag, ok := m.net.tags[s]
	if !ok {
		b := make([]byte, 5)
		rand.Read(b)
		tag = hex.EncodeToString(b)
		m.net.tags[s] = tag
	}
	r := netfault.Rules{Tag: tag}
	for _, f := range m.net.faults {
		for _, p := range f.drop[s] {
			a, err := m.addrOf(p)
			if err != nil {
				return r, err
			}
			r.Drop = append(r.Drop, a)
		}
		if f.shape == s {
			sh := netfault.Shape{Impairment: f.impair}
			for _, p := range f.peers {
				a, err := m.addrOf(p)
				if err != nil {
					return r, err
				}
				sh.Peers = append(sh.Peers, a)
			}
			r.Shapes = append(r.Shapes, sh)
		}
	}
	r.Drop = netfault.SortAddrs(r.Drop)
	return r, nil
}

// addrOf is the IPv4 address other streams reach p at.
func (m *Manager) addrOf(p *Stream) (netip.Addr, error) {
	env, err := p.ensureEnv(m.ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	host := env.Host()
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, p.errorEnv(env, "network fault", fmt.Errorf("cannot learn the IPv4 address of host %q to fault its traffic: %v", host, err))
	}
	return ips[0].Unmap(), nil
}

// applyRules runs the script of rules on s, unless s already has it
// (prev, when had), and returns what s has now: its environment and script,
// or a zero appliedRules when nothing changed.
func (m *Manager) applyRules(s *Stream, rules netfault.Rules, prev appliedRules, had bool) (appliedRules, error) {
	const op = "network fault"
	script, err := netfault.Script(rules)
	if err != nil {
		return appliedRules{}, s.error(op, err)
	}
	env, err := s.ensureEnv(m.ctx)
	if err != nil {
		return appliedRules{}, err
	}
	if had && prev.env == env && prev.script == script {
		return appliedRules{}, nil
	}
	if (!had || prev.env != env) && rules.IsZero() {
		return appliedRules{}, nil // nothing was applied on this environment
	}
	na, ok := env.(stream.NetAdmin)
	if !ok {
		return appliedRules{}, s.errorEnv(env, op, fmt.Errorf("%w: %s streams share the test machine's network, so their traffic cannot be faulted apart; use streams with a network of their own (remote hosts, containers)", errors.ErrUnsupported, s.Type()))
	}
	undo, err := netfault.Undo(rules.Tag)
	if err != nil {
		return appliedRules{}, s.error(op, err)
	}
	if rules.IsZero() {
		undo = ""
	}
	ctx, cancel := context.WithTimeout(m.ctx, netAdminTimeout)
	defer cancel()
	if _, err := na.NetAdmin(ctx, script, undo); err != nil {
		// The script may have stopped half-way: what the stream has is
		// unknown, and the next change runs in full, undo included.
		return appliedRules{env: env, script: "unknown: " + err.Error()}, s.errorEnv(env, op, netfault.Explain(err))
	}
	return appliedRules{env: env, script: script}, nil
}

// netAdminTimeout bounds one stream's change of rules.
const netAdminTimeout = 30 * time.Second
