// Package streamtest runs blocks of code on several execution streams from a
// plain Go test: local processes, SSH hosts, Docker containers. It is the
// test writer's package; docs/test-writers.md is its guide.
//
//	func TestInterCommunication(t *testing.T) {
//		s := streamtest.For(t)
//		s.At(1).Run(code.Shell("ping -c 1 " + s.At(2).Host()))
//		s.At(2).Run(code.Shell("ping -c 1 " + s.At(1).Host()))
//		s.Wait()
//		if !s.Success() {
//			t.Error(s)
//		}
//	}
//
// # Streams
//
// An execution stream is the "where": a disposable execution environment,
// separate from the test process and from every other stream. A block of
// code (package code) is the "what". The test itself is not a stream: it
// keeps running in its own process while the manager, streamtest.For(t),
// runs blocks on streams.
//
// Streams are numbered from 1 and may be named: At(1), At("db"). Groups have
// the verbs of a stream: Range(3, 4) is streams 3 and 4 (both ends
// included), Pick(1, "db") names members, All() is every stream.
//
// Where the streams are is not in the test: a YAML parameters file says it,
// named by STREAMTEST_PARAMS or the command's --params:
//
//	avocado:
//	  streams:
//	    - 1: {type: remote, host: foo.example.com}
//	    - 2: {type: container, image: streamtest/base}
//
// A stream the parameters do not define is of the default type, local,
// unless strict mode makes that an error.
//
// # What a stream promises
//
//   - Run is asynchronous: it returns at once; Wait() makes it synchronous;
//     Synchronized() starts a group's members at one instant.
//   - Active is true from the start of Run, set-up included, until the block
//     has ended. Success is false until the block has ended with the
//     expected outcome. Output holds stdout, stderr, exit_status, duration
//     and the block's own keys.
//   - A stream runs one block at a time; Run on a busy stream is an error
//     (ErrBusy).
//   - Everything a stream created is gone when the test ends, whether it
//     passed, failed or panicked, and also when the test binary is killed:
//     the whole process tree of every block, work directories, connections,
//     containers. A block started with Run and not waited for lives as long
//     as the test, not longer.
//   - An infrastructure failure (cannot connect, image missing, undefined
//     stream in strict mode) is never silent: it fails the test with a
//     message naming the stream's id, type and host and the cause. TryRun and
//     TrySend return it instead.
//
// # What a stream does not do
//
//   - Streams know nothing of each other: a block cannot wait for another
//     stream, nor for a stream of another test. Only the test waits, through
//     the manager. No stream is shared between tests, subtests included.
//   - What a block creates outside its stream's work directory (files in
//     shared places, shared memory, services it installed; on remote streams,
//     a daemon that detached itself from the block) is the test's to clean
//     up.
//   - Nothing persists on a stream from one test to the next, and nothing is
//     brought back from a stream unless the block prints it.
package streamtest
