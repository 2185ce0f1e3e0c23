// Package netns makes a local multi-host lab out of Linux network
// namespaces, for remote (SSH) streams. It is what `streamtest lab up --kind
// netns` runs; the project's own remote tests and benchmarks use it.
//
//	lab, err := netns.Up(ctx, netns.Options{Hosts: 4, Isolated: 2, Dir: ".lab"})
//	// DIR/params.yaml now defines streams 1..6 of type remote
//	err = netns.Down(ctx, ".lab")
//
// Each host is a network namespace joined to a Linux bridge by a veth pair,
// with its own address, running its own OpenSSH sshd (as root inside the
// namespace, with its own configuration and host key in DIR), and accepting
// the dedicated unprivileged user "streamtest" (login shell /bin/sh, no
// start-up files) with a generated ed25519 key. The first Hosts hosts are on
// 10.199.1.0/24 (bridge stlab-br1, the machine itself is 10.199.1.1); the
// Isolated hosts after them are on 10.199.2.0/24 (bridge stlab-br2). The
// namespaces have no default route, so a host on one subnet cannot reach the
// other; the machine itself reaches both.
//
// Up needs root, ip (iproute2), sshd (openssh-server), ssh-keygen and
// useradd. There is one netns lab per machine: Up first removes whatever an
// earlier lab left behind. Down is idempotent. What Up does not remove: the
// user streamtest (kept so that a later lab reuses it), /run/sshd.
//
// This is system administration, so it runs the system's tools (ip, sshd,
// useradd) rather than talking netlink itself.
package netns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/streamtest/streamtest/lab/sshdconf"
)

// Names and addresses of the lab. They are fixed so that a lab left behind
// by a killed run is found and removed by the next Up or Down.
const (
	Prefix     = "stlab"      // namespaces stlab1.., bridges stlab-br1/2, veths stlab1-h..
	User       = "streamtest" // the unprivileged user streams log in as
	subnetA    = "10.199.1"   // the first Hosts hosts: .11, .12, ...
	subnetB    = "10.199.2"   // the Isolated hosts
	hostBase   = 10
	iptComment = "streamtest-lab"
)

// Options are what Up makes.
type Options struct {
	Hosts    int    // hosts on the first subnet, at least 1
	Isolated int    // hosts on the second subnet, numbered after the first
	Dir      string // where keys, configurations, logs and params.yaml go
	// Stdout receives progress and the usage note; nil discards them.
	Stdout io.Writer
}

// Host is one lab host.
type Host struct {
	N         int    `json:"n"`         // stream number, from 1
	Namespace string `json:"namespace"` // network namespace name
	Addr      string `json:"addr"`      // its address
	Bridge    string `json:"bridge"`
	Isolated  bool   `json:"isolated"`
	PidFile   string `json:"pid_file"` // sshd's pid file
}

// Lab is a lab that Up made; it is also written to DIR/lab.json.
type Lab struct {
	Dir         string   `json:"dir"`
	Hosts       []Host   `json:"hosts"`
	User        string   `json:"user"`
	Key         string   `json:"key"`         // client private key
	KnownHosts  string   `json:"known_hosts"` // known_hosts for every host
	Params      string   `json:"params"`      // the parameters file
	Bridges     []string `json:"bridges"`
	CreatedUser bool     `json:"created_user"`
}

// StateFile is the name of the lab's state file in its directory.
const StateFile = "lab.json"

// Load reads the lab in dir.
func Load(dir string) (*Lab, error) {
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, err
	}
	var l Lab
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("lab netns: %s: %w", filepath.Join(dir, StateFile), err)
	}
	return &l, nil
}

// Host returns lab host n (from 1).
func (l *Lab) Host(n int) (Host, bool) {
	for _, h := range l.Hosts {
		if h.N == n {
			return h, true
		}
	}
	return Host{}, false
}

// SSHDPids returns the pids of every sshd process of host h (the listener
// and the per-connection ones), found by the namespace they run in.
func SSHDPids(h Host) []int {
	var out []int
	for _, p := range NamespacePids(h.Namespace) {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
		if strings.TrimSpace(string(comm)) == "sshd" {
			out = append(out, p)
		}
	}
	return out
}

