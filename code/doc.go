// Package code holds the blocks of code a test runs on execution streams: the
// "what", where a stream is the "where".
//
//	s := streamtest.For(t)
//	s.At(1).Run(code.Shell("grep -q vmx /proc/cpuinfo"), streamtest.Wait())
//	s.At(2).Run(code.Exec("ip", "-br", "addr"))
//	s.At(3).Run(code.Python("import os; print(os.uname().nodename)"))
//	s.At(4).Run(code.PythonModule("mymodule", code.Path("testdata/pylib"), code.Params(p)))
//	s.At(5).Run(code.Script("testdata/check.sh", "--quick"))
//	s.At(6).Run(code.GoProgram("./cmd/server", "-port", "8080"))
//	s.At(7).Run(code.GoTest("./replication", "-test.run=^TestFailover$"))
//	s.At(8).Run(code.Func("serve", "8080")) // registered with code.RegisterFunc in init
//	s.At(9).Run(code.Program("/usr/sbin/nginx", "-t")) // with its loader and libraries
//
// The payload is always the first argument; options follow. A block ships what
// it needs to the stream itself (a script file, a Python path, the test's
// parameters), runs there, and reports its own success and output keys, which
// join the stream's Output.
//
// What a block needs on the stream, the stream must have: Shell needs
// /bin/sh, Python and PythonModule need python3 (or the interpreter set with
// Interpreter); Exec needs nothing but its program; Program needs only a
// Linux kernel of the program's machine: it ships the loader and the
// libraries. A block does not install anything.
//
// Implementers of new block kinds implement [Block]; see docs/implementers.md.
package code
