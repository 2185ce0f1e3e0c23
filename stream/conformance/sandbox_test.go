package conformance_test

import (
	"os/exec"
	"testing"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/stream/conformance"
	_ "github.com/streamtest/streamtest/stream/sandbox"
)

// TestSandbox runs the suite on sandbox streams (bubblewrap). Each stream
// has its own PID namespace: no stream sees another's processes, and
// every process of the stream dies with the namespace, detached daemons
// included.
func TestSandbox(t *testing.T) {
	_, err := exec.LookPath("bwrap")
	testenv.Need(t, err == nil, "bubblewrap (bwrap)", "install Debian's bubblewrap package, or use make test")
	conformance.Test(t, opener(t, "sandbox", nil, ""), conformance.Options{KillsDetached: true})
}
