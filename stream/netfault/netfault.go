// Package netfault writes the kernel rules of network faults between
// streams: the POSIX sh scripts that a stream's [stream.NetAdmin] runs as
// root in the stream's network namespace.
//
// It is the implementer's side of the manager's Partition, Isolate and
// Degrade (package streamtest). Every stream the test faults gets a chain
// of its own, named from its tag, hooked into the INPUT and OUTPUT chains
// of iptables' filter table; drops and random loss are rules in it. Delay,
// jitter and bandwidth limits are tc queueing disciplines under one HTB
// root of handle 5354: on each interface that routes to a faulted peer,
// with a u32 filter per peer address. A script sets the whole state of the
// stream's rules at once: it first removes what an earlier script made (so
// it can be run again and again, each time with the faults that are active
// now), then adds what Rules asks for. Undo removes it all.
//
// Only traffic to and from the addresses given is touched: the test's own
// connection to the stream (SSH from the test machine, the engine's exec)
// goes on.
//
// Two streams that share a network namespace (two streams of one test on
// one host) have chains of their own, but one HTB root: the rate and delay
// classes of one would be mixed with the other's, and the undo of one
// removes the other's. Fault one stream per host.
//
// A script that lacks a tool or a kernel feature exits with status
// MissingStatus after a line "streamtest-netfault: missing WHAT" on
// standard error; [Explain] turns an error that quotes it into a
// *stream.NetAdminError.
package netfault

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// Handle is the tc handle of the HTB root the scripts add ("ST" in hex).
const Handle = "5354"

// MissingStatus is the exit status of a script that lacks a tool or a
// kernel feature.
const MissingStatus = 97

// Impairment is what Degrade does to the packets a stream sends to some
// peers. Zero fields do nothing.
type Impairment struct {
	Delay  time.Duration // added to every packet (tc netem)
	Jitter time.Duration // delay varies by up to ± Jitter (tc netem)
	Loss   float64       // percent of packets dropped at random, 0–100 (iptables statistic)
	Rate   int64         // bandwidth limit in bits per second (tc htb)
}

// IsZero reports whether imp does nothing.
func (imp Impairment) IsZero() bool { return imp == Impairment{} }

// String describes imp: "delay 100ms ± 10ms, loss 5%, rate 1000000 bit/s".
func (imp Impairment) String() string {
	var parts []string
	if imp.Delay > 0 || imp.Jitter > 0 {
		s := "delay " + imp.Delay.String()
		if imp.Jitter > 0 {
			s += " ± " + imp.Jitter.String()
		}
		parts = append(parts, s)
	}
	if imp.Loss > 0 {
		parts = append(parts, "loss "+strconv.FormatFloat(imp.Loss, 'g', -1, 64)+"%")
	}
	if imp.Rate > 0 {
		parts = append(parts, "rate "+strconv.FormatInt(imp.Rate, 10)+" bit/s")
	}
	if len(parts) == 0 {
		return "no impairment"
	}
	return strings.Join(parts, ", ")
}

// Check says what is wrong with imp's values.
func (imp Impairment) Check() error {
	switch {
	case imp.Delay < 0 || imp.Jitter < 0:
		return fmt.Errorf("delay %v and jitter %v must not be negative", imp.Delay, imp.Jitter)
	case imp.Jitter > 0 && imp.Delay == 0:
		return fmt.Errorf("jitter %v needs a delay to vary", imp.Jitter)
	case imp.Loss < 0 || imp.Loss > 100:
		return fmt.Errorf("loss %v%% is not a percentage between 0 and 100", imp.Loss)
	case imp.Rate < 0:
		return fmt.Errorf("rate %d bit/s must not be negative", imp.Rate)
	case imp.Rate > 0 && imp.Rate < 8000:
		return fmt.Errorf("rate %d bit/s is below 8000 bit/s (1 kB/s), which tc cannot shape", imp.Rate)
	}
	return nil
}

// Shape is an impairment of what a stream sends to some peers.
type Shape struct {
	Peers []netip.Addr
	Impairment
}

