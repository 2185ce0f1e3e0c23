package stream

import (
	"context"
	"io"
	"time"
)

// Environment is one execution stream: a disposable execution environment,
// separate from the test process and from every other stream.
//
// The manager serialises Setup, Start, Send and Close for one Environment
// except that Close may be called while a process started by Start is still
// running (to terminate it). Several processes are never started at once on
// one Environment by the manager, but an implementation must not rely on it
// for memory safety.
type Environment interface {
	// Setup creates what the stream needs (a work directory, a connection, a
	// container). It is called once, lazily, before the first Start or Send.
	// It must respect ctx: a cancelled context ends a slow connect.
	Setup(ctx context.Context) error

	// Start starts cmd and returns once the process is running, or, when
	// cmd.Gated is set, once it is ready and parked at a gate that
	// Process.Release opens. The context bounds the start only; use
	// Process.Stop to end the process.
	Start(ctx context.Context, cmd *Command) (Process, error)

	// Send copies the local file or directory (recursively) to remote on the
	// stream. A relative remote path is relative to WorkDir. Missing parent
	// directories are created. File modes are kept.
	Send(ctx context.Context, local, remote string) error

	// Host is the address other streams and the test use to reach this
	// stream, as the user gave it where there is one (a host name from the
	// parameters), else the stream's own address.
	Host() string

	// WorkDir is the stream's private work directory (mode 0700), created by
	// Setup and removed by Close. Blocks run there unless they say otherwise.
	WorkDir() string

	// Close ends every process the stream started (whole trees), removes all
	// that the stream created, and frees the Environment. It is safe to call
	// more than once and before Setup.
	Close() error
}

// Command describes a process to start on a stream. It has the shape of
// exec.Cmd: plain fields whose zero values are documented.
type Command struct {
	// Args is the program and its arguments. Args[0] is looked up in the
	// stream's PATH when it contains no slash. Args must not be empty.
	Args []string

	// Env holds extra "KEY=value" entries added to the stream's own
	// environment (for local streams, the test process's environment).
	Env []string

	// Dir is the working directory; "" means the stream's WorkDir. A relative
	// Dir is relative to WorkDir.
	Dir string

	// Stdin is the process's standard input; nil means an empty input.
	Stdin io.Reader

	// Stdout and Stderr receive the process's output; nil discards it. The
	// implementation copies into them from its own goroutines; it must have
	// finished writing to them when Wait returns.
	Stdout, Stderr io.Writer

	// Gated asks Start to return once the process is fully ready (payload in
	// place, process created) but parked before it runs Args, until
	// Process.Release is called. It is how a synchronized group starts at one
	// instant.
	Gated bool
}

// Process is a running (or, when gated, parked) process on a stream.
type Process interface {
	// Release opens the gate of a gated process. It must return quickly (it
	// is called for every member of a group in a tight loop) and must not
	// wait for the process to confirm. It is an error on a process that was
	// not gated or was already released.
	Release() error

	// Wait waits for the process to end and for its output to be copied, and
	// returns how it ended. A process that ran and exited non-zero, or was
	// killed by a signal, is not an error: see Exit. An error means the
	// outcome could not be learnt (the connection dropped, the container
	// vanished); it wraps the cause. Wait may be called more than once and
	// returns the same result each time.
	Wait() (Exit, error)

	// Stop ends the process's whole tree: first politely (SIGTERM or the
	// type's equivalent), then, if the tree is still there after grace, with
	// SIGKILL. Stop(0) kills at once. It returns once the tree is gone or the
	// attempt failed; it is safe after the process has ended.
	Stop(grace time.Duration) error
}

// Exit is how a process ended.
type Exit struct {
	// Code is the exit status; -1 when the process was killed by a signal.
	Code int
	// Signal names the signal that killed the process ("KILL", "TERM"), or "".
	Signal string
	// Started is when the program began to run as seen on the stream: for a
	// gated process, the instant its gate opened. Ended is when it ended.
	Started, Ended time.Time
}

// Success reports whether the process exited with status 0.
func (e Exit) Success() bool { return e.Code == 0 && e.Signal == "" }

// Config is what a Factory gets to create an Environment.
type Config struct {
	// ID is the stream's id as the test names it: "1", "db".
	ID string
	// Test is the name of the test the stream belongs to (t.Name()), for
	// labels and logs; "" outside a test.
	Test string
	// Type is the canonical type name (never an alias).
	Type string
	// Params holds the stream's parameters, checked against the type's
	// registered Params: every key is known and every value has its kind.
	// Keys the file did not set are absent.
	Params Values
	// Dir is the directory that relative paths in Params are relative to
	// (the directory of the file that defined the stream); "" means the
	// working directory.
	Dir string
	// Logf logs a line in the test's log. It is never nil. Never log a
	// secret (a parameter of kind Secret).
	Logf func(format string, args ...any)
}
