package conformance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/streamtest/streamtest/stream"
)

// Close, use after Close, and the error contract.

func (s *suite) closeKillsTrees(t *testing.T) {
	a := s.fresh(t)
	l := strconv.Itoa(s.long)
	// A block that ended and left a process in its group.
	out1 := &output{}
	p1 := s.start(t, a, &stream.Command{Args: []string{"/bin/sh", "-c", "sleep " + l + " </dev/null >/dev/null 2>&1 & echo pids $!"}, Stdout: out1})
	wantExit(t, "the first block", s.wait(t, p1, "the first block"), 0, 0)
	pids := s.awaitPIDs(t, out1, 1, "the first block")
	// A running block that ignores SIGTERM, with a child in its group and
	// one in a session of its own.
	out2 := &output{}
	p2 := s.start(t, a, &stream.Command{Args: s.tree(`trap "" TERM; `), Stdout: out2})
	was := s.treeRunning(t, a, out2, "the running block")
	// The finished block's process should live until Close (that is
	// background/outlives-block); if it does not, Close is checked on the
	// rest.
	if seen := s.procs(t, a, pids); alive(seen, pids[0], seen[pids[0]]) {
		was[pids[0]] = seen[pids[0]]
	} else {
		t.Errorf("the background process %d of a finished block is not running before Close (%v): it should live until the stream closes", pids[0], seen[pids[0]])
	}

	if err := s.close(t, a); err != nil {
		t.Errorf("Close: %v", err)
	}
	x, err := s.waitErr(t, p2, "the block running at Close")
	if err != nil {
		t.Errorf("Wait for the block running at Close: %v, want no error", err)
	}
	wantExit(t, "a block that ignores SIGTERM, running at Close", x, -1, syscall.SIGKILL)
	if !s.opts.SameHost {
		return
	}
	b := s.fresh(t)
	s.awaitGone(t, b, was, "the closed stream's trees, seen from a second stream")
}

func (s *suite) closeRemovesWorkDir(t *testing.T) {
	if !s.opts.SameHost {
		t.Skip("no second stream can see the closed stream's files (Options.SameHost is false)")
	}
	a := s.fresh(t)
	w := a.WorkDir()
	l := localDir(t)
	layout{
		{name: "ro/", perm: 0o555},
		{name: "ro/file", perm: 0o444, data: "read-only\n"},
	}.make(t, l)
	s.mustSend(t, a, filepath.Join(l, "ro"), "sent")
	s.sh(t, a, "mkdir -p made/deeper && echo x > made/deeper/file")
	if err := s.close(t, a); err != nil {
		t.Errorf("Close: %v", err)
	}
	b := s.fresh(t)
	if got := s.ls(t, b, w)[w]; got.Type != 0 {
		t.Errorf("the closed stream's WorkDir %s is still there (%s), seen from a second stream", w, got)
	}
}

func (s *suite) closeDetached(t *testing.T) {
	switch {
	case !s.opts.KillsDetached:
		t.Skip("the type does not promise to kill detached daemons (Options.KillsDetached is false)")
	case !s.opts.SameHost:
		t.Skip("no second stream can see the closed stream's processes (Options.SameHost is false)")
	}
	a := s.fresh(t)
	// The daemon's parent leaves at once: the daemon is re-parented away
	// from the block, in a session and group of its own.
	daemon := "sleep " + strconv.Itoa(s.long) + " </dev/null >/dev/null 2>&1 & echo pids $!"
	r := s.run(t, a, &stream.Command{Args: []string{"/bin/sh", "-c", `echo leader $$; setsid /bin/sh -c "$1" </dev/null`, "sh", daemon}})
	wantExit(t, "the block", r.exit, 0, 0)
	out := &output{}
	out.Write([]byte(r.stdout))
	pids := s.awaitPIDs(t, out, 1, "the block")
	var leader int
	for _, line := range strings.Split(r.stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "leader "); ok {
			leader, _ = strconv.Atoi(rest)
		}
	}
	was := s.running(t, a, pids, "the daemon, before Close")
	if d := was[pids[0]]; d.Session == leader || d.Pgrp == leader || d.PPid == leader {
		t.Fatalf("the daemon did not detach from the block (leader %d): %v", leader, d)
	}
	if err := s.close(t, a); err != nil {
		t.Errorf("Close: %v", err)
	}
	b := s.fresh(t)
	s.awaitGone(t, b, was, "the closed stream's detached daemon, seen from a second stream")
}

