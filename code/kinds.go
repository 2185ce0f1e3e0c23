package code

// KindInfo documents a block kind of this package.
type KindInfo struct {
	Name string // what Block.Kind returns
	Call string // how a test makes one
	Doc  string // one line: what it runs
}

// Kinds lists the block kinds of this package, for `streamtest types` and
// other listings.
func Kinds() []KindInfo {
	return []KindInfo{
		{"shell", "code.Shell(cmd)", "a shell command line, run by /bin/sh -c"},
		{"exec", "code.Exec(argv...)", "a program and its arguments, no shell"},
		{"python", "code.Python(source, opts...)", "a Python snippet, shipped as a file and run by python3"},
		{"python-module", "code.PythonModule(name, opts...)", "a Python module, run as python3 -m name; Path ships local directories onto PYTHONPATH"},
		{"script", "code.Script(file, args...)", "a local script file, shipped to the stream and run"},
		{"program", "code.Program(path, args...)", "a local executable, shipped with its ELF loader and shared libraries and run through that loader"},
		{"go-program", "code.GoProgram(pkg, args...)", "a Go main package, built here (cgo off), shipped and run"},
		{"go-test", "code.GoTest(pkg, args...)", "a Go package's test binary (go test -c), shipped and run"},
		{"go-func", "code.Func(name, args...)", "a Go function registered with code.RegisterFunc, run by the test binary in a process of its own"},
	}
}
