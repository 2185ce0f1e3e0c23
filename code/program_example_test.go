package code_test

import (
	"fmt"

	"github.com/streamtest/streamtest/code"
)

func ExampleProgram() {
	// env from this machine's PATH, shipped with its loader and its C
	// library, runs on the stream through that loader: it needs none of
	// them there. -i starts it with an empty environment.
	fmt.Print(run(code.Program("env", "-i", "GREETING=hello")).Stdout())
	// Output: GREETING=hello
}
