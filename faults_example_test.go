package streamtest_test

import (
	"errors"
	"fmt"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// A partition between streams with networks of their own (remote hosts,
// containers) drops their traffic both ways until Heal or the test's end:
//
//	f := s.Partition(s.Pick(1), s.Range(2, 3))
//	// ... streams 2 and 3 go on without 1 ...
//	f.Heal()
//
// Local streams, as here, share this machine's network: faulting them is an
// error that says so, and leaves no fault in place.
func ExampleManager_TryPartition() {
	sess := streamtest.NewSession("ExampleManager_TryPartition")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment(), streamtest.DefaultType("local"))
	s.Range(1, 3).Run(code.Exec("true"), streamtest.Wait())

	f, err := s.TryPartition(s.Pick(1), s.Range(2, 3))
	fmt.Println(f == nil, errors.Is(err, errors.ErrUnsupported), len(s.Faults()))
	// Output:
	// true true 0
}

// Degrade impairs what one stream sends: a share of its packets lost, its
// bandwidth limited, each packet delayed (where the kernel has netem), to
// every other stream with a network of its own or, with Toward, to some.
func ExampleStream_TryDegrade() {
	sess := streamtest.NewSession("ExampleStream_TryDegrade")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment(), streamtest.DefaultType("local"))

	// Values are checked before any stream is touched.
	_, err := s.At(1).TryDegrade(streamtest.Loss(150))
	fmt.Println(err)
	// Output:
	// stream 1 (local): degrade: loss 150% is not a percentage between 0 and 100
}
