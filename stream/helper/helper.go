// Package helper lets a program (a test binary, the streamtest command) act as
// its own helper process, the way os/exec's tests and testscript re-execute
// the test binary: a package registers a named helper main from an init
// function; Command starts this same executable as that helper.
//
// The helpers are how streams keep their promises without shipping extra
// binaries: the guard that cleans up when the test binary is killed, the gate
// that parks a process until a synchronized group is released, the reaper that
// removes containers.
package helper

import (
	"fmt"
	"os"
	"os/exec"
)

// Env is the environment variable that selects a helper.
const Env = "STREAMTEST_HELPER"

// Register registers a helper main under name. If this process was started
// as that helper, Register runs main at once and exits with its status, so
// call it from an init function: the registering package and its imports are
// initialised by then, and nothing else of the program runs. The variable Env
// is removed from the environment first, so that what the helper starts is
// not taken for a helper too.
func Register(name string, main func(args []string) int) {
	if os.Getenv(Env) != name {
		return
	}
	os.Unsetenv(Env)
	os.Exit(main(os.Args[1:]))
}

// Command returns a command that runs this executable as helper name with
// args. The caller sets its stdio, ExtraFiles and SysProcAttr.
func Command(name string, args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("helper %s: cannot find this executable: %w", name, err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), Env+"="+name)
	return cmd, nil
}