func (s *suite) closeIdempotent(t *testing.T) {
	a := s.fresh(t)
	s.sh(t, a, "true")
	if err := s.close(t, a); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.close(t, a); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

func (s *suite) closeBeforeSetup(t *testing.T) {
	a := s.openEnv(t)
	if err := s.close(t, a); err != nil {
		t.Errorf("Close before Setup: %v", err)
	}
	if err := s.close(t, a); err != nil {
		t.Errorf("a second Close before Setup: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var err error
	if !s.bounded(func() { err = a.Setup(ctx) }) {
		t.Fatalf("Setup after Close did not return within %v", s.timeout)
	}
	s.note(t, "Setup", err)
	if !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Setup after Close returned %v, want an error wrapping stream.ErrClosed", err)
	}
}

func (s *suite) closedErrors(t *testing.T) {
	a := s.fresh(t)
	if err := s.close(t, a); err != nil {
		t.Errorf("Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	want := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, stream.ErrClosed) {
			t.Errorf("%s after Close returned %v, want an error wrapping stream.ErrClosed", op, err)
		}
	}
	var err error
	if !s.bounded(func() { err = a.Setup(ctx) }) {
		t.Fatalf("Setup after Close did not return within %v", s.timeout)
	}
	s.note(t, "Setup", err)
	want("Setup", err)
	for _, gated := range []bool{false, true} {
		p, err := s.tryStart(t, a, &stream.Command{Args: []string{"true"}, Gated: gated})
		if p != nil {
			s.wait(t, p, "a process started after Close")
		}
		want("Start (Gated "+strconv.FormatBool(gated)+")", err)
	}
	// The destination is absolute, in a directory of the test's: a type
	// that wrote there anyway (with no WorkDir left) writes nowhere else.
	dir := t.TempDir()
	f := filepath.Join(dir, "file")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	want("Send", s.send(t, a, f, filepath.Join(dir, "sent")))
}

// managerPrefix is what the manager (package streamtest) puts before a
// type's errors: "stream ID (TYPE, host HOST): ". A type never does.
var managerPrefix = regexp.MustCompile(`\bstream [^\s():]+ \(`)

func (s *suite) errorsNoPrefix(t *testing.T) {
	// Errors of every kind, should the other subtests not have run.
	s.tryStart(t, s.env, &stream.Command{Args: []string{"conformance-no-such-program"}})
	s.tryStart(t, s.env, &stream.Command{Args: []string{"true"}, Dir: "conformance-no-such-dir"})
	s.send(t, s.env, filepath.Join(t.TempDir(), "conformance-missing"), "x")
	if p, err := s.tryStart(t, s.env, &stream.Command{Args: []string{"true"}}); err == nil {
		s.note(t, "Release", p.Release())
		s.wait(t, p, "true")
	}
	a := s.fresh(t)
	s.close(t, a)
	s.tryStart(t, a, &stream.Command{Args: []string{"true"}})

	s.mu.Lock()
	errs := append([]typeError(nil), s.errs...)
	s.mu.Unlock()
	if len(errs) == 0 {
		t.Fatal("the type returned no error at all: nothing to check")
	}
	for _, te := range errs {
		var se *stream.Error
		if errors.As(te.err, &se) {
			t.Errorf("%s: the type returned a *stream.Error (%v): it returns causes, and the manager wraps them", te.where, te.err)
		} else if managerPrefix.MatchString(te.err.Error()) {
			t.Errorf("%s: the error %q holds the manager's prefix \"stream ID (...\": the type returns causes only", te.where, te.err)
		}
		if te.err.Error() == "" {
			t.Errorf("%s: an error with no message", te.where)
		}
	}
	t.Logf("checked %d errors of the type", len(errs))
}
