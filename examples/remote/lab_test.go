package remote_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/netns"
)

// labParams returns the lab's parameters file, from STREAMTEST_PARAMS (make
// test sets it; by hand: streamtest lab up, then export the line it prints),
// else from the lab in STREAMTEST_LAB, which it then sets STREAMTEST_PARAMS
// to for this test.
func labParams(t *testing.T) string {
	t.Helper()
	p := os.Getenv("STREAMTEST_PARAMS")
	if lab := os.Getenv("STREAMTEST_LAB"); p == "" && lab != "" {
		p = filepath.Join(lab, "params.yaml")
		t.Setenv("STREAMTEST_PARAMS", p)
	}
	testenv.Need(t, p != "", "the lab's parameters (STREAMTEST_PARAMS)",
		"run `streamtest lab up --hosts 4 --isolated 2` as root and export STREAMTEST_PARAMS as it says, or use make test")
	return p
}

// lab returns the netns lab that wrote the parameters file.
func lab(t *testing.T) *netns.Lab {
	t.Helper()
	dir := filepath.Dir(strings.Split(labParams(t), string(os.PathListSeparator))[0])
	l, err := netns.Load(dir)
	testenv.Need(t, err == nil, "a netns lab beside STREAMTEST_PARAMS", fmt.Sprint(err))
	return l
}

// sliceParams writes the parameters of the RFC's four-stream slice: streams
// 1 and 2 are hosts of the lab's first subnet, 3 and 4 its --isolated hosts.
func sliceParams(t *testing.T) string {
	t.Helper()
	l := lab(t)
	var first, isolated []netns.Host
	for _, h := range l.Hosts {
		if h.Isolated {
			isolated = append(isolated, h)
		} else {
			first = append(first, h)
		}
	}
	testenv.Need(t, len(first) >= 2 && len(isolated) >= 2, "a lab with 2 hosts and 2 isolated ones",
		"streamtest lab up --hosts 4 --isolated 2")
	var b strings.Builder
	b.WriteString("avocado:\n  streams:\n")
	for i, h := range []netns.Host{first[0], first[1], isolated[0], isolated[1]} {
		fmt.Fprintf(&b, "    - %d: {type: remote, host: %s, user: %s, key: %q, known_hosts: %q}\n",
			i+1, h.Addr, l.User, l.Key, l.KnownHosts)
	}
	f := filepath.Join(t.TempDir(), "slice.yaml")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}
