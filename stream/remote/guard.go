package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/streamtest/streamtest/stream"
)

// The host-side guard's watchdog: the client writes a heartbeat line every
// heartbeatEvery; the guard checks once a second and, after a number of
// checks in a row without a new one (watchdogChecks), kills every process
// group the stream's blocks started and removes the work directory,
// whatever the SSH server's own ClientAlive settings.
const (
	heartbeatEvery    = 500 * time.Millisecond
	minWatchdogChecks = 3
)

// watchdogChecks is how many seconds of silence make the host's guard
// clean up: as long as the client's keepalive waits for an answer (both
// sides give up on the same silence, so a slow link can be given more
// patience), at least minWatchdogChecks.
func watchdogChecks(keepalive time.Duration) int {
	return max(int((keepalive+time.Second-1)/time.Second), minWatchdogChecks)
}

// CutLinkBound is how soon after the link to a host is cut (the network
// gone, the test binary frozen) the host has killed the processes of the
// stream's blocks and removed its work directory, for a stream with the
// keepalive parameter keepalive: its watchdog's checks, plus the next
// check's tick, plus the age of the last heartbeat, rounded up. It is 5 s
// for a keepalive up to 3 s, and keepalive + 2 s beyond (7 s by default).
func CutLinkBound(keepalive time.Duration) time.Duration {
	return time.Duration(watchdogChecks(keepalive)+2) * time.Second
}

// guardScript makes the stream's base directory, prints it, and holds it.
// It reads lines from the SSH channel:
//
//	h        a heartbeat; every line counts as one (base/h counts them), so
//	         that a burst of signals, each a walk of the process table, does
//	         not starve the watchdog of heartbeats waiting behind them
//	s N P    send signal number N to block P's tree
//	q        Close: clean up and end
//
// A block's tree is its process group P (the wrapper registers it with a
// line "P UPTIME" appended to base/run/blocks) and every descendant of the
// group's processes, those that made a session of their own included (ps,
// awk). When q comes, or the input
// ends (the connection is gone, the test binary was killed), or the
// watchdog sees no heartbeat for watchdogChecks seconds, it kills every
// registered block's tree and removes the base directory (read-only
// directories in it included), after it ran base/netundo, when there is
// one: the undo of the stream's network faults (NetAdmin).
// A registration holds the host's uptime when the block's first process
// registered (from /proc/uptime, where the host has one; that process had
// started by then): when a live process with that pid started later (its
// start time in /proc/P/stat, both clocks since boot with 10 ms steps),
// the pid was reused after the block's group emptied (a pid is not reused
// while its group has members), and the guard leaves that process and its
// group alone, for signals and clean-up alike (m, one awk over the
// registrations, says which of its arguments, or of all registered
// groups, are still the stream's; H is the clock tick of /proc/P/stat). Its loop uses only shell built-ins but for signals; the
// watchdog runs sleep.
const guardScript = `W=$1
b=$(mktemp -d "${TMPDIR:-/tmp}/streamtest.XXXXXXXXXX") || exit 1
mkdir -m 700 "$b/work" "$b/run" && : >"$b/run/blocks" || { rm -rf "$b"; exit 1; }
H=$(getconf CLK_TCK 2>/dev/null); case $H in ''|0|*[!0-9]*) H=100 ;; esac
t() { s=$1; shift
  d=$(ps -e -o pid= -o ppid= -o pgid= 2>/dev/null | awk -v g=" $* " '
    { p[NR]=$1; q[NR]=$2; if (index(g, " " $3 " ")) m[$1]=1 }
    END { do { c=0; for (i=1; i<=NR; i++) if (!(p[i] in m) && (q[i] in m)) { m[p[i]]=1; c=1 } } while (c)
          for (i in m) printf "%s ", i }')
  for g in "$@"; do kill -$s -$g 2>/dev/null; done
  [ -z "$d" ] || kill -$s $d 2>/dev/null
}
m() { awk -v w=" $* " -v hz="$H" '$1 ~ /^[0-9]+$/ {
    u = -1; if ($2 != "") { split($2, q, "."); u = q[1] * 100 + substr(q[2] "00", 1, 2) }
    if (!($1 in r) || r[$1] != -1 && (u == -1 || u > r[$1])) r[$1] = u }
  END { n = split(w, c, " "); if (!n) for (p in r) c[++n] = p
    for (i = 1; i <= n; i++) { p = c[i]; f = "/proc/" p "/stat"
      if (!(p in r) || (getline l < f) <= 0) { print p; continue }
      close(f); sub(/^.*\) /, "", l); split(l, a, " ")
      if (r[p] == -1 || a[20] * 100 / hz <= r[p]) print p } }' "$b/run/blocks" 2>/dev/null; }
o() { [ ! -r "/proc/$1/stat" ] || [ -n "$(m "$1")" ]; }
k() { set -- $(m)
  [ $# -eq 0 ] || t 9 "$@"
  [ -f "$b/netundo" ] && sh "$b/netundo" </dev/null >/dev/null 2>&1
  rm -rf "$b" 2>/dev/null || { chmod -R u+rwx "$b"; rm -rf "$b"; }; }
( l=; n=0
  while sleep 1; do
    x=; read -r x <"$b/h" 2>/dev/null
    if [ "$x" = "$l" ]; then n=$((n+1)); [ $n -ge $W ] && break; else l=$x n=0; fi
  done
  kill -9 $$; k ) </dev/null >/dev/null 2>&1 &
w=$!
echo "$b"
n=0
while read -r c a p; do
  n=$((n+1)); echo $n >"$b/h"
  case $c in
  s) o "$p" && t $a $p ;;
  q) break ;;
  esac
done
kill -9 $w 2>/dev/null
k
echo closed`

