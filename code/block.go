package code

import (
	"context"
	"io"

	"github.com/streamtest/streamtest/stream"
)

// Block is a block of code: a sequence of executable statements that runs
// from start to finish on a stream and reports its outcome.
//
// A Block value is a description; it holds no per-run state, so one value
// may run on many streams at once (a group's Run does that).
type Block interface {
	// Kind names the block kind for reports: "shell", "exec", "python".
	Kind() string
	// String is a short, single-line summary of the payload for reports and
	// failure messages. It never contains a secret.
	String() string
	// SendSelf ships the block's payload and assets to the stream through
	// t.Send and returns the plan to run it. It is the RFC's send_self.
	SendSelf(ctx context.Context, t Target) (*Plan, error)
}

// Texter is implemented by blocks whose String cuts their payload short:
// Text is all of it (the whole shell command, the program and its
// arguments, the Python source), for reports that show the full text on
// demand. Like String, it holds what the test wrote, not the parameters a
// block ships by other means.
type Texter interface {
	Text() string
}

// Target is what a block sees of the stream it is about to run on. The
// manager's Target is also a SendOnce (what was sent to the stream's
// environment) and a stream.Platformer (the stream's platform, where its
// type says it); a block asks with a type assertion and does without.
type Target interface {
	// ID and Type are the stream's id and canonical type name.
	ID() string
	Type() string
	// WorkDir is the stream's private work directory, as a path on the stream.
	WorkDir() string
	// Send copies a local file or directory to the stream; a relative remote
	// path is relative to WorkDir.
	Send(ctx context.Context, local, remote string) error
}

// Plan says what to execute for one run of a block and how to read its
// outcome.
type Plan struct {
	Args  []string  // program and arguments, as stream.Command.Args
	Env   []string  // extra "KEY=value" entries
	Dir   string    // working directory; "" is the stream's WorkDir
	Stdin io.Reader // nil is empty input

	// Success decides the block's outcome; nil means exit status 0.
	Success func(Result) bool
	// Output adds the block's own keys to the stream's output; nil adds none.
	// The keys stdout, stderr, exit_status, duration, started and ended are
	// the stream's and cannot be replaced.
	Output func(Result) map[string]any
}

// Result is what a block's process left behind.
type Result struct {
	Exit           stream.Exit
	Stdout, Stderr []byte
}