// Rules is the whole state of one stream's fault rules.
type Rules struct {
	// Tag names the stream's rules: a short word of letters and digits,
	// unique among the streams that share a network namespace (two streams
	// of one test on one host), at most 20 characters.
	Tag string
	// Drop lists peers whose traffic, both ways, is dropped.
	Drop []netip.Addr
	// Shapes impair what the stream sends to some peers; a peer in two
	// shapes gets the first.
	Shapes []Shape
}

// IsZero reports whether r asks for no rule.
func (r Rules) IsZero() bool { return len(r.Drop) == 0 && len(r.Shapes) == 0 }

var tagOK = regexp.MustCompile(`^[A-Za-z0-9]{1,20}$`)

// Chain is the name of the iptables chain of the stream tagged tag.
func Chain(tag string) string { return "STREAMTEST-" + tag }

// CheckTag says what is wrong with tag.
func CheckTag(tag string) error {
	if !tagOK.MatchString(tag) {
		return fmt.Errorf("tag %q: want 1 to 20 letters and digits", tag)
	}
	return nil
}

// Script returns the script that makes the stream's rules exactly r: it
// removes whatever an earlier script of the same tag made, then adds r's
// rules. r with no rule gives the same effect as Undo.
func Script(r Rules) (string, error) {
	if err := CheckTag(r.Tag); err != nil {
		return "", err
	}
	for _, a := range r.Drop {
		if !a.Is4() {
			return "", fmt.Errorf("peer %v: only IPv4 addresses can be faulted", a)
		}
	}
	var b strings.Builder
	b.WriteString(prologue)
	fmt.Fprintf(&b, "C=%s\n", Chain(r.Tag))
	b.WriteString(removeAll)
	if r.IsZero() {
		b.WriteString("exit 0\n")
		return b.String(), nil
	}
	b.WriteString("need iptables\n")
	b.WriteString("iptables -w -N $C\n")
	for _, a := range r.Drop {
		fmt.Fprintf(&b, "iptables -w -A $C -s %s -j DROP\niptables -w -A $C -d %s -j DROP\n", a, a)
	}
	var tcLines strings.Builder
	seen := map[netip.Addr]bool{}
	class := 1
	for _, s := range r.Shapes {
		if err := s.Impairment.Check(); err != nil {
			return "", err
		}
		var peers []netip.Addr
		for _, a := range s.Peers {
			if !a.Is4() {
				return "", fmt.Errorf("peer %v: only IPv4 addresses can be faulted", a)
			}
			if !seen[a] {
				seen[a] = true
				peers = append(peers, a)
			}
		}
		if len(peers) == 0 {
			continue
		}
		if s.Loss > 0 {
			p := strconv.FormatFloat(s.Loss/100, 'f', 6, 64)
			for _, a := range peers {
				fmt.Fprintf(&b, "iptables -w -A $C -d %s -m statistic --mode random --probability %s -j DROP\n", a, p)
			}
		}
		if s.Rate == 0 && s.Delay == 0 {
			continue
		}
		class++
		rate := "10gbit"
		if s.Rate > 0 {
			rate = strconv.FormatInt(s.Rate, 10) + "bit"
		}
		var netem string
		if s.Delay > 0 {
			netem = "netem delay " + usec(s.Delay)
			if s.Jitter > 0 {
				netem += " " + usec(s.Jitter)
			}
		}
		for _, a := range peers {
			fmt.Fprintf(&tcLines, "shape %s %d %s %q\n", a, class, rate, netem)
		}
	}
	b.WriteString("iptables -w -I INPUT 1 -j $C\niptables -w -I OUTPUT 1 -j $C\n")
	if tcLines.Len() > 0 {
		b.WriteString(shapeFunc)
		b.WriteString(tcLines.String())
	}
	b.WriteString("exit 0\n")
	return b.String(), nil
}

// Undo returns the script that removes every rule of the stream tagged tag.
func Undo(tag string) (string, error) {
	return Script(Rules{Tag: tag})
}

func usec(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) + "us" }

