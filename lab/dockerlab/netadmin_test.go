package dockerlab

import (
	"archive/tar"
	"strings"
	"testing"

	"github.com/streamtest/streamtest/internal/testenv"
)

func TestNetAdminRoot(t *testing.T) {
	for _, tool := range []struct {
		paths     []string
		what, pkg string
	}{
		{busyboxPaths, "a static busybox", "busybox-static"},
		{xtablesPaths, "iptables (xtables-nft-multi)", "iptables"},
		{tcPaths, "iproute2's tc", "iproute2"},
		{ipPaths, "iproute2's ip", "iproute2"},
		{dashPaths, "dash", "dash"},
	} {
		_, err := firstExisting(tool.paths, tool.what, tool.pkg)
		testenv.Need(t, err == nil, tool.what, "apt-get install "+tool.pkg)
	}
	r, err := netadminRoot()
	if err != nil {
		t.Fatal(err)
	}
	for p, link := range map[string]string{
		"bin/sh":                    "dash",
		"usr/sbin/iptables":         "xtables-nft-multi",
		"usr/sbin/iptables-save":    "xtables-nft-multi",
		"usr/sbin/iptables-restore": "xtables-nft-multi",
		"bin/sleep":                 "busybox",
	} {
		if e := r.entries[p]; e == nil || e.typ != tar.TypeSymlink || e.linkname != link {
			t.Errorf("/%s: %+v, want a link to %s", p, e, link)
		}
	}
	for _, p := range []string{"bin/dash", "usr/sbin/xtables-nft-multi", "bin/ip", "sbin/tc", "etc/protocols"} {
		if e := r.entries[p]; e == nil || e.typ != tar.TypeReg {
			t.Errorf("/%s: %+v, want a file", p, e)
		}
	}
	// iptables' extensions (for -p tcp, -m statistic) and their library.
	var ext, libxtables bool
	for p := range r.entries {
		ext = ext || strings.HasSuffix(p, "/xtables/libxt_statistic.so")
		libxtables = libxtables || strings.HasSuffix(p, "/libxtables.so.12")
	}
	if !ext || !libxtables {
		t.Errorf("iptables' statistic extension there: %v, libxtables: %v", ext, libxtables)
	}
	if r.cmd[0] != "/bin/sleep" {
		t.Errorf("command %q", r.cmd)
	}
}