// NamespacePids lists the processes in network namespace ns.
func NamespacePids(ns string) []int {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// Check says what is missing to make a lab: root, ip, sshd, ssh-keygen,
// useradd, with what to install.
func Check() error {
	var missing, problems []string
	if os.Geteuid() != 0 {
		problems = append(problems, "lab netns: needs root to make network namespaces and run sshd (run it as root, e.g. sudo streamtest lab up)")
	}
	for _, tool := range []string{"ip", "ssh-keygen", "useradd"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if sshdPath() == "" {
		missing = append(missing, "sshd")
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("lab netns: %s not found; install them with: apt-get install openssh-server iproute2 iputils-ping",
			strings.Join(missing, ", ")))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func sshdPath() string {
	if p, err := exec.LookPath("sshd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/sshd", "/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Up makes the lab and writes DIR/params.yaml and DIR/lab.json.
func Up(ctx context.Context, o Options) (*Lab, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := Check(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	// Whatever an earlier lab left behind, here or elsewhere, goes first.
	if err := Down(ctx, dir, io.Discard); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab netns: %w", err)
	}
	l := &Lab{
		Dir:        dir,
		User:       User,
		Key:        filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"),
		Params:     filepath.Join(dir, "params.yaml"),
	}
	ok := false
	defer func() {
		if !ok {
			saveState(l)
			Down(context.WithoutCancel(ctx), dir, io.Discard)
		}
	}()
	r := &runner{ctx: ctx}

	created, err := ensureUser(r, dir)
	if err != nil {
		return nil, err
	}
	l.CreatedUser = created
	if err := saveState(l); err != nil {
		return nil, err
	}
	if err := writeSudoers(); err != nil {
		return nil, err
	}
	if err := makeClientKey(r, l); err != nil {
		return nil, err
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, err
	}
	var known bytes.Buffer
	for _, nw := range planNetworks(o) {
		if err := makeNetwork(r, l, nw, &known); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(l.KnownHosts, known.Bytes(), 0o644); err != nil {
		return nil, err
	}
	if err := writeParams(l); err != nil {
		return nil, err
	}
	if err := saveState(l); err != nil {
		return nil, err
	}
	if err := waitSSH(ctx, l); err != nil {
		return nil, err
	}
	ok = true
	printUsage(o.Stdout, l, o)
	return l, nil
}

// withDefaults checks o and fills in its defaults: DIR .lab, output
// discarded.
func (o Options) withDefaults() (Options, error) {
	if o.Hosts < 1 || o.Isolated < 0 || o.Hosts+o.Isolated > 200 {
		return o, fmt.Errorf("lab netns: --hosts must be 1..200 and --isolated not negative")
	}
	if o.Dir == "" {
		o.Dir = ".lab"
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	return o, nil
}

// network is one bridge of the lab and the hosts on it.
type network struct {
	bridge, subnet string
	hosts          []Host
}

// planNetworks lays out the lab o asks for: the first subnet's bridge and
// hosts, numbered from 1, then the isolated subnet's, numbered after them.
// A subnet without hosts gets no bridge.
func planNetworks(o Options) []network {
	var nets []network
	n := 0
	for _, nw := range []struct {
		bridge, subnet string
		count          int
		isolated       bool
	}{{Prefix + "-br1", subnetA, o.Hosts, false}, {Prefix + "-br2", subnetB, o.Isolated, true}} {
		if nw.count == 0 {
			continue
		}
		plan := network{bridge: nw.bridge, subnet: nw.subnet}
		for range nw.count {
			n++
			plan.hosts = append(plan.hosts, Host{
				N:         n,
				Namespace: fmt.Sprintf("%s%d", Prefix, n),
				Addr:      fmt.Sprintf("%s.%d", nw.subnet, hostBase+n),
				Bridge:    nw.bridge,
				Isolated:  nw.isolated,
			})
		}
		nets = append(nets, plan)
	}
	return nets
}

// makeClientKey makes the lab's client key and authorizes it for the lab's
// user. A key file left by a lab whose state file is gone would make
// ssh-keygen ask to overwrite: it is removed first.
func makeClientKey(r *runner, l *Lab) error {
	os.Remove(l.Key)
	os.Remove(l.Key + ".pub")
	if err := r.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "streamtest-lab", "-f", l.Key); err != nil {
		return err
	}
	pub, err := os.ReadFile(l.Key + ".pub")
	if err != nil {
		return err
	}
	return installAuthorizedKey(pub)
}

// makeNetwork makes nw's bridge and its hosts, recording each in l (and
// its state file) before making it, so that Down finds what a failure left;
// it adds each host's key line to known.
func makeNetwork(r *runner, l *Lab, nw network, known *bytes.Buffer) error {
	l.Bridges = append(l.Bridges, nw.bridge)
	if err := saveState(l); err != nil {
		return err
	}
	if err := r.run("ip", "link", "add", nw.bridge, "type", "bridge"); err != nil {
		return err
	}
	r.run("ip", "addr", "add", nw.subnet+".1/24", "dev", nw.bridge)
	r.run("ip", "link", "set", nw.bridge, "up")
	allowForwarding(nw.bridge)
	for _, h := range nw.hosts {
		l.Hosts = append(l.Hosts, h)
		if err := saveState(l); err != nil {
			return err
		}
		pub, err := makeHost(r, l.Dir, &l.Hosts[len(l.Hosts)-1])
		if err != nil {
			return err
		}
		fmt.Fprintf(known, "%s %s\n", h.Addr, strings.TrimSpace(pub))
	}
	return nil
}

func makeHost(r *runner, dir string, h *Host) (hostPub string, err error) {
	hdir := filepath.Join(dir, "hosts", strconv.Itoa(h.N))
	if err := os.MkdirAll(hdir, 0o755); err != nil {
		return "", err
	}
	ns, veth := h.Namespace, h.Namespace+"-h"
	steps := [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"ip", "link", "set", veth, "master", h.Bridge},
		{"ip", "link", "set", veth, "up"},
		{"ip", "-n", ns, "addr", "add", h.Addr + "/24", "dev", "eth0"},
		{"ip", "-n", ns, "link", "set", "eth0", "up"},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
		// ping for unprivileged users (ICMP sockets), in this namespace only.
		{"ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647"},
		// A cached address of an earlier host with this address is stale.
		{"ip", "neigh", "flush", "to", h.Addr},
	}
	for _, s := range steps {
		if err := r.run(s[0], s[1:]...); err != nil {
			return "", err
		}
	}
	key := filepath.Join(hdir, "ssh_host_ed25519_key")
	os.Remove(key)
	os.Remove(key + ".pub")
	if err := r.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key); err != nil {
		return "", err
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return "", err
	}
	h.PidFile = filepath.Join(hdir, "sshd.pid")
	conf := filepath.Join(hdir, "sshd_config")
	cfg := sshdconf.Config(sshdconf.Options{
		Comment:       fmt.Sprintf("sshd for lab host %d, written by streamtest lab up", h.N),
		ListenAddress: h.Addr,
		HostKey:       key,
		PidFile:       h.PidFile,
		User:          User,
		Password:      true, // the fault tests try wrong passwords
		Verbose:       true,
	})
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		return "", err
	}
	if err := r.run("ip", "netns", "exec", ns, sshdPath(), "-f", conf, "-E", filepath.Join(hdir, "sshd.log")); err != nil {
		return "", err
	}
	return string(pub), nil
}

// ensureUser creates the lab user when missing: unprivileged, login shell
// /bin/sh, a home without start-up files, no usable password (but not
// locked, which sshd would refuse even for keys).
func ensureUser(r *runner, dir string) (created bool, err error) {
	if _, err := user.Lookup(User); err != nil {
		skel := filepath.Join(dir, "skel")
		if err := os.MkdirAll(skel, 0o755); err != nil {
			return false, err
		}
		if err := r.run("useradd", "--create-home", "--skel", skel, "--shell", "/bin/sh",
			"--password", "*", "--comment", "streamtest lab", User); err != nil {
			return false, err
		}
		os.Remove(skel)
		created = true
	} else {
		// An account made elsewhere may be locked ("!"): sshd refuses those.
		r.run("usermod", "--shell", "/bin/sh", "--password", "*", User)
	}
	u, err := user.Lookup(User)
	if err != nil {
		return created, err
	}
	// No start-up files: their time would count in every block.
	for _, f := range []string{".profile", ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".shrc"} {
		os.Remove(filepath.Join(u.HomeDir, f))
	}
	return created, nil
}

// SudoersFile lets the lab's user run /bin/sh as root without a password,
// which network faults between the lab's hosts need (the remote stream's
// net_admin parameter, sudo -n by default). Down removes it. The hosts
// share this machine's file system: the rule holds on the machine too, as
// long as the lab is up.
const SudoersFile = "/etc/sudoers.d/streamtest-lab"

// writeSudoers writes SudoersFile when sudo is installed; without sudo the
// lab comes up all the same, and a fault test says that sudo is missing.
func writeSudoers() error {
	if _, err := exec.LookPath("sudo"); err != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(SudoersFile), 0o755); err != nil {
		return fmt.Errorf("lab netns: %w", err)
	}
	rule := "# streamtest lab: network faults between the lab's hosts (lab down removes this file)\n" +
		User + " ALL=(root) NOPASSWD: /bin/sh\n"
	if err := os.WriteFile(SudoersFile, []byte(rule), 0o440); err != nil {
		return fmt.Errorf("lab netns: writing %s: %w", SudoersFile, err)
	}
	return nil
}

func removeSudoers() { os.Remove(SudoersFile) }

func installAuthorizedKey(pub []byte) error {
	u, err := user.Lookup(User)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.MkdirAll(u.HomeDir, 0o755); err != nil {
		return err
	}
	os.Chown(u.HomeDir, uid, gid)
	os.Chmod(u.HomeDir, 0o755)
	sshDir := filepath.Join(u.HomeDir, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		return err
	}
	ak := filepath.Join(sshDir, "authorized_keys")
	if err := os.WriteFile(ak, pub, 0o600); err != nil {
		return err
	}
	for _, p := range []string{sshDir, ak} {
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	return os.Chmod(sshDir, 0o700)
}

// allowForwarding lets bridged traffic between the lab hosts through a
// FORWARD chain whose policy drops (Docker sets one, and br_netfilter passes
// bridged frames through it). Best effort: without iptables nothing drops.
func allowForwarding(bridge string) {
	for _, ipt := range []string{"iptables", "iptables-legacy"} {
		if _, err := exec.LookPath(ipt); err != nil {
			continue
		}
		exec.Command(ipt, "-w", "-I", "FORWARD", "-i", bridge, "-o", bridge,
			"-m", "comment", "--comment", iptComment, "-j", "ACCEPT").Run()
	}
}

func removeForwarding(bridge string) {
	for _, ipt := range []string{"iptables", "iptables-legacy"} {
		if _, err := exec.LookPath(ipt); err != nil {
			continue
		}
		for i := 0; i < 10; i++ {
			if exec.Command(ipt, "-w", "-D", "FORWARD", "-i", bridge, "-o", bridge,
				"-m", "comment", "--comment", iptComment, "-j", "ACCEPT").Run() != nil {
				break
			}
		}
	}
}

func writeParams(l *Lab) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Streams of the netns lab in %s, written by streamtest lab up.\n", l.Dir)
	fmt.Fprintf(&b, "# Streams %s: 10.199.1.0/24", rangeText(l, false))
	if r := rangeText(l, true); r != "" {
		fmt.Fprintf(&b, "; streams %s: 10.199.2.0/24, which the first subnet cannot reach", r)
	}
	b.WriteString(".\navocado:\n  streams:\n")
	for _, h := range l.Hosts {
		fmt.Fprintf(&b, "    - %d: {type: remote, host: %s, user: %s, key: %s, known_hosts: %s}\n",
			h.N, h.Addr, l.User, strconv.Quote(l.Key), strconv.Quote(l.KnownHosts))
	}
	return os.WriteFile(l.Params, []byte(b.String()), 0o644)
}

func rangeText(l *Lab, isolated bool) string {
	var ns []int
	for _, h := range l.Hosts {
		if h.Isolated == isolated {
			ns = append(ns, h.N)
		}
	}
	switch len(ns) {
	case 0:
		return ""
	case 1:
		return strconv.Itoa(ns[0])
	}
	return fmt.Sprintf("%d-%d", ns[0], ns[len(ns)-1])
}

// waitSSH waits until every sshd accepts TCP connections from here.
func waitSSH(ctx context.Context, l *Lab) error {
	deadline := time.Now().Add(10 * time.Second)
	for _, h := range l.Hosts {
		for {
			c, err := dialTCP(ctx, h.Addr+":22")
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(l.Dir, "hosts", strconv.Itoa(h.N), "sshd.log"))
				return fmt.Errorf("lab netns: sshd of host %d (%s) does not answer: %v\n%s", h.N, h.Addr, err, log)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func printUsage(w io.Writer, l *Lab, o Options) {
	fmt.Fprintf(w, "netns lab up: %d hosts", o.Hosts)
	if o.Isolated > 0 {
		fmt.Fprintf(w, " + %d isolated", o.Isolated)
	}
	fmt.Fprintf(w, " in %s\n", l.Dir)
	for _, h := range l.Hosts {
		iso := ""
		if h.Isolated {
			iso = "  (isolated subnet)"
		}
		fmt.Fprintf(w, "  stream %d: %s@%s  netns %s%s\n", h.N, l.User, h.Addr, h.Namespace, iso)
	}
	fmt.Fprintf(w, `Use it:
  export STREAMTEST_PARAMS=%s
  go test ./...                      # streams 1..%d are these hosts
  ssh -i %s -o UserKnownHostsFile=%s %s@%s
  ip netns exec %s pgrep -u %s -a    # what runs on host 1
Take it down: streamtest lab down --dir %s
`, l.Params, len(l.Hosts), l.Key, l.KnownHosts, l.User, l.Hosts[0].Addr, l.Hosts[0].Namespace, l.User, l.Dir)
}

// Down removes the lab in dir and anything an earlier lab left behind:
// namespaces (and every process in them), bridges, firewall rules, the
// files Up wrote in dir. It succeeds when there is nothing to remove.
func Down(ctx context.Context, dir string, stdout io.Writer) error {
	if stdout == nil {
		stdout = io.Discard
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return Check()
	}
	var errs []error
	l, _ := Load(dir)
	// Namespaces: ours by name, whether or not the state file knows them.
	nss := map[string]bool{}
	if l != nil {
		for _, h := range l.Hosts {
			nss[h.Namespace] = true
		}
	}
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && isLabName(f[0]) {
				nss[f[0]] = true
			}
		}
	}
	names := make([]string, 0, len(nss))
	for ns := range nss {
		names = append(names, ns)
	}
	sort.Strings(names)
	removed := 0
	for _, ns := range names {
		// sshd and whatever runs in the namespace keep it alive.
		for round := 0; round < 20; round++ {
			pids := NamespacePids(ns)
			if len(pids) == 0 {
				break
			}
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGKILL)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := exec.Command("ip", "netns", "del", ns).Run(); err == nil {
			removed++
		} else if nsExists(ns) {
			errs = append(errs, fmt.Errorf("lab netns: cannot remove namespace %s: %v", ns, err))
		}
	}
	// Bridges and veths left in this namespace.
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			name := strings.TrimSuffix(f[1], ":")
			if i := strings.IndexByte(name, '@'); i >= 0 {
				name = name[:i]
			}
			if isLabName(name) {
				if strings.HasPrefix(name, Prefix+"-br") {
					removeForwarding(name)
				}
				if err := exec.Command("ip", "link", "del", name).Run(); err != nil && linkExists(name) {
					errs = append(errs, fmt.Errorf("lab netns: cannot remove link %s: %v", name, err))
				}
			}
		}
	}
	for _, br := range []string{Prefix + "-br1", Prefix + "-br2"} {
		removeForwarding(br)
	}
	removeSudoers()
	if l != nil {
		if l.CreatedUser {
			exec.Command("userdel", "--remove", User).Run()
		}
		os.RemoveAll(filepath.Join(dir, "hosts"))
		for _, f := range []string{l.Key, l.Key + ".pub", l.KnownHosts, l.Params, filepath.Join(dir, StateFile)} {
			os.Remove(f)
		}
		os.Remove(dir) // only when empty
	}
	if removed > 0 || l != nil {
		fmt.Fprintf(stdout, "netns lab down: removed %d hosts\n", removed)
	}
	return errors.Join(errs...)
}