// prologue: need TOOL exits MissingStatus naming the tool; the tc function
// of the scripts runs tc and names a missing kernel feature by tc's words.
const prologue = `set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
missing() { echo "streamtest-netfault: missing $1" >&2; exit 97; }
need() { command -v "$1" >/dev/null 2>&1 || missing "$1"; }
`

// removeAll removes the stream's chain and, on every interface, an HTB root
// of handle 5354: (the scripts' own). It is quiet about what is not there.
const removeAll = `if command -v iptables >/dev/null 2>&1; then
  while iptables -w -D INPUT -j $C 2>/dev/null; do :; done
  while iptables -w -D OUTPUT -j $C 2>/dev/null; do :; done
  iptables -w -F $C 2>/dev/null; iptables -w -X $C 2>/dev/null
fi
if command -v tc >/dev/null 2>&1 && command -v ip >/dev/null 2>&1; then
  for d in $(ip -o link show | sed -n 's/^[0-9]*: \([^:@]*\).*/\1/p'); do
    tc qdisc show dev "$d" 2>/dev/null | grep -q '^qdisc htb ` + Handle + `: root' && tc qdisc del dev "$d" root 2>/dev/null
  done
fi
`

// shapeFunc: shape PEER CLASS RATE NETEM sends what goes to PEER through
// HTB class 5354:CLASS of rate RATE, with the netem qdisc NETEM under it
// when NETEM is not empty, on the interface that routes to PEER.
const shapeFunc = `need tc; need ip
shape() {
  d=$(ip -o route get "$1" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p')
  [ -n "$d" ] || { echo "no route to $1" >&2; exit 1; }
  if ! tc qdisc show dev "$d" | grep -q '^qdisc htb ` + Handle + `: root'; then
    tc qdisc add dev "$d" root handle ` + Handle + `: htb default 1 2>/dev/null || missing "the kernel's htb queueing discipline (sch_htb)"
    tc class add dev "$d" parent ` + Handle + `: classid ` + Handle + `:1 htb rate 10gbit
  fi
  if ! tc class show dev "$d" | grep -q "class htb ` + Handle + `:$2 "; then
    tc class add dev "$d" parent ` + Handle + `: classid ` + Handle + `:$2 htb rate "$3" burst 16k
    if [ -n "$4" ]; then
      e=$(tc qdisc add dev "$d" parent ` + Handle + `:$2 handle $(( $2 + 16 )): $4 2>&1) || case $e in
        *"qdisc kind is unknown"*) missing "the kernel's netem queueing discipline (sch_netem, which Delay needs)" ;;
        *) echo "$e" >&2; exit 1 ;;
      esac
    fi
  fi
  tc filter add dev "$d" parent ` + Handle + `: protocol ip prio 1 u32 match ip dst "$1"/32 flowid ` + Handle + `:$2
}
`

var missingLine = regexp.MustCompile(`streamtest-netfault: missing ([^\n]+)`)

// Explain turns err, the error of a NetAdmin call that quotes the script's
// standard error, into a *stream.NetAdminError when the script said what
// was missing; any other error is returned as it is.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	var nae *stream.NetAdminError
	if errors.As(err, &nae) {
		return err
	}
	m := missingLine.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	what := strings.TrimSpace(m[1])
	return &stream.NetAdminError{Missing: what, Fix: fixFor(what)}
}

func fixFor(what string) string {
	switch {
	case what == "iptables":
		return "install it on the stream (apt-get install iptables)"
	case what == "tc" || what == "ip":
		return "install it on the stream (apt-get install iproute2)"
	case strings.Contains(what, "netem"):
		return "a kernel built with CONFIG_NET_SCH_NETEM (modprobe sch_netem)"
	case strings.Contains(what, "htb"):
		return "a kernel built with CONFIG_NET_SCH_HTB (modprobe sch_htb)"
	}
	return ""
}

// SortAddrs sorts addrs in place and drops repeats.
func SortAddrs(addrs []netip.Addr) []netip.Addr {
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	out := addrs[:0]
	for i, a := range addrs {
		if i == 0 || a != addrs[i-1] {
			out = append(out, a)
		}
	}
	return out
}
