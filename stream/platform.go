package stream

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Platformer is the optional interface of an Environment that can say
// which operating system and processor architecture its processes run on,
// as Go names them (runtime.GOOS and runtime.GOARCH values: "linux",
// "amd64", "arm64"). Blocks that ship a program (code.Program) use it to
// refuse, before anything is sent, a binary the stream cannot run.
//
// Platform may be slow the first time (a remote type asks the host) and
// should keep the answer: it does not change while the Environment lives.
// An error means the platform could not be learnt; the caller then goes
// on without it. It is called after Setup.
type Platformer interface {
	Platform(ctx context.Context) (goos, goarch string, err error)
}

// UnamePlatform turns what `uname -s` and `uname -m` print ("Linux",
// "x86_64") into Go's names ("linux", "amd64"). A machine it does not know
// is returned as uname prints it, lower case, and ok is false.
func UnamePlatform(sysname, machine string) (goos, goarch string, ok bool) {
	goos = strings.ToLower(strings.TrimSpace(sysname))
	m := strings.TrimSpace(machine)
	switch m {
	case "x86_64", "amd64":
		return goos, "amd64", true
	case "i386", "i486", "i586", "i686", "i86pc":
		return goos, "386", true
	case "aarch64", "arm64":
		return goos, "arm64", true
	case "riscv64":
		return goos, "riscv64", true
	case "ppc64le":
		return goos, "ppc64le", true
	case "ppc64":
		return goos, "ppc64", true
	case "s390x":
		return goos, "s390x", true
	case "loongarch64":
		return goos, "loong64", true
	case "mips":
		return goos, "mips", true
	case "mips64":
		return goos, "mips64", true
	}
	if strings.HasPrefix(m, "armv") || m == "arm" {
		return goos, "arm", true
	}
	return goos, strings.ToLower(m), false
}

// MachinePlatform is the platform of this machine's kernel, as uname
// says: what a stream that runs its processes here (local, sandbox)
// returns from Platform.
func MachinePlatform() (goos, goarch string, err error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", "", fmt.Errorf("uname: %w", err)
	}
	goos, goarch, _ = UnamePlatform(unix.ByteSliceToString(u.Sysname[:]), unix.ByteSliceToString(u.Machine[:]))
	return goos, goarch, nil
}
