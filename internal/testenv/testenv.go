// Package testenv decides what a test does when a service it needs (sshd,
// the Docker Engine, root for network namespaces, the lab) is missing: on a
// developer's machine it skips with a message saying what is missing and how
// to get it; in CI (CI=true) it fails, because there a missing service is a
// broken set-up, not a reason to skip.
package testenv

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// InCI reports whether the tests run in CI (the environment variable CI is
// set to a true value).
func InCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// Need skips (or, in CI, fails) t unless ok. what names the missing
// service; howto is the one command (or step) that provides it, commands in
// backquotes. The message reads "WHAT is missing; to enable: HOWTO", and
// `streamtest run` shows it beside the skipped test: in its live output, its
// summary table and its HTML report.
func Need(t testing.TB, ok bool, what, howto string) {
	t.Helper()
	if ok {
		return
	}
	msg := what + " is missing; to enable: " + howto
	if InCI() {
		t.Fatal("CI=true and " + msg)
	}
	t.Skip(msg)
}

// NeedRoot needs the test process to run as root.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	Need(t, os.Geteuid() == 0, "root ("+why+")", "run the tests as root, e.g. `sudo make test`")
}

// RunExamplesAlone runs each Example function of the test binary alone, in a
// process whose environment points elsewhere (a missing parameters file, an
// unknown default type): an Example that leans on another one's set-up, or
// on the environment, fails.
func RunExamplesAlone(t *testing.T) {
	t.Helper()
	list, err := exec.Command(os.Args[0], "-test.list", "^Example").Output()
	if err != nil {
		t.Fatalf("listing the examples: %v", err)
	}
	names := strings.Fields(string(list))
	if len(names) == 0 {
		t.Fatal("no examples listed")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^"+name+"$", "-test.count=1")
			cmd.Env = append(os.Environ(), "STREAMTEST_PARAMS=/nonexistent/params.yaml", "STREAMTEST_DEFAULT_TYPE=nosuchtype")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s alone: %v\n%s", name, err, out)
			}
		})
	}
}
