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
//	kill_grace: 1s       # between SIGTERM and SIGKILL when a block is stopped
//	work_root: /tmp      # where the work directory is made
//
// # What is cleaned up
//
// Every block runs in a process group of its own. Stopping a block, closing
// the stream and the end of the test send SIGTERM, then SIGKILL after
// kill_grace, to that group and to every process that descends from it at
// that moment (so a child that made a group of its own is found too).
// Processes a block left running in the background live until the stream
// ends, not until the block ends.
//
// Every process of a stream also carries a tag in its environment,
// STREAMTEST_LOCAL_TAG, that its children inherit. Closing the stream kills
// every process still tagged with the stream's tag, so even a daemon that
// detached itself (double fork and setsid) is found. The stream's work
// directory is removed.
//
// If the test binary itself is killed (SIGKILL, a -timeout panic), a guard
// process, this same executable started as a helper in a process group of
// its own, notices that its pipe from the test closed, kills every process
// tagged with this test binary's tag and removes the work directories. The
// guard hears of work directories only, not of each block, so it costs a
// block run nothing.
//
// Not cleaned up: a process started with an emptied environment (env -i)
// that also left the block's process tree, and anything a block created
// outside its work directory: files, shared memory, services it installed.
package local
