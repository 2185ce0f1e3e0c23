package dockerlab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// NetAdminImage is the image of the helper container through which a
// container stream changes its network rules (stream/container's
// NetAdmin): busybox, dash as /bin/sh, this machine's iptables (the
// nf_tables backend, with its extensions) and iproute2's ip and tc (with
// netem's distribution tables). It is not a stream's image: it runs beside
// the stream's container, in its network namespace.
const NetAdminImage = "streamtest/netadmin:latest"

// what the netadmin image needs from this machine
var (
	xtablesPaths = []string{"/usr/sbin/xtables-nft-multi", "/sbin/xtables-nft-multi"}
	tcPaths      = []string{"/sbin/tc", "/usr/sbin/tc"}
	ipPaths      = []string{"/bin/ip", "/sbin/ip", "/usr/bin/ip", "/usr/sbin/ip"}
	dashPaths    = []string{"/usr/bin/dash", "/bin/dash"}
	// the directories of iptables' extensions and of tc's modules and
	// distribution tables, by distribution
	xtablesLibGlobs = []string{"/usr/lib/*-linux-gnu/xtables", "/usr/lib/xtables", "/usr/lib64/xtables"}
	tcLibGlobs      = []string{"/usr/lib/*-linux-gnu/tc", "/usr/lib/tc", "/usr/lib64/tc"}
)

// iptablesLinks are the names the image gives xtables-nft-multi, which
// picks its personality from the name it is run by.
var iptablesLinks = []string{
	"iptables", "iptables-save", "iptables-restore",
	"ip6tables", "ip6tables-save", "ip6tables-restore",
}

// netadminRoot is the base image with dash as /bin/sh, iptables (nft),
// ip and tc. Debian's static busybox shell runs its own applets before
// anything on PATH, and it has ip and tc applets (without netem, HTB or
// u32): /bin/sh is dash, so that a script's ip and tc are iproute2's.
func netadminRoot() (*rootfs, error) {
	r, err := baseRoot()
	if err != nil {
		return nil, err
	}
	dash, err := firstExisting(dashPaths, "dash", "dash")
	if err != nil {
		return nil, err
	}
	if err := r.binary(dash, "/bin/dash"); err != nil {
		return nil, err
	}
	r.symlink("/bin/sh", "dash")
	// busybox's ip and tc would shadow nothing (iproute2's come first
	// on PATH) but could confuse whoever looks: drop them.
	delete(r.entries, "bin/ip")
	delete(r.entries, "bin/tc")

	xt, err := firstExisting(xtablesPaths, "iptables (xtables-nft-multi)", "iptables")
	if err != nil {
		return nil, err
	}
	if err := r.binary(xt, "/usr/sbin/xtables-nft-multi"); err != nil {
		return nil, err
	}
	for _, n := range iptablesLinks {
		r.symlink("/usr/sbin/"+n, "xtables-nft-multi")
		r.symlink("/sbin/"+n, "/usr/sbin/xtables-nft-multi")
	}
	if err := r.libDir(xtablesLibGlobs, "iptables' extensions", "iptables"); err != nil {
		return nil, err
	}

	ip, err := firstExisting(ipPaths, "iproute2's ip", "iproute2")
	if err != nil {
		return nil, err
	}
	if err := r.binary(ip, "/bin/ip"); err != nil {
		return nil, err
	}
	r.symlink("/sbin/ip", "/bin/ip")
	tc, err := firstExisting(tcPaths, "iproute2's tc", "iproute2")
	if err != nil {
		return nil, err
	}
	if err := r.binary(tc, "/sbin/tc"); err != nil {
		return nil, err
	}
	r.symlink("/usr/sbin/tc", "/sbin/tc")
	// tc's modules and netem's distribution tables (normal.dist, for
	// jitter); optional: tc works without them, netem's jitter does not.
	if err := r.libDir(tcLibGlobs, "", ""); err != nil {
		return nil, err
	}
	if _, err := os.Stat("/etc/iproute2"); err == nil {
		if err := r.copyTree("/etc/iproute2", nil); err != nil {
			return nil, err
		}
	}
	// Protocol and ethertype names (iptables -p tcp, ip's and tc's
	// protocol names); both tools fall back to numbers without them.
	for _, f := range []string{"/etc/protocols", "/etc/ethertypes", "/etc/services"} {
		if _, err := os.Stat(f); err == nil {
			if err := r.copyFile(f, f); err != nil {
				return nil, err
			}
		}
	}
	r.dir("/run", 0o755, 0) // iptables -w takes /run/xtables.lock
	r.cmd = []string{"/bin/sleep", "2147483647"}
	return r, nil
}

// libDir adds the first directory that globs match (with the libraries
// of the shared objects in it); when none exists, it is an error naming
// what and pkg, or nothing when what is "".
func (r *rootfs) libDir(globs []string, what, pkg string) error {
	for _, g := range globs {
		dirs, _ := filepath.Glob(g)
		for _, d := range dirs {
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				continue
			}
			if err := r.copyTree(d, nil); err != nil {
				return err
			}
			objs, _ := filepath.Glob(filepath.Join(d, "*.so"))
			return r.libs(objs...)
		}
	}
	if what == "" {
		return nil
	}
	return fmt.Errorf("%s are not on this machine (looked at %s); install them: apt-get install %s", what, strings.Join(globs, ", "), pkg)
}
