// Package examples holds the examples of the multi-stream RFC as runnable Go
// tests, one package each. Each has its parameters file beside it (local
// streams), used when no other parameters are given:
//
//	go test ./examples/...
//	go run ./cmd/streamtest run ./examples/...
//
// The examples are the portability test: they run unchanged on local
// streams, sandboxes, plain containers, and the hosts of a netns or docker
// lab; only the parameters file changes (STREAMTEST_PARAMS or --params
// replace the default one). scripts/examples-on.sh runs them all on one
// kind; examples/testdata holds the files of each kind, and an example that
// needs a layout of its own has its own file, named after the kind.
//
// They need nothing on the streams but /bin/sh: where the RFC pings, they
// ship their own program, examples/internal/reach, built here with cgo off
// (code.GoProgram), so that they run on a fresh machine, a busybox
// container or an SSH host alike. The Python example needs python3 on its
// stream and skips without it, saying how to get it.
//
// examples/replicated is a distributed system under test: a three-member
// etcd cluster and its client, this machine's etcd and etcdctl shipped with
// code.Program, the leader crashed and restarted, then cut off from the
// majority and healed (docs/test-writers.md, "Testing a distributed
// system"). It needs streams with networks of their own, so it runs on
// containers by default, and its kinds file lists where
// scripts/examples-on.sh runs it: the netns lab and containers.
package examples
