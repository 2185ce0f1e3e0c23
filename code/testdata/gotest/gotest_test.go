// Package gotest has a passing and a failing test for the GoTest block's
// tests.
package gotest

import "testing"

func TestPasses(t *testing.T) {}

func TestFails(t *testing.T) { t.Error("failing on purpose") }
