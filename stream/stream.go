package stream

import (
	"context"
	"errors"
	"io"
	"path"
	"syscall"
	"time"
)

// Environment is one execution stream: a disposable execution environment,
// separate from the test process and from every other stream.
//
// The whole contract, point by point, is the table in docs/implementers.md;
// package conformance checks it against any implementation. In short:
//
// The manager serialises Setup, Start, Send and Close for one Environment
// except that Close may be called while a process started by Start is still
// running (to terminate it). The manager starts one block at a time on a
// stream, but an implementation must allow several processes at once: the
// conformance suite starts them concurrently.
type Environment interface {
	// Setup creates what the stream needs (a work directory, a connection, a
	// container). It is called once, lazily, before the first Start or Send.
	// It must respect ctx: a cancelled context ends a slow connect. After
	// Close it returns an error that wraps ErrClosed.
	Setup(ctx context.Context) error

	// Start starts cmd and returns once the process runs, or, when cmd.Gated
	// is set, once it is ready and parked at a gate that Process.Release
	// opens. A program that cannot be found or executed, or a directory
	// that does not exist, is an error of Start (no process is left), not
	// an exit status. The context bounds the start only: use Process.Signal
	// or Stop to end the process.
	Start(ctx context.Context, cmd *Command) (Process, error)

	// Send copies the local file or directory (recursively) to remote on the
	// stream, as package sendtree describes: a relative remote is relative
	// to WorkDir, missing parents are made, an existing file is replaced and
	// an existing directory is merged into, permission bits are kept (those
	// of read-only directories too), a symbolic link is kept when it stays
	// inside the tree sent and followed otherwise, so that nothing arrives
	// dangling.
	Send(ctx context.Context, local, remote string) error

	// Host is the address other streams and the test use to reach this
	// stream, as the user gave it where there is one (a host name from the
	// parameters), else the stream's own address. It is never "" after
	// Setup.
	Host() string

	// WorkDir is the stream's private work directory (mode 0700): an
	// absolute path on the stream's own file system, which may not exist on
	// the test's machine. Setup creates it and Close removes it. Blocks run
	// there unless they say otherwise.
	WorkDir() string

	// Close ends every process the stream started, whole trees and every
	// block's background processes included, removes all that the stream
	// created, and frees the Environment. It is safe to call more than once,
	// before Setup, and while processes run: their Wait then returns, as
	// killed by SIGKILL.
	Close() error
}

// ErrClosed is wrapped by the errors of an Environment used after Close.
// Its text does not say "stream": the manager's prefix does.
var ErrClosed = errors.New("closed (the test ended or the stream was terminated)")

// Command describes a process to start on a stream. It has the shape of
// exec.Cmd: plain fields whose zero values are documented.
type Command struct {
	// Args is the program and its arguments. Args[0] is looked up in the
	// stream's PATH when it contains no slash, and is relative to Dir when
	// it does. Args must not be empty.
	Args []string

	// Env holds extra "KEY=value" entries added to the stream's own
	// environment (for local streams, the test process's environment);
	// a later entry of a key wins. Values are secret-safe: no type puts
	// them on a command line that other users of the stream can read.
	Env []string

	// Dir is the working directory; "" means the stream's WorkDir. A relative
	// Dir is relative to WorkDir; an absolute one is a path on the stream.
	Dir string

	// Stdin is the process's standard input, streamed while it runs (the
	// program reads what was written so far before the input ends); nil
	// means an empty input.
	Stdin io.Reader

	// Stdout and Stderr receive the process's output, kept apart; nil
	// discards it. The implementation copies into them from its own
	// goroutines; it must have finished writing to them when Wait returns.
	Stdout, Stderr io.Writer

	// Gated asks Start to return once the process is fully ready (payload in
	// place, program found, process created) but parked before it runs
	// Args, until Process.Release is called. It is how a synchronized group
	// starts at one instant.
	Gated bool
}

