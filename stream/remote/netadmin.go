package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/streamtest/streamtest/stream"
)

var _ stream.NetAdmin = (*Env)(nil)

// netUndoEnd ends the here-document of base/netundo; no script of package
// netfault holds the word.
const netUndoEnd = "STREAMTEST_NETUNDO_END"

// NetAdmin runs script as root on the host, through the net_admin prefix
// ("sudo -n" by default; "" when the user is root), on the stream's own SSH
// connection: a host in a network namespace (a netns lab host) runs it in
// that namespace. It first stores undo as base/netundo, which the stream's
// guard runs before it removes the work directory: at Close, on a lost
// connection and when the test binary dies.
func (e *Env) NetAdmin(ctx context.Context, script, undo string) ([]byte, error) {
	_, base, err := e.ready()
	if err != nil {
		return nil, e.cause(err)
	}
	if strings.Contains(undo, netUndoEnd) {
		return nil, errors.New("the undo script holds " + netUndoEnd)
	}
	keep := "rm -f " + quote(base+"/netundo")
	if undo != "" {
		file := "exec " + e.s.netAdmin + " /bin/sh -s <<'" + netUndoEnd + "'\n" + undo + "\n" + netUndoEnd + "\n"
		keep = "umask 077 && printf '%s' " + quote(file) + " >" + quote(base+"/netundo.new") +
			" && mv -f " + quote(base+"/netundo.new") + " " + quote(base+"/netundo")
	}
	// One session stores the undo, then runs the script as root: the undo
	// is in place before the first rule is.
	cmd := keep + " && exec " + e.s.netAdmin + " /bin/sh -s"
	stdout, stderr, err := e.session(ctx, cmd, script)
	if err != nil {
		return stdout, e.netAdminError(err, stderr)
	}
	return stdout, nil
}

// newSession opens a session on the stream's connection (another when the
// server has no room on it).
func (e *Env) newSession(ctx context.Context) (*ssh.Session, error) {
	sess, _, err := onConn(ctx, e, func(c *conn) (*ssh.Session, error) { return c.client.NewSession() })
	return sess, err
}

// session runs cmd on the stream's connection with stdin, bounded by ctx,
// and returns its output.
func (e *Env) session(ctx context.Context, cmd, stdin string) (stdout, stderr []byte, err error) {
	sess, err := e.newSession(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open a session: %w", e.cause(err))
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdin = strings.NewReader(stdin)
	sess.Stdout = &out
	sess.Stderr = &limitWriter{w: &errb, n: 8192}
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Close()
		return out.Bytes(), errb.Bytes(), fmt.Errorf("no answer from the host: %w", ctx.Err())
	}
	return out.Bytes(), errb.Bytes(), err
}

// netAdminError says why NetAdmin failed: the net_admin command missing or
// refused (a *stream.NetAdminError), else the script's exit and its
// standard error.
func (e *Env) netAdminError(err error, stderr []byte) error {
	msg := strings.TrimSpace(string(stderr))
	var exit *ssh.ExitError
	if !errors.As(err, &exit) {
		return e.cause(err)
	}
	user := e.s.resolve(e.s.host, e.s.user, e.s.port, true).user
	prog, _, _ := strings.Cut(e.s.netAdmin, " ")
	switch {
	case prog != "" && exit.ExitStatus() == 127 && strings.Contains(msg, prog):
		return &stream.NetAdminError{
			Missing: fmt.Sprintf("%s on the host (the net_admin parameter, %q)", prog, e.s.netAdmin),
			Fix:     fmt.Sprintf("install it (apt-get install %s) and let %s run /bin/sh as root without a password, or set net_admin", prog, user),
			Err:     errors.New(firstLine(msg)),
		}
	case prog == "sudo" && (strings.Contains(msg, "password is required") || strings.Contains(msg, "not allowed") || strings.Contains(msg, "not in the sudoers")):
		return &stream.NetAdminError{
			Missing: fmt.Sprintf("root through %q for user %s", e.s.netAdmin, user),
			Fix:     fmt.Sprintf("a sudoers rule such as `%s ALL=(root) NOPASSWD: /bin/sh` on the host (the netns lab writes one)", user),
			Err:     errors.New(firstLine(msg)),
		}
	}
	if msg == "" {
		msg = "no output on stderr"
	}
	return fmt.Errorf("the fault script exited with status %d: %s", exit.ExitStatus(), msg)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
