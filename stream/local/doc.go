// Package local is the `local` execution stream type (alias `process`): each
// block runs as an operating-system process on this machine, in a private work
// directory of its stream.
//
// Link it with a blank import (package streamtest already does):
//
//	import _ "github.com/streamtest/streamtest/stream/local"
//
// Parameters:
//
//	type: local
//	host: 127.0.0.1      # the address other streams use to reach this one
//	network: none        # run in a network namespace of its own: no route anywhere
//	env: {KEY: value}    # added to every block's environment
//	work_root: /tmp      # where the work directory is made
//
// # What is cleaned up
//
// Every block runs in a process group of its own. Process.Signal reaches
// that group and every process that descends from it at that moment (so a
// child that made a group of its own is found too), through package
// proctree. Processes a block left running in the background live until
// the stream ends, not until the block ends. Closing the stream stops
// every block's tree, running or finished: SIGTERM, then SIGKILL after the
// manager's grace (stream.Config.Grace).
//
// Every process of a stream also carries a tag in its environment,
// STREAMTEST_TAG (package proctree), that its children inherit. Closing the
// stream kills every process still tagged with the stream's tag, so even a
// daemon that detached itself (double fork and setsid) is found. The
// stream's work directory is removed.
//
// If the test binary itself is killed (SIGKILL, a -timeout panic), the
// guard (package guard) kills every process tagged with this test binary's
// tag and removes the work directories.
//
// A gated start parks the block in the gate of package gate.
//
// Not cleaned up: a process started with an emptied environment (env -i)
// that also left the block's process tree, and anything a block created
// outside its work directory: files, shared memory, services it installed.
package local
