package container

import (
	"os"
	"testing"
)

// TestMain dispatches the helper binaries that tests re-execute this test
// binary as, before any test runs.
func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) == "1" {
		os.Exit(crashChild())
	}
	if os.Getenv(netAdminCrashEnv) == "1" {
		os.Exit(netAdminCrashChild())
	}
	os.Exit(m.Run())
}
