package sendtree_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/streamtest/streamtest/internal/testenv"

	"github.com/streamtest/streamtest/stream/sendtree"
)

// TestSentProgramsRunWhileOthersAreSent sends a program to several places
// at once and runs each copy as soon as it arrived, as several local
// streams do with one Go block. A copy still open for writing in a process
// forked meanwhile cannot be run ("text file busy"): OS must not let a fork
// inherit it.
func TestSentProgramsRunWhileOthersAreSent(t *testing.T) {
	prog, err := exec.LookPath("true")
	testenv.Need(t, err == nil, "the program true", "apt-get install coreutils")
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				dst := filepath.Join(dir, fmt.Sprintf("%d-%d", g, i), "prog")
				if err := sendtree.Copy(context.Background(), sendtree.OS{}, prog, dst); err != nil {
					errs <- err
					return
				}
				if err := exec.Command(dst).Run(); err != nil {
					errs <- fmt.Errorf("running %s: %w", dst, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if errors.Is(err, syscall.ETXTBSY) {
			t.Error(err)
		} else {
			t.Fatal(err)
		}
	}
}
