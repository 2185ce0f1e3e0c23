package conformance

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// netAdminChecks are the subtests of the optional stream.NetAdmin, run
// when Options.NetAdmin is set and the type implements it.
func (s *suite) netAdminChecks() []check {
	if _, ok := s.env.(stream.NetAdmin); !ok || !s.opts.NetAdmin {
		return nil
	}
	return []check{
		{"netadmin/root", s.netAdminRoot},
		{"netadmin/own-namespace", s.netAdminOwnNamespace},
		{"netadmin/script-error", s.netAdminScriptError},
		{"netadmin/undo-at-close", s.netAdminUndoAtClose},
	}
}

func (s *suite) netAdmin(t testing.TB, e stream.Environment, script, undo string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var out []byte
	var err error
	if !s.bounded(func() { out, err = e.(stream.NetAdmin).NetAdmin(ctx, script, undo) }) {
		t.Fatalf("NetAdmin did not return within %v", s.timeout)
	}
	s.note(t, "NetAdmin", err)
	return out, err
}

// netAdminRoot: the script runs as root, and its standard output comes
// back.
func (s *suite) netAdminRoot(t *testing.T) {
	out, err := s.netAdmin(t, s.env, "id -u; echo conformance-out", "")
	if err != nil {
		t.Fatalf("NetAdmin: %v", err)
	}
	if got := strings.Fields(string(out)); len(got) != 2 || got[0] != "0" || got[1] != "conformance-out" {
		t.Errorf("NetAdmin of `id -u; echo conformance-out` returned %q: want uid 0, then the echo", out)
	}
}

// netAdminOwnNamespace: the script runs where the stream's traffic is: its
// network namespace holds the stream's address (when Host is one).
func (s *suite) netAdminOwnNamespace(t *testing.T) {
	a, err := netip.ParseAddr(s.env.Host())
	if err != nil || !a.Is4() || a.IsLoopback() {
		t.Logf("Host() is %q, no IPv4 address of the stream's own: only the script's success is checked", s.env.Host())
	}
	out, err := s.netAdmin(t, s.env, "ip -o -4 addr show", "")
	if err != nil {
		t.Fatalf("NetAdmin: %v", err)
	}
	if err == nil && a.Is4() && !a.IsLoopback() && !strings.Contains(string(out), " "+a.String()+"/") {
		t.Errorf("the script's network namespace does not hold the stream's address %s:\n%s", a, out)
	}
}

// netAdminScriptError: a script that fails is an error that quotes its
// standard error and its status.
func (s *suite) netAdminScriptError(t *testing.T) {
	_, err := s.netAdmin(t, s.env, "echo conformance-boom >&2; exit 3", "")
	if err == nil {
		t.Fatal("a script that exits 3 was no error")
	}
	if msg := err.Error(); !strings.Contains(msg, "conformance-boom") || !strings.Contains(msg, "3") {
		t.Errorf("the error of a script that wrote conformance-boom and exited 3 says neither: %v", err)
	}
}

// netAdminUndoAtClose: Close runs the latest undo, not an earlier one. It
// is seen from the test's machine, so only with SameHost; otherwise the
// undo must at least not make Close fail.
func (s *suite) netAdminUndoAtClose(t *testing.T) {
	e := s.fresh(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	stale, latest := filepath.Join(dir, "stale"), filepath.Join(dir, "latest")
	undoStale, undoLatest := "touch "+stale, "touch "+latest
	if !s.opts.SameHost {
		// The undo runs where the test's files are not: nothing to see.
		undoStale, undoLatest = "true", "true"
	}
	if _, err := s.netAdmin(t, e, "true", undoStale); err != nil {
		t.Fatalf("NetAdmin: %v", err)
	}
	if _, err := s.netAdmin(t, e, "true", undoLatest); err != nil {
		t.Fatalf("NetAdmin: %v", err)
	}
	if _, err := os.Stat(latest); err == nil {
		t.Fatal("the undo ran before Close")
	}
	if err := s.close(t, e); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !s.opts.SameHost {
		return
	}
	deadline := time.Now().Add(s.timeout)
	for {
		if _, err := os.Stat(latest); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the undo (touch %s) did not run within %v of Close", latest, s.timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("Close ran an undo that a later call replaced (%s exists)", stale)
	}
}
