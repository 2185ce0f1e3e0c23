package code_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestExamplesRunAlone runs each Example function alone in a process whose
// environment points elsewhere (a missing parameters file, an unknown
// default type): an Example that leaned on another one's set-up, or on the
// environment, fails.
func TestExamplesRunAlone(t *testing.T) {
	runExamplesAlone(t)
}

func runExamplesAlone(t *testing.T) {
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
