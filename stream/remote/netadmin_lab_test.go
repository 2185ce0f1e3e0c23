package remote

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

func labEnvWith(t *testing.T, n int, extra stream.Values) *Env {
	t.Helper()
	l := needLab(t)
	p := labParams(l, n)
	for k, v := range extra {
		p[k] = v
	}
	e, _ := newLabEnv(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestNetAdminRunsAsRootAndLeavesItsUndoToTheGuard: the script runs as root
// through sudo -n in the host's namespace; at Close the host's guard runs
// the undo, as root too.
func TestNetAdminRunsAsRootAndLeavesItsUndoToTheGuard(t *testing.T) {
	e := labEnvWith(t, 1, nil)
	mark := filepath.Join(os.TempDir(), "streamtest-netundo-"+marker())
	t.Cleanup(func() { os.Remove(mark) })
	out, err := e.NetAdmin(context.Background(), "id -u; ip -o -4 addr show | grep -c 10.199.", "touch "+mark)
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(out)); len(f) != 2 || f[0] != "0" || f[1] == "0" {
		t.Fatalf("the script printed %q: want uid 0 and the lab host's address", out)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("the undo ran before Close")
	}
	e.Close()
	fi, err := os.Stat(mark)
	if err != nil {
		t.Fatalf("the guard did not run the undo at Close: %v", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 {
		t.Errorf("the undo ran as uid %d, not as root", st.Uid)
	}
}

// TestNetAdminForgetsAnEmptyUndo: an undo of "" replaces the earlier one.
func TestNetAdminForgetsAnEmptyUndo(t *testing.T) {
	e := labEnvWith(t, 2, nil)
	mark := filepath.Join(os.TempDir(), "streamtest-netundo-"+marker())
	t.Cleanup(func() { os.Remove(mark) })
	if _, err := e.NetAdmin(context.Background(), "true", "touch "+mark); err != nil {
		t.Fatal(err)
	}
	if _, err := e.NetAdmin(context.Background(), "true", ""); err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := os.Stat(mark); err == nil {
		t.Error("the forgotten undo ran at Close")
	}
}

// TestNetAdminErrorsSayWhatIsMissing: a net_admin program that is not
// there, a sudo that asks for a password, and a script that fails.
func TestNetAdminErrorsSayWhatIsMissing(t *testing.T) {
	ctx := context.Background()
	t.Run("no program", func(t *testing.T) {
		e := labEnvWith(t, 3, stream.Values{"net_admin": "streamtest-no-such-sudo -n"})
		_, err := e.NetAdmin(ctx, "true", "")
		var nae *stream.NetAdminError
		if !errors.As(err, &nae) || !strings.Contains(nae.Missing, "streamtest-no-such-sudo") {
			t.Fatalf("got %v; want a NetAdminError naming the program", err)
		}
	})
	t.Run("no rule", func(t *testing.T) {
		// The lab's rule lets its user run /bin/sh as root, not as nobody.
		e := labEnvWith(t, 3, stream.Values{"net_admin": "sudo -n -u nobody"})
		_, err := e.NetAdmin(ctx, "true", "")
		var nae *stream.NetAdminError
		if !errors.As(err, &nae) || !strings.Contains(nae.Missing, `root through "sudo -n -u nobody"`) {
			t.Fatalf("got %v; want a NetAdminError naming the privilege", err)
		}
		if !strings.Contains(nae.Fix, "NOPASSWD") {
			t.Errorf("the fix does not say how: %q", nae.Fix)
		}
	})
	t.Run("script fails", func(t *testing.T) {
		e := labEnvWith(t, 3, nil)
		_, err := e.NetAdmin(ctx, "echo boom >&2; exit 3", "")
		if err == nil || !strings.Contains(err.Error(), "status 3: boom") {
			t.Fatalf("got %v; want the status and the script's stderr", err)
		}
	})
}