func isLabName(name string) bool {
	if !strings.HasPrefix(name, Prefix) {
		return false
	}
	rest := strings.TrimPrefix(name, Prefix)
	if strings.HasPrefix(rest, "-br") {
		return true
	}
	rest = strings.TrimSuffix(rest, "-h")
	_, err := strconv.Atoi(rest)
	return err == nil
}

func nsExists(ns string) bool {
	_, err := os.Stat(filepath.Join("/run/netns", ns))
	return err == nil
}

func linkExists(name string) bool {
	return exec.Command("ip", "link", "show", name).Run() == nil
}

func saveState(l *Lab) error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.Dir, StateFile), append(data, '\n'), 0o644)
}

type runner struct{ ctx context.Context }

func (r *runner) run(name string, args ...string) error {
	cmd := exec.CommandContext(r.ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab netns: %s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: time.Second}
	return d.DialContext(ctx, "tcp", addr)
}

// StartSSHD starts host h's sshd again (after a test killed it) and waits
// until it accepts connections.
func (l *Lab) StartSSHD(ctx context.Context, h Host) error {
	hdir := filepath.Join(l.Dir, "hosts", strconv.Itoa(h.N))
	r := &runner{ctx: ctx}
	if err := r.run("ip", "netns", "exec", h.Namespace, sshdPath(), "-f", filepath.Join(hdir, "sshd_config"), "-E", filepath.Join(hdir, "sshd.log")); err != nil {
		return err
	}
	one := *l
	one.Hosts = []Host{h}
	return waitSSH(ctx, &one)
}