// DirIn returns the directory cmd runs in on a stream whose work directory
// is workDir: workDir when Dir is "", Dir when it is absolute, else Dir
// below workDir. Paths are the stream's, with slashes.
func (cmd *Command) DirIn(workDir string) string {
	switch {
	case cmd.Dir == "":
		return workDir
	case path.IsAbs(cmd.Dir):
		return cmd.Dir
	}
	return path.Join(workDir, cmd.Dir)
}

// Process is a running (or, when gated, parked) process on a stream.
//
// Embed an [Ending] to get Done and Wait; implement Release and Signal.
// Stop, the two-stage stop, is the same for every type: see [Stop].
type Process interface {
	// Release opens the gate of a gated process. It must return quickly (it
	// is called for every member of a group in a tight loop) and must not
	// wait for the process to confirm. It is an error on a process that was
	// not gated or was already released.
	Release() error

	// Signal sends sig to the process's whole tree: its process group and,
	// where the type can find them, descendants that made groups of their
	// own. It still reaches the block's remaining processes after the
	// program itself has ended. On a gated process that was not released,
	// it closes the gate instead: the program never runs, and the process
	// ends as killed by sig. Signal does not wait for the effect. A signal
	// to a tree that is gone is not an error.
	Signal(sig syscall.Signal) error

	// Done is closed once the process has ended and Wait's result is known.
	Done() <-chan struct{}

	// Wait waits for the process to end and for its output to be copied, and
	// returns how it ended. A process that ran and exited non-zero, or was
	// killed by a signal, is not an error: see Exit. An error means the
	// outcome could not be learnt (the connection dropped, the container
	// vanished); it wraps the cause. Wait may be called more than once and
	// returns the same result each time.
	//
	// Wait returns when the program ends; output that its background
	// processes still write is waited for at most OutputWait, then the
	// copy stops (a later write of theirs fails with EPIPE or SIGPIPE).
	Wait() (Exit, error)
}

// OutputWait is how long Wait waits, after the program ended, for the
// output of processes it left running (they hold its stdout open).
const OutputWait = 200 * time.Millisecond

// Exit is how a process ended. It is set once, by the type, and read by
// everyone; render it with String, never parse it back.
type Exit struct {
	// Code is the exit status; -1 when the process was killed by a signal.
	Code int
	// Signal is the signal that killed the process, or 0. A type that
	// cannot tell an exit status of 128+n from death by signal n (a shell
	// between the stream and the program does not say) reports signal n.
	Signal syscall.Signal
	// Started is when the program began to run: for a gated process, the
	// instant its gate opened as read on the stream's clock; for any other,
	// the instant Start started it, on the test's clock. It is zero when
	// the program never ran (stopped at its gate).
	Started time.Time
	// Ended is when the process's end was learnt, on the test's clock.
	Ended time.Time
}

// Success reports whether the process exited with status 0.
func (e Exit) Success() bool { return e.Code == 0 && e.Signal == 0 }

// String says how the process ended: "exit status 3", "killed by SIGKILL".
func (e Exit) String() string {
	if e.Signal != 0 {
		return "killed by " + SignalName(e.Signal)
	}
	return "exit status " + itoa(e.Code)
}

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
	// Grace is the time between SIGTERM and SIGKILL when the stream stops
	// its processes in Close (the manager's KillGrace); 0 means
	// DefaultGrace.
	Grace time.Duration
	// Logf logs a line in the test's log. It is never nil when the manager
	// calls the factory; a type must accept nil from other callers. Never
	// log a secret (a parameter of kind Secret).
	Logf func(format string, args ...any)
}

// GraceOrDefault returns c.Grace, or DefaultGrace when it is 0.
func (c Config) GraceOrDefault() time.Duration {
	if c.Grace > 0 {
		return c.Grace
	}
	return DefaultGrace
}

// Log logs through c.Logf, if there is one.
func (c Config) Log(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}
