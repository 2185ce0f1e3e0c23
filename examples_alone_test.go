package streamtest_test

import (
	"testing"

	"github.com/streamtest/streamtest/internal/testenv"
)

// TestExamplesRunAlone runs each Example function alone, in an environment
// that points elsewhere: no Example may lean on another or on the
// environment.
func TestExamplesRunAlone(t *testing.T) { testenv.RunExamplesAlone(t) }
