package container

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// control is the block's stderr writer: it passes the program's stderr
// through and takes out the wrapper's control lines: those before the
// program's first byte ("ready", "go PID", or why the program could not
// start), and the end marker after it, which the program's own output may
// precede on the same line.
type control struct {
	out    io.Writer
	marker []byte // "\x1e" + token + " "; nil once seen
	event  func(word, arg string)

	head bool   // still reading the control lines before the program
	buf  []byte // bytes held back: a partial control line or marker

	mu   sync.Mutex
	fail string // "nodir", "noprog" or "noexec"
}

// newControl returns the stderr writer of a process whose end marker is
// token; event gets each control line: ("ready", ""), ("go", "PID"), one of
// ("nodir" | "noprog" | "noexec", ""), ("end", "STATUS").
func newControl(out io.Writer, token string, event func(word, arg string)) *control {
	if out == nil {
		out = io.Discard
	}
	return &control{out: out, marker: []byte("\x1e" + token + " "), event: event, head: true}
}

// failure returns why the wrapper did not start the program, if it said.
func (c *control) failure() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fail
}

func (c *control) Write(b []byte) (int, error) {
	c.buf = append(c.buf, b...)
	if c.head {
		c.readHead()
		if c.head {
			return len(b), nil
		}
	}
	return len(b), c.pass()
}

// readHead takes the leading control lines out of buf.
func (c *control) readHead() {
	for c.head && len(c.buf) > 0 {
		if c.buf[0] != 0x1e {
			// Not a control line: the wrapper's own complaint. Pass it on.
			c.head = false
			return
		}
		i := bytes.IndexByte(c.buf, '\n')
		if i < 0 {
			return
		}
		word, arg, _ := strings.Cut(string(c.buf[1:i]), " ")
		c.buf = c.buf[i+1:]
		switch word {
		case "go":
			c.head = false
		case "nodir", "noprog", "noexec":
			c.mu.Lock()
			c.fail = word
			c.mu.Unlock()
			c.head = false
		}
		c.event(word, arg)
	}
}

// pass writes buf out, less the end marker, holding back what may be the
// start of the marker.
func (c *control) pass() error {
	if c.marker == nil {
		return c.write(len(c.buf))
	}
	i := bytes.Index(c.buf, c.marker)
	if i < 0 {
		return c.write(len(c.buf) - partialSuffix(c.buf, c.marker))
	}
	j := bytes.IndexByte(c.buf[i:], '\n')
	if j < 0 {
		return c.write(i) // the marker's line is not whole yet
	}
	status := string(c.buf[i+len(c.marker) : i+j])
	if err := c.write(i); err != nil {
		return err
	}
	c.buf = c.buf[j+1:]
	c.marker = nil
	c.event("end", status)
	return c.write(len(c.buf))
}

// write writes the first n bytes of buf out and drops them.
func (c *control) write(n int) error {
	if n <= 0 {
		return nil
	}
	_, err := c.out.Write(c.buf[:n])
	c.buf = c.buf[n:]
	return err
}

// flush passes on what is held back, at the end of the output.
func (c *control) flush() {
	if len(c.buf) > 0 {
		_, _ = c.out.Write(c.buf)
		c.buf = nil
	}
}

// partialSuffix returns the length of the longest end of b that is a
// proper start of m.
func partialSuffix(b, m []byte) int {
	n := min(len(b), len(m)-1)
	for ; n > 0; n-- {
		if bytes.HasSuffix(b, m[:n]) {
			return n
		}
	}
	return 0
}

// relay passes what is written to it on to w from a goroutine of its own,
// so that a reader slow to take one output (a pipe the test reads later)
// holds up neither the other output nor the control lines, which share
// one connection with it. What w does not take yet is held in memory.
type relay struct {
	w    io.Writer
	mu   sync.Mutex
	more *sync.Cond
	buf  []byte
	shut bool
	done chan struct{}
}

func newRelay(w io.Writer) *relay {
	r := &relay{w: w, done: make(chan struct{})}
	r.more = sync.NewCond(&r.mu)
	go r.run()
	return r
}

func (r *relay) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.buf = append(r.buf, b...)
	r.mu.Unlock()
	r.more.Signal()
	return len(b), nil
}

func (r *relay) run() {
	defer close(r.done)
	failed := false
	for {
		r.mu.Lock()
		for len(r.buf) == 0 && !r.shut {
			r.more.Wait()
		}
		chunk := r.buf
		r.buf = nil
		r.mu.Unlock()
		if len(chunk) == 0 {
			return // shut, and everything passed on
		}
		if !failed {
			_, err := r.w.Write(chunk)
			failed = err != nil // w gave up: drop the rest, as a closed pipe would
		}
	}
}

// close waits until everything written was passed on.
func (r *relay) close() {
	r.mu.Lock()
	r.shut = true
	r.mu.Unlock()
	r.more.Signal()
	<-r.done
}
