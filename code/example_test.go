package code_test

import (
	"fmt"
	"strings"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

func run(b code.Block) streamtest.Output {
	sess := streamtest.NewSession("example")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment(), streamtest.DefaultType("local"))
	s.At(1).Run(b, streamtest.Wait())
	return s.At(1).Output()
}

func ExampleShell() {
	fmt.Print(run(code.Shell("echo $((6 * 7))")).Stdout())
	// Output: 42
}

func ExampleExec() {
	// No shell: the argument is passed as it is, $HOME and all.
	fmt.Print(run(code.Exec("echo", "$HOME")).Stdout())
	// Output: $HOME
}

func ExamplePython() {
	fmt.Print(run(code.Python("print(sum(range(10)))")).Stdout())
	// Output: 45
}

func ExamplePythonModule() {
	// python3 -m this: the module runs as a program on the stream.
	out := run(code.PythonModule("this"))
	fmt.Println(strings.SplitN(out.Stdout(), "\n", 2)[0])
	// Output: The Zen of Python, by Tim Peters
}

func ExampleParams() {
	// The block gets the parameters as a JSON file and, for top-level
	// scalars, as environment variables.
	out := run(code.Python(`import os, json
params = json.load(open(os.environ["STREAMTEST_PARAMS_FILE"]))
print(os.environ["STREAMTEST_PARAM_TARGET"], params["retries"])`,
		code.Params(map[string]any{"target": "db1", "retries": 3})))
	fmt.Print(out.Stdout())
	// Output: db1 3
}

func ExampleScript() {
	// The script is shipped to the stream's work directory and run there.
	out := run(code.Script("testdata/hello.sh", "world"))
	fmt.Print(out.Stdout())
	// Output: hello world
}
