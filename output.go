package streamtest

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Output is what a block left: a map keyed by name, a rendering of the
// run's Outcome and its output (read the Outcome for typed values). Every
// run has
//
//	stdout       string         the standard output
//	stderr       string         the standard error
//	exit_status  int            the exit status (-1 if killed by a signal or never started)
//	duration     time.Duration  the run's own: Outcome.Duration
//	started      time.Time      when Run was called
//	began        time.Time      when the program began to run on the stream
//	ended        time.Time      when it ended
//
// and, where they apply: signal (string, the name without SIG: "KILL"),
// released (time.Time, when a synchronized group's gate opened), timed_out
// (true), stopped (string: Outcome.StopMessage), error (string: the
// infrastructure failure), stdout_dropped and stderr_dropped (int: bytes
// past the 64 MiB kept of each). Blocks add their own keys.
type Output map[string]any

// Stdout returns the "stdout" key.
func (o Output) Stdout() string { s, _ := o["stdout"].(string); return s }

// Stderr returns the "stderr" key.
func (o Output) Stderr() string { s, _ := o["stderr"].(string); return s }

// ExitStatus returns the "exit_status" key, or -1.
func (o Output) ExitStatus() int {
	if c, ok := o["exit_status"].(int); ok {
		return c
	}
	return -1
}

// Duration returns the "duration" key.
func (o Output) Duration() time.Duration { d, _ := o["duration"].(time.Duration); return d }

// Began returns the "began" key: when the program began to run.
func (o Output) Began() time.Time { t, _ := o["began"].(time.Time); return t }

// maxOutput is how much of each output stream a run keeps in memory.
const maxOutput = 64 << 20

// buffer is a concurrency-safe, capped output buffer.
type buffer struct {
	mu      sync.Mutex
	b       []byte
	dropped int
	grew    chan struct{} // closed by the next Write: see changed
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := maxOutput - len(b.b)
	if room >= len(p) {
		b.b = append(b.b, p...)
	} else {
		if room > 0 {
			b.b = append(b.b, p[:room]...)
		}
		b.dropped += len(p) - max(room, 0)
	}
	if b.grew != nil {
		close(b.grew)
		b.grew = nil
	}
	return len(p), nil
}

// ReadFrom copies r into b with a pooled chunk: os/exec copies a process's
// output with io.Copy, which would otherwise allocate 32 KiB per stream per
// run.
func (b *buffer) ReadFrom(r io.Reader) (int64, error) {
	chunk := chunks.Get().(*[]byte)
	defer chunks.Put(chunk)
	var n int64
	for {
		m, err := r.Read(*chunk)
		if m > 0 {
			b.Write((*chunk)[:m])
			n += int64(m)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

var chunks = sync.Pool{New: func() any { c := make([]byte, 32<<10); return &c }}

func (b *buffer) bytes() ([]byte, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.b...), b.dropped
}

func (b *buffer) String() string {
	data, _ := b.bytes()
	return string(data)
}

func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return d.String()
}
