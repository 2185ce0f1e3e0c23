package conformance_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/params"
	"github.com/streamtest/streamtest/stream/conformance"
	_ "github.com/streamtest/streamtest/stream/remote"
)

// TestRemoteLab runs the suite on stream 1 of the netns lab, which make
// test brings up and names in $STREAMTEST_LAB/params.yaml. By hand:
//
//	go run ./cmd/streamtest lab up --hosts 4 --isolated 2 --dir .lab
//	STREAMTEST_LAB=$PWD/.lab go test ./stream/conformance -run TestRemoteLab
//
// The lab's hosts are network namespaces of this machine: they share its
// process namespace and file system, so two streams on one host see each
// other's processes (SameHost). A remote stream does not promise to kill
// daemons that detached (docs/remote.md).
func TestRemoteLab(t *testing.T) {
	dir := os.Getenv("STREAMTEST_LAB")
	testenv.Need(t, dir != "", "the netns lab (STREAMTEST_LAB)",
		"run `go run ./cmd/streamtest lab up --hosts 4 --isolated 2 --dir .lab` as root and set STREAMTEST_LAB=$PWD/.lab, or use make test")
	cfg, err := params.Load(params.Options{
		SystemFile: "-",
		UserFile:   "-",
		Getenv:     func(string) string { return "" },
		Files:      []string{filepath.Join(dir, "params.yaml")},
	})
	testenv.Need(t, err == nil, "the netns lab's parameters in "+dir, fmt.Sprintf("%v; bring the lab up with streamtest lab up", err))
	s, ok := cfg.Streams["1"]
	if !ok {
		t.Fatalf("%s/params.yaml defines no stream 1", dir)
	}
	conformance.Test(t, opener(t, s.Type, s.Values, s.Dir), conformance.Options{SameHost: true, Timeout: 20 * time.Second, NetAdmin: true})
}
