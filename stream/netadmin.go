package stream

import "context"

// NetAdmin is the optional interface of an Environment whose network the
// test can fault: a stream with a network namespace of its own (a host, a
// container), where kernel rules (iptables, tc) change what the stream can
// send and receive. Package netfault writes the rules; the manager's
// Partition, Isolate and Degrade call NetAdmin on every stream they change.
//
// NetAdmin runs script, a POSIX sh script, as root in the stream's network
// namespace (a remote host through the stream's net_admin command, sudo -n
// by default; a container from a helper container that shares its network
// namespace with CAP_NET_ADMIN) and returns its standard output. It
// remembers undo, a script that removes every rule the stream's scripts
// made, replacing the undo of an earlier call ("" forgets it): the type runs
// the latest undo when the stream closes and, when the test binary dies,
// from its guard (a remote host's guard runs it before it removes the work
// directory; a container's network namespace goes with the container).
//
// A script that exits non-zero is an error that quotes its standard error.
// An error that wraps errors.ErrUnsupported says the stream can never be
// faulted (a local stream shares the test machine's network); a
// *NetAdminError says what is missing (the tool, the privilege).
type NetAdmin interface {
	NetAdmin(ctx context.Context, script, undo string) (stdout []byte, err error)
}

// NetAdminError is the error of a stream that could be faulted but lacks
// what it takes: Missing names the tool or privilege ("iptables", "root
// through `sudo -n`"), Fix says how to get it.
type NetAdminError struct {
	Missing string
	Fix     string
	Err     error // the cause, when there is one
}

func (e *NetAdminError) Error() string {
	s := "cannot change the stream's network rules: " + e.Missing + " is missing"
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	if e.Fix != "" {
		s += "; to enable: " + e.Fix
	}
	return s
}

func (e *NetAdminError) Unwrap() error { return e.Err }
