package code

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTrimBuildsRemovesOnlyUnusedDirs(t *testing.T) {
	root := t.TempDir()
	old, fresh := filepath.Join(root, "old"), filepath.Join(root, "fresh")
	for _, d := range []string{old, fresh} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "bin"), []byte("x"), 0o700)
	}
	long := time.Now().Add(-2 * buildMaxAge)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	trimBuilds(root, time.Now().Add(-buildMaxAge))
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the unused build directory is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fresh, "bin")); err != nil {
		t.Errorf("the build directory in use was removed: %v", err)
	}
}
