package stream

import "fmt"

// Error is an infrastructure failure of a stream: it could not be set up,
// could not start a block, lost its connection. It names the stream so that
// a test's failure message says where things went wrong. A block that ran
// and failed is not an Error.
type Error struct {
	ID   string // the stream's id: "1", "db"
	Type string // its type: "remote"
	Host string // its host, "" if not known yet
	Op   string // what failed: "set up", "send", "start", "wait", "synchronize", "close"
	Err  error  // the cause
}

func (e *Error) Error() string {
	where := e.Type
	if e.Host != "" {
		where += ", host " + e.Host
	}
	return fmt.Sprintf("stream %s (%s): %s: %v", e.ID, where, e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
