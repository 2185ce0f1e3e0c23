// Package record is the per-stream record the library keeps for reports:
// for every block a test ran on a stream, which stream (id, type, host), what
// block, when it started and ended, how it ended. It is for the streamtest
// command and other report writers (the implementer's side); test writers do
// not need it.
//
// When the environment variable STREAMTEST_RECORD_DIR names a directory, the
// library appends one JSON line per finished block to
// DIR/records-<pid>.jsonl and writes the block's standard output and error to
// files under DIR/outputs/. Without it nothing is written.
package record

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// EnvDir is the environment variable that turns recording on.
const EnvDir = "STREAMTEST_RECORD_DIR"

// Block is the record of one block run on one stream.
type Block struct {
	Test    string `json:"test"`    // the test's full name (t.Name())
	Dir     string `json:"dir"`     // the test process's working directory: its package's directory under go test
	Stream  string `json:"stream"`  // stream id
	Type    string `json:"type"`    // stream type
	Host    string `json:"host"`    // stream host
	Seq     int    `json:"seq"`     // 1 for the stream's first block, 2 for the next...
	Kind    string `json:"kind"`    // block kind: shell, exec, python...
	Summary string `json:"summary"` // short payload summary
	// Text is the block's whole payload (the shell command, the program
	// and its arguments, the Python source) when Summary cuts it; "" when
	// Summary is all of it. See FullText.
	Text string `json:"text,omitempty"`

	Started  time.Time  `json:"started"`            // when Run was called (set-up included)
	Began    time.Time  `json:"began,omitzero"`     // when the program began to run on the stream
	Released *time.Time `json:"released,omitempty"` // when a synchronized group's gate opened
	Group    string     `json:"group,omitempty"`    // synchronized group: the member ids, "3,4"
	Ended    time.Time  `json:"ended"`

	ExitStatus int    `json:"exit_status"`
	Signal     string `json:"signal,omitempty"`
	Success    bool   `json:"success"`
	Error      string `json:"error,omitempty"` // infrastructure error, if any
	// Stopped says why the library stopped the block, "" if it ended by
	// itself: StopTerminated, StopTestEnded, StopTimedOut, StopKilled,
	// StopSignalled.
	Stopped Stop `json:"stopped,omitempty"`
	// StopAsked is when the library asked the block to stop (Ended is
	// when it did); zero when Stopped is "".
	StopAsked time.Time `json:"stop_asked,omitzero"`
	// Timeout is the run's Timeout option when Stopped is StopTimedOut.
	Timeout time.Duration `json:"timeout,omitempty"`

	Stdout string `json:"stdout,omitempty"` // file with the standard output, relative to the record dir
	Stderr string `json:"stderr,omitempty"` // likewise for standard error
}

// Stop is why the library stopped a block.
type Stop string

// The reasons to stop a block. All but a timeout are the test's own doing,
// not a failure of the block; a timeout is a failure.
const (
	StopTerminated Stop = "terminated" // the test called Terminate
	StopTestEnded  Stop = "test ended" // the test ended while the block ran
	StopTimedOut   Stop = "timed out"  // the run's Timeout expired
	StopKilled     Stop = "killed"     // the test called Kill (or sent SIGKILL)
	StopSignalled  Stop = "signalled"  // the block died of a signal the test sent (Signal names it)
)

// ByTest reports whether the test stopped the block on purpose (Terminate,
// Kill, Signal, or its end) rather than the block failing.
func (s Stop) ByTest() bool {
	return s == StopTerminated || s == StopTestEnded || s == StopKilled || s == StopSignalled
}

// FullText is the block's whole payload: Text, or Summary when Summary is
// all of it.
func (b Block) FullText() string {
	if b.Text != "" {
		return b.Text
	}
	return b.Summary
}

// Writer appends records to a record directory. It is safe for concurrent use.
type Writer struct {
	dir string
	mu  sync.Mutex
	f   *os.File
}

var (
	defaultOnce sync.Once
	defaultW    *Writer
)

// Default returns the writer for $STREAMTEST_RECORD_DIR, or nil when
// recording is off.
func Default() *Writer {
	defaultOnce.Do(func() {
		if dir := os.Getenv(EnvDir); dir != "" {
			defaultW = &Writer{dir: dir}
		}
	})
	return defaultW
}

// NewWriter returns a writer for dir.
func NewWriter(dir string) *Writer { return &Writer{dir: dir} }

// Write stores b, and its output when stdout or stderr is not empty. A nil
// Writer writes nothing.
func (w *Writer) Write(b Block, stdout, stderr []byte) error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	base := filepath.Join("outputs", safeName(b.Test), fmt.Sprintf("%s-%d", safeName(b.Stream), b.Seq))
	if err := os.MkdirAll(filepath.Join(w.dir, filepath.Dir(base)), 0o755); err != nil {
		return err
	}
	for _, o := range []struct {
		data []byte
		ext  string
		ref  *string
	}{{stdout, ".stdout", &b.Stdout}, {stderr, ".stderr", &b.Stderr}} {
		if len(o.data) == 0 {
			continue
		}
		if err := os.WriteFile(filepath.Join(w.dir, base+o.ext), o.data, 0o644); err != nil {
			return err
		}
		*o.ref = base + o.ext
	}
	if w.f == nil {
		f, err := os.OpenFile(filepath.Join(w.dir, fmt.Sprintf("records-%d.jsonl", os.Getpid())), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		w.f = f
	}
	line, err := json.Marshal(b)
	if err != nil {
		return err
	}
	_, err = w.f.Write(append(line, '\n'))
	return err
}

// Read reads every record in dir, in no particular order across processes.
func Read(dir string) ([]Block, error) {
	files, err := filepath.Glob(filepath.Join(dir, "records-*.jsonl"))
	if err != nil {
		return nil, err
	}
	var out []Block
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var b Block
			if err := json.Unmarshal([]byte(line), &b); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, i+1, err)
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// safeName turns a test name or stream id into one path element per "/".
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == '/':
			return r
		}
		return '_'
	}, s)
}
