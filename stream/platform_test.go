package stream_test

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/streamtest/streamtest/stream"
)

func TestUnamePlatform(t *testing.T) {
	cases := []struct {
		sys, machine, goos, goarch string
		ok                         bool
	}{
		{"Linux", "x86_64", "linux", "amd64", true},
		{"Linux", "aarch64", "linux", "arm64", true},
		{"Darwin", "arm64", "darwin", "arm64", true},
		{"Linux", "i686", "linux", "386", true},
		{"Linux", "armv7l", "linux", "arm", true},
		{"Linux", "riscv64\n", "linux", "riscv64", true},
		{"FreeBSD", "amd64", "freebsd", "amd64", true},
		{"Linux", "SPARC64", "linux", "sparc64", false},
	}
	for _, c := range cases {
		goos, goarch, ok := stream.UnamePlatform(c.sys, c.machine)
		if goos != c.goos || goarch != c.goarch || ok != c.ok {
			t.Errorf("UnamePlatform(%q, %q) = %q, %q, %v; want %q, %q, %v", c.sys, c.machine, goos, goarch, ok, c.goos, c.goarch, c.ok)
		}
	}
}

// TestMachinePlatform: this machine's platform is what uname says.
func TestMachinePlatform(t *testing.T) {
	out, err := exec.Command("uname", "-sm").Output()
	if err != nil {
		t.Fatalf("uname -sm: %v", err)
	}
	f := strings.Fields(string(out))
	wantOS, wantArch, _ := stream.UnamePlatform(f[0], f[1])
	goos, goarch, err := stream.MachinePlatform()
	if err != nil || goos != wantOS || goarch != wantArch {
		t.Errorf("MachinePlatform() = %q, %q, %v; uname -sm says %q (%s/%s)", goos, goarch, err, out, wantOS, wantArch)
	}
	if goos != runtime.GOOS {
		t.Errorf("MachinePlatform's system %q, the test binary runs on %q", goos, runtime.GOOS)
	}
}