// Veth is the name of host h's link on the bridge, in this namespace:
// `ip link set <Veth> down` cuts the host off.
func (h Host) Veth() string { return h.Namespace + "-h" }

// AddHost adds a scratch host to the first subnet of lab l, for a test that
// breaks it (kills its sshd, cuts its link) without disturbing the hosts
// other tests use. It returns the host and its known_hosts line; remove it
// with RemoveHost (Down removes it too).
func (l *Lab) AddHost(ctx context.Context) (Host, string, error) {
	if len(l.Hosts) == 0 {
		return Host{}, "", errors.New("lab netns: the lab has no hosts")
	}
	first := l.Hosts[0]
	for n := 221; n < 240; n++ {
		ns := fmt.Sprintf("%s%d", Prefix, n)
		if nsExists(ns) {
			continue
		}
		h := Host{N: n, Namespace: ns, Addr: fmt.Sprintf("%s.%d", subnetA, hostBase+n), Bridge: first.Bridge}
		pub, err := makeHost(&runner{ctx: ctx}, l.Dir, &h)
		if err != nil {
			l.RemoveHost(h)
			return Host{}, "", err
		}
		one := *l
		one.Hosts = []Host{h}
		if err := waitSSH(ctx, &one); err != nil {
			l.RemoveHost(h)
			return Host{}, "", err
		}
		return h, h.Addr + " " + strings.TrimSpace(pub) + "\n", nil
	}
	return Host{}, "", errors.New("lab netns: no free scratch host number")
}

// RemoveHost removes a host made by AddHost: its processes, namespace and
// files.
func (l *Lab) RemoveHost(h Host) {
	for round := 0; round < 20; round++ {
		pids := NamespacePids(h.Namespace)
		if len(pids) == 0 {
			break
		}
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	exec.Command("ip", "netns", "del", h.Namespace).Run()
	exec.Command("ip", "link", "del", h.Veth()).Run()
	// The next host with this address has another MAC address.
	exec.Command("ip", "neigh", "flush", "to", h.Addr).Run()
	os.RemoveAll(filepath.Join(l.Dir, "hosts", strconv.Itoa(h.N)))
}
