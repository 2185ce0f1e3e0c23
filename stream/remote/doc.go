// Package remote is the execution stream type remote (alias ssh): a host
// reached over SSH with golang.org/x/crypto/ssh. Test writers link it with a
// blank import and define the hosts in the parameters file:
//
//	import _ "github.com/streamtest/streamtest/stream/remote"
//
//	# params.yaml
//	avocado:
//	  streams:
//	    - 1: {type: remote, host: foo.example.com, user: tester, key: keys/id_ed25519}
//	    - 2: {type: ssh, host: db}          # a Host alias of ~/.ssh/config
//
//	s := streamtest.For(t)
//	s.At(1).Run(code.Shell("ping -c 1 " + s.At(2).Host()))
//
// # What a remote stream is
//
// One SSH connection per stream, made when the stream is first used (Setup)
// and closed when the test ends. Each block is one SSH session on it and
// runs as the SSH user, in the stream's private work directory (made with
// mktemp -d, mode 0700, under the host's $TMPDIR or /tmp). Host returns the
// host as the parameters give it, so other streams reach it by the same name.
//
// Parameters: see [Params]. The OpenSSH client configuration (ssh_config,
// ~/.ssh/config by default) is honoured for Host aliases, HostName, User,
// Port, IdentityFile, UserKnownHostsFile and ProxyJump; parameters win over
// it. Host keys are verified against known_hosts; an unknown or changed key
// is refused with its SHA256 fingerprint and the command that trusts it
// ([HostKeyError]). A password (kind Secret) is never logged or reported.
//
// # What the host needs
//
// A POSIX login shell for the user (sh, dash, bash, ksh; not fish or csh),
// mktemp, setsid (util-linux or BusyBox), an SFTP subsystem for Send and for
// blocks with standard input, and bash (optional) for the tightest
// synchronized starts.
//
// # Termination
//
// Closing an SSH channel or connection does not end the remote process
// (OpenSSH sshd), so the remote side guards itself:
//
//   - every block runs under a small sh wrapper that starts the program in a
//     session and process group of its own and watches the SSH channel: when
//     the channel closes (the connection dropped, the test binary was
//     killed) it kills the whole group. Process.Stop sends it TERM, then KILL
//     after the grace, for the whole group;
//   - when a block's main process ends, whatever it left in its process
//     group is killed too: a block ends as a whole;
//   - a guard session per stream holds the work directory; when the
//     connection ends, for whatever reason, it kills every process group the
//     stream's blocks started and removes the work directory.
//
// What is not cleaned up: processes that leave their process group for a
// session of their own (daemons that setsid), and what blocks wrote outside
// the work directory. How soon a host notices a connection that vanished
// without a word (a cut link, a powered-off client) is the server's
// ClientAliveInterval × ClientAliveCountMax; the client side notices within
// two keepalive intervals.
//
// # Limits
//
// A block's standard input is shipped to the host as a file before the block
// starts (the channel's input is the wrapper's control line), so it cannot
// be interactive. Env entries are set through the command line (sshd refuses
// most setenv requests), so they must be NAME=value with a shell variable
// name. A program killed by a signal and one that exits with 128+n look the
// same to the wrapper; both are reported as the signal.
package remote
