// The RFC's PythonModule example: a module from the project's own tree,
// shipped to the stream, run with the test's parameters.
package pythonmodule_test

import (
	"strings"
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/internal/testenv"
)

// TestModule is the RFC's
//
//	self.streams[1].run(PythonModule("mymodule", path=["/opt/myproject"], params=self.params))
//
// with /opt/myproject kept beside the test, in testdata.
func TestModule(t *testing.T) {
	s := streamtest.For(t, streamtest.DefaultParams("pythonmodule.yaml"))
	needPython(t, s.At(1))
	s.At(1).Run(code.PythonModule("mymodule",
		code.Path("testdata/opt/myproject"),
		code.Params(s.Params().Sub("mymodule"))), streamtest.Wait())
	if !s.Success() {
		t.Fatal(s)
	}
	if out := s.At(1).Output().Stdout(); !strings.Contains(out, "debug is on") {
		t.Errorf("the module did not see its parameters: %q", out)
	}
}

// needPython skips the test (fails it with CI=true) unless the stream has
// python3, saying how to get it where the stream is.
func needPython(t *testing.T, st *streamtest.Stream) {
	t.Helper()
	st.Run(code.Shell("command -v python3"), streamtest.Wait())
	if st.Err() != nil {
		t.Fatal(st)
	}
	how := "install it there: apt-get install python3"
	if st.Type() == "container" {
		how = "give the stream an image with python3: image: streamtest/python:latest (built by `go run ./cmd/streamtest lab image`)"
	}
	testenv.Need(t, st.Success(), "python3 on stream "+st.ID()+" ("+st.Type()+")", how)
}
