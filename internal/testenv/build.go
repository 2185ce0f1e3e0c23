package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildGo builds the Go main package source (one file, its own module) in
// a directory of t's with the extra environment ("CGO_ENABLED=0",
// "GOARCH=arm64"), and returns the program's path. A build that fails
// fails t with the compiler's output.
func BuildGo(t testing.TB, source string, env ...string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"main.go": source, "go.mod": "module prog\n\ngo 1.21\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build (%v): %v\n%s", env, err, msg)
	}
	return out
}
