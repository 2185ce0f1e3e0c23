package elfdeps

import (
	"debug/elf"
	"strings"
)

// efARMABIFloatHard is e_flags' EF_ARM_ABI_FLOAT_HARD: an ARM program of
// the hard-float ABI (Debian's armhf).
const efARMABIFloatHard = 0x400

// arch is what this package knows of a machine: its name as uname -m
// gives it, Go's name, and Debian's multiarch triplet.
type arch struct{ uname, goarch, triplet string }

func (o *Object) arch() arch {
	is64 := o.Class == elf.ELFCLASS64
	le := o.Data == elf.ELFDATA2LSB
	switch o.Machine {
	case elf.EM_X86_64:
		if is64 {
			return arch{"x86_64", "amd64", "x86_64-linux-gnu"}
		}
		return arch{"x86_64 (x32 ABI)", "", "x86_64-linux-gnux32"}
	case elf.EM_386:
		return arch{"i386", "386", "i386-linux-gnu"}
	case elf.EM_AARCH64:
		if le {
			return arch{"aarch64", "arm64", "aarch64-linux-gnu"}
		}
		return arch{"aarch64_be", "", "aarch64_be-linux-gnu"}
	case elf.EM_ARM:
		if o.Flags&efARMABIFloatHard != 0 {
			return arch{"arm", "arm", "arm-linux-gnueabihf"}
		}
		return arch{"arm", "arm", "arm-linux-gnueabi"}
	case elf.EM_RISCV:
		if is64 {
			return arch{"riscv64", "riscv64", "riscv64-linux-gnu"}
		}
		return arch{"riscv32", "", "riscv32-linux-gnu"}
	case elf.EM_PPC64:
		if le {
			return arch{"ppc64le", "ppc64le", "powerpc64le-linux-gnu"}
		}
		return arch{"ppc64", "ppc64", "powerpc64-linux-gnu"}
	case elf.EM_PPC:
		return arch{"ppc", "", "powerpc-linux-gnu"}
	case elf.EM_S390:
		if is64 {
			return arch{"s390x", "s390x", "s390x-linux-gnu"}
		}
		return arch{"s390", "", "s390-linux-gnu"}
	case elf.EM_MIPS:
		switch {
		case is64 && le:
			return arch{"mips64el", "mips64le", "mips64el-linux-gnuabi64"}
		case is64:
			return arch{"mips64", "mips64", "mips64-linux-gnuabi64"}
		case le:
			return arch{"mipsel", "mipsle", "mipsel-linux-gnu"}
		}
		return arch{"mips", "mips", "mips-linux-gnu"}
	case elf.EM_LOONGARCH:
		return arch{"loongarch64", "loong64", "loongarch64-linux-gnu"}
	case elf.EM_SPARCV9:
		return arch{"sparc64", "", "sparc64-linux-gnu"}
	}
	return arch{uname: strings.ToLower(strings.TrimPrefix(o.Machine.String(), "EM_"))}
}

// Arch names the object's machine as `uname -m` names it: "x86_64",
// "aarch64", "i386", "riscv64".
func (o *Object) Arch() string { return o.arch().uname }

// GOARCH is the object's machine as Go names it (runtime.GOARCH): "amd64",
// "arm64"; "" for one Go does not run on (x32, 32-bit PowerPC).
func (o *Object) GOARCH() string { return o.arch().goarch }

// Multiarch is the object's Debian multiarch triplet, the name of its
// library directories: "x86_64-linux-gnu", "aarch64-linux-gnu"; "" for a
// machine this package does not know.
func (o *Object) Multiarch() string { return o.arch().triplet }

// Platform is what the loader expands $PLATFORM to for the object's
// machine (the kernel's AT_PLATFORM): "x86_64", "i686", "aarch64".
func (o *Object) Platform() string {
	if o.Machine == elf.EM_386 {
		return "i686"
	}
	return o.arch().uname
}

// Linux reports whether the object is for Linux: its OSABI says Linux
// (ELFOSABI_LINUX, "GNU") or nothing (ELFOSABI_NONE, System V, which
// Linux programs use as a rule).
func (o *Object) Linux() bool {
	return o.OSABI == elf.ELFOSABI_NONE || o.OSABI == elf.ELFOSABI_LINUX
}

// OS names the operating system the OSABI says ("Linux" when it says
// Linux or nothing): "FreeBSD", "Solaris".
func (o *Object) OS() string {
	if o.Linux() {
		return "Linux"
	}
	name := strings.TrimPrefix(o.OSABI.String(), "ELFOSABI_")
	switch name {
	case "FREEBSD":
		return "FreeBSD"
	case "NETBSD":
		return "NetBSD"
	case "OPENBSD":
		return "OpenBSD"
	case "SOLARIS":
		return "Solaris"
	}
	return name
}

// RunsOn reports whether a Linux kernel of the machine goarch runs the
// object: goos is "linux" and the object is a Linux ELF of that machine,
// or a 386 one on amd64 (whose kernels run 32-bit programs as a rule).
func (o *Object) RunsOn(goos, goarch string) bool {
	if goos != "linux" || !o.Linux() {
		return false
	}
	g := o.GOARCH()
	return g != "" && (g == goarch || g == "386" && goarch == "amd64")
}
