// Package nobuild is a fixture for the tests of `streamtest run`: it does
// not compile.
package nobuild

import "testing"

func TestNothing(t *testing.T) {
	undefinedFunction()
}