// guard is the stream's guard session on the host.
type guard struct {
	sess *ssh.Session
	base string

	mu sync.Mutex // one line at a time on in
	in io.WriteCloser
}

// startGuard starts the guard on client and waits until it made the base
// directory.
func startGuard(ctx context.Context, client *ssh.Client, timeout, keepalive time.Duration) (*guard, error) {
	// A connection that died after the login would block the session's
	// opening; the connection may be shared, so the stream gives up on
	// ctx's end without closing it (the keepalive ends a dead one).
	tooLate := fmt.Errorf("the host did not start the stream's guard within connect_timeout %v", timeout)
	type opened struct {
		sess *ssh.Session
		err  error
	}
	res := make(chan opened, 1)
	go func() {
		sess, err := client.NewSession()
		res <- opened{sess, err}
	}()
	var o opened
	select {
	case o = <-res:
	case <-ctx.Done():
		go func() {
			if o := <-res; o.err == nil {
				o.sess.Close()
			}
		}()
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, fmt.Errorf("cannot start the stream's guard: %w", ctx.Err())
		}
		return nil, tooLate
	}
	sess, err := o.sess, o.err
	if err != nil {
		return nil, fmt.Errorf("cannot open a session: %w", err)
	}
	in, err1 := sess.StdinPipe()
	out, err2 := sess.StdoutPipe()
	if err := errors.Join(err1, err2); err != nil {
		sess.Close()
		return nil, err
	}
	var stderr strings.Builder
	sess.Stderr = &limitWriter{w: &stderr, n: 4096}
	if err := sess.Start("exec /bin/sh -c " + quote(guardScript) + " streamtest-guard " + strconv.Itoa(watchdogChecks(keepalive))); err != nil {
		sess.Close()
		return nil, fmt.Errorf("cannot start the guard: %w", err)
	}
	line := make(chan string, 1)
	rd := bufio.NewReader(out)
	go func() {
		l, _ := rd.ReadString('\n')
		line <- l
	}()
	var l string
	select {
	case l = <-line:
	case <-ctx.Done():
		sess.Close()
		return nil, tooLate
	}
	l = strings.TrimSpace(l)
	if !strings.HasPrefix(l, "/") {
		sess.Close()
		sess.Wait()
		return nil, fmt.Errorf("cannot make a work directory on the host: %s", strings.TrimSpace(stderr.String()))
	}
	go io.Copy(io.Discard, rd)
	return &guard{sess: sess, in: in, base: l}, nil
}

// send writes one line to the guard.
func (g *guard) send(line string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, err := io.WriteString(g.in, line+"\n")
	return err
}

// signal sends sig to the process group pgid on the host. The guard's
// kill does not complain about a group that is gone.
func (g *guard) signal(pgid int, sig syscall.Signal) error {
	return g.send("s " + strconv.Itoa(int(sig)) + " " + strconv.Itoa(pgid))
}

// heartbeat keeps the guard's watchdog quiet until stop or gone.
func (g *guard) heartbeat(stop, gone <-chan struct{}) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		if g.send("h") != nil {
			return
		}
		select {
		case <-stop:
			return
		case <-gone:
			return
		case <-t.C:
		}
	}
}

// close asks the guard to kill what the blocks left and remove the base
// directory, and waits for it (at most stream.KillWait).
func (g *guard) close() error {
	if err := g.send("q"); err != nil {
		return fmt.Errorf("the guard did not take the close request: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- g.sess.Wait() }()
	t := time.NewTimer(stream.KillWait)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("the guard: %w", err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("the guard did not finish within %v", stream.KillWait)
	}
}
