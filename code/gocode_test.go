package code_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

func init() {
	code.RegisterFunc("greet", func(ctx context.Context, args []string) error {
		if len(args) == 0 {
			return errors.New("greet: no name")
		}
		fmt.Println("hello,", strings.Join(args, " "))
		return nil
	})
}

func localManager(t *testing.T) *streamtest.Manager {
	t.Helper()
	t.Setenv("STREAMTEST_PARAMS", "")
	return streamtest.For(t)
}

func TestFunc(t *testing.T) {
	s := localManager(t)
	s.At(1).Run(code.Func("greet", "stream", "one"), streamtest.Wait())
	if got := s.At(1).Output().Stdout(); got != "hello, stream one\n" || !s.At(1).Success() {
		t.Errorf("Func: %q, %v", got, s.At(1))
	}
	s.At(2).Run(code.Func("greet"), streamtest.Wait())
	if s.At(2).Success() || !strings.Contains(s.At(2).Output().Stderr(), "greet: no name") {
		t.Errorf("a function returning an error should fail with it on stderr: %v", s.At(2))
	}
	if err := s.At(3).TryRun(code.Func("nope"), streamtest.Wait()); err == nil || !strings.Contains(err.Error(), `no function registered as "nope"`) {
		t.Errorf("unregistered function: %v", err)
	}
}

func TestGoProgramAndGoTest(t *testing.T) {
	s := localManager(t)
	s.At(1).Run(code.GoProgram("./testdata/hello", "from", "go"), streamtest.Wait())
	if got := s.At(1).Output().Stdout(); got != "hello from go\n" {
		t.Errorf("GoProgram: %q (%v)", got, s.At(1))
	}
	s.At(2).Run(code.GoTest("./testdata/gotest", "-test.v"), streamtest.Wait())
	out := s.At(2).Output()
	if s.At(2).Success() {
		t.Errorf("a failing Go test succeeded: %v", s.At(2))
	}
	if failed, _ := out["failed_tests"].([]string); !slices.Equal(failed, []string{"TestFails"}) {
		t.Errorf("failed_tests = %v, want [TestFails]", out["failed_tests"])
	}
	err := s.At(3).TryRun(code.GoProgram("./testdata/nonexistent"), streamtest.Wait())
	if err == nil || !strings.Contains(err.Error(), "stream 3 (local, host 127.0.0.1): prepare go-program: go build") {
		t.Errorf("building a missing package: %v", err)
	}
}
