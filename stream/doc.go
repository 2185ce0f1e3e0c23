// Package stream is the implementer's view of execution streams: the
// interface a stream type implements, the registry that maps type names from
// parameter files to implementations, and the errors every type reports.
//
// Test writers do not need this package; they use package streamtest and
// package code. Read docs/implementers.md for the whole contract.
//
// An execution stream type provides an [Environment]: a disposable place to
// run processes. The streams manager (package streamtest) calls, in order:
//
//	env, err := factory(cfg)        // cheap: no connection, no container yet
//	err = env.Setup(ctx)            // lazily, on the stream's first use
//	err = env.Send(ctx, local, remote)
//	p, err := env.Start(ctx, cmd)   // one process per block run
//	exit, err := p.Wait()
//	err = env.Close()               // always, at the latest when the test ends
//
// A type registers itself from an init function, the way database/sql
// drivers do:
//
//	func init() {
//		stream.Register("local", New, stream.Info{Aliases: []string{"process"}, ...})
//	}
//
// and is found by name with [Implementation] (the RFC's get_implementation).
//
// # The termination contract
//
// Close and [Stop] end the whole process tree that the stream started
// (not only the direct child) and remove every resource the stream created:
// work directories, connections, containers, networks. They remove nothing
// else. An implementation must also leave nothing behind when the test binary
// is killed with SIGKILL, by a guard on the stream's side (a guard process,
// package guard; a watch on the SSH channel; labels and a reaper). A
// parent-death signal is not one: see package guard.
//
// The building blocks of the built-in types are public, for types outside
// the module too: package proctree (process trees and tags), gate (gated
// start), guard (clean-up after a killed test binary), sendtree (Send) and
// helper (this executable re-run as a helper). Package conformance checks a
// type against the whole contract in one call; run it first.
//
// # Errors
//
// A type returns causes; the manager wraps each once in an [Error] that names
// the stream's id, type and host. A type never builds an [Error] itself, and
// wraps [ErrClosed] when it is used after Close.
package stream
