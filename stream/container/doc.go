// Package container is the container execution stream type ("container",
// alias "docker"): each stream is a fresh container on a Docker Engine or
// on Podman's Docker-compatible API service (the engine parameter, else
// DOCKER_HOST), created on the stream's first use and removed, with
// everything running in it, when the test ends. Test writers name it in
// their parameters:
//
//	s := streamtest.For(t) // params: - 1: {type: container, image: "streamtest/base:latest"}
//	s.At(1).Run(code.Shell("wget -q -O - http://" + s.At(2).Host() + ":8000/"))
//
// # What a container stream is
//
//   - A container of the stream's image (default [DefaultImage]), running an
//     idle process under the engine's init, on the network the parameters
//     name (default: the engine's bridge), or on a network of the test
//     process's own (private_network: true), where streams also reach each
//     other by their hostname.
//   - Blocks run through exec, in the private work directory /streamtest
//     (0700), each in a session of its own under a small shell wrapper
//     that checks the directory and the program before Start returns, and
//     reports the program's end at once (Wait does not wait for background
//     processes that hold the output longer than stream.OutputWait).
//     Process.Signal reaches the block's group, and its processes that made
//     a session of their own, through a second exec. A block's background
//     processes live until Close, which removes the container.
//   - Send copies files and directories in as package sendtree describes
//     (modes kept, read-only directories included) through tar in the
//     container, or through the engine's archive upload when the image has
//     no tar.
//   - Host is the container's address on its network, reachable from the
//     test process and from the other containers there. Asking for it sets
//     the stream up.
//   - NetAdmin (stream.NetAdmin, the manager's network faults) runs its
//     scripts in a helper container of [NetAdminImage] that shares the
//     stream's network namespace with CAP_NET_ADMIN, made on the first
//     call; Close runs the latest undo and removes the helper before the
//     stream's container (netadmin.go).
//
// # What the image must have
//
// /bin/sh (POSIX), sleep, mkdir and setsid; kill and grep for Signal; tar
// for a fast Send. The streamtest images (`streamtest lab image`) have
// busybox. Images are never pulled: a missing image is an error that names
// it. Images with their own entrypoint run the idle process instead.
//
// # Cleaning up
//
// Close stops the running blocks (SIGTERM, then SIGKILL after the stream's
// grace), then removes the container (SIGKILL to everything left in it)
// and, with its last stream, the private network. Everything carries
// labels (LabelRun and the owner's pid, start time and machine). When the test binary dies
// without closing (SIGKILL, a crash), a reaper process started with the
// first container notices (its pipe from the test process closes) and
// removes everything of the run within a second or two; and the first
// stream of every later process sweeps what dead owners on this machine
// left, in case the reaper could not. Volumes, images and networks that a
// block made itself through a mounted engine socket are the user's to
// clean.
//
// What it cannot do: run on a remote engine's files (mounts name paths on
// the engine's machine), share a container between tests, or keep a
// container for inspection after its test.
package container
