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
// An SSH connection, made when the stream is first used (Setup) and closed
// when the last stream on it is closed: streams of the process on the same
// host with the same login settings share connections, max_sessions / 4 of
// them on one (2 by default), each with its own guard session and work
// directory, and no more than 8 handshakes to one address run at once.
// Each block is one SSH session on it and
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
// mktemp, ps and awk (to find a block's whole tree), an SFTP subsystem for
// Send, and bash (optional) for the tightest synchronized starts. The SSH
// server must make each session a process group of its own (OpenSSH does).
//
// # Blocks
//
// Each block runs in an SSH session under a small sh wrapper, evaluated by
// the login shell itself, that uses only built-ins and then execs the
// program in its own place: the session's process group is the block's,
// and the session's exit status or signal is the program's own. The
// wrapper reads the block's environment from the channel before anything
// else (a preamble of entries framed by their number of lines, sent only
// when there is an environment), so no value is ever on a command line; it
// checks the directory and the program (a missing or non-executable
// program, a missing directory are errors of Start), registers the group
// with the stream's guard (one line appended to a file), reports that it
// is ready and, gated, parks until the gate line. The rest of the
// channel's input is the program's: standard input is streamed (a block
// without Stdin reads /dev/null).
//
// Background processes a block started live on after it until the stream is
// closed. Wait returns when the program ends; output its background
// processes still hold open is waited for at most [stream.OutputWait].
//
// # Termination
//
// Closing an SSH channel or connection does not end the remote process
// (OpenSSH sshd), so the host side guards itself: a guard session per
// stream holds the work directory and takes the stream's signals
// (Process.Signal sends it a line; it signals the block's process group
// and every descendant of it, those that made a session of their own
// included). When Close asks, when the connection ends (the test binary
// was killed), or when its watchdog misses the client's heartbeat (a cut
// link, a frozen client), it kills every registered block's tree and
// removes the work directory: after a cut link, within [CutLinkBound] (5 s
// for a keepalive up to 3 s, keepalive + 2 s beyond: both sides give up on
// the same silence).
//
// What is not cleaned up: daemons that detached and were re-parented away
// from the block (setsid, then their parent left), and what blocks wrote
// outside the work directory.
//
// # Limits
//
// Env entries must be NAME=value with a shell variable name, not starting
// with _st_ (the wrapper's own). A test binary frozen for longer than the
// keepalive (at least 3 s; a debugger at a breakpoint) misses its
// heartbeats: the host then kills the stream's processes.
package remote
