// Package sandbox is the `sandbox` execution stream type (alias `bwrap`): a
// local stream sandboxed with bubblewrap. Each stream has its own PID and
// mount namespaces: a read-only view of this machine's system, a private
// writable work directory, a private /tmp. Blocks of one stream see each
// other's processes and files; blocks of other streams, and the machine's
// other processes, are out of sight.
//
// Link it with a blank import:
//
//	import _ "github.com/streamtest/streamtest/stream/sandbox"
//
// Parameters:
//
//	type: sandbox
//	host: 127.0.0.1        # the address other streams use to reach this one
//	network: none          # a network namespace of its own: no route anywhere
//	env: {KEY: value}      # added to every block's environment
//	binds: [/data:/data:ro, ./out:/out]   # more of this machine, writable unless :ro
//
// # How it works
//
// Setup starts one bwrap for the stream:
//
//	bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --bind W W
//	      --unshare-pid --unshare-ipc --as-pid-1 --cap-drop CAP_SYS_ADMIN
//	      [--unshare-net] -- <this executable>
//
// whose PID 1 is this executable as the helper "sandbox-init" (package
// helper). The init holds a socket to the test; Start hands it the block
// (argv, environment, directory) with its standard files, and the init
// forks it in a process group of its own, reaps it and reports its end.
// Process.Signal asks the init to signal the block's tree (package
// proctree, inside the namespace). A gated start runs the gate of package
// gate in the sandbox.
//
// The work directory W is a 0700 directory of this machine, bound at the
// same path in the sandbox, so WorkDir is the same path on both sides.
//
// # What is cleaned up
//
// Background processes live until the stream closes. Close stops every
// block (SIGTERM, SIGKILL after the manager's grace), then kills the init:
// the death of a namespace's PID 1 kills every process in it, daemons that
// detached included. If the test binary dies, the init's socket closes and
// the init exits, with the same effect, and the guard (package guard)
// kills every process tagged with the test binary's tag and removes the
// work directory.
//
// The type is written against the module's public packages only, as a
// type outside the module would be.
package sandbox
