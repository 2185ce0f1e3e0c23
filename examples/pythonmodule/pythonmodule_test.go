// The RFC's PythonModule example: a module from the project's own tree,
// shipped to the stream, run with the test's parameters.
package pythonmodule_test

import (
	"strings"
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// TestModule is the RFC's
//
//	self.streams[1].run(PythonModule("mymodule", path=["/opt/myproject"], params=self.params))
//
// with /opt/myproject kept beside the test, in testdata.
func TestModule(t *testing.T) {
	s := streamtest.For(t, streamtest.DefaultParams("pythonmodule.yaml"))
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
