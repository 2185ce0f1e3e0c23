// Package sshdconf writes the OpenSSH server configuration of a lab host,
// shared by the lab kinds (network namespaces, Docker containers), so that
// every lab host behaves the same to the remote stream type.
package sshdconf

import (
	"fmt"
	"strings"
)

// Options are what differs between lab hosts.
type Options struct {
	Comment       string // first line, after "# "
	ListenAddress string // "" listens on every address
	HostKey       string // path of the host's private key
	PidFile       string
	User          string // the only user allowed in
	Password      bool   // allow password logins (fault tests use them)
	Verbose       bool   // LogLevel VERBOSE
}

// Config returns the sshd_config text.
//
// Logins are by key (and password when asked) for User only; no PAM, no DNS,
// no motd, so that a login costs the same every time. MaxSessions and
// MaxStartups are raised for streams that run many sessions on one
// connection and tests that connect many streams at once. ClientAlive*: a
// connection whose client vanished without a word (link cut, machine gone) is
// closed after about 6 s, and with it the remote streams' guards.
func Config(o Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", o.Comment)
	if o.ListenAddress != "" {
		fmt.Fprintf(&b, "ListenAddress %s\n", o.ListenAddress)
	}
	fmt.Fprintf(&b, "Port 22\nHostKey %s\nPidFile %s\nAllowUsers %s\n", o.HostKey, o.PidFile, o.User)
	b.WriteString("AuthorizedKeysFile .ssh/authorized_keys\nPubkeyAuthentication yes\n")
	fmt.Fprintf(&b, "PasswordAuthentication %s\n", yesNo(o.Password))
	b.WriteString(`KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
StrictModes yes
MaxSessions 256
MaxStartups 100:30:200
LoginGraceTime 20
ClientAliveInterval 2
ClientAliveCountMax 3
`)
	if o.Verbose {
		b.WriteString("LogLevel VERBOSE\n")
	}
	b.WriteString("Subsystem sftp internal-sftp\n")
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
