package streamtest_test

import (
	"fmt"
	"strings"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// In a test, the manager comes from streamtest.For(t). Outside go test, as
// here, a Session stands in for t. The examples' streams are local
// whatever the environment says (IgnoreEnvironment); a test leaves where
// its streams are to the parameters.
func Example() {
	sess := streamtest.NewSession("Example")
	defer sess.Close()

	s := streamtest.For(sess, streamtest.IgnoreEnvironment())
	s.At(1).Run(code.Shell("echo one"))
	s.At(2).Run(code.Shell("echo two"))
	s.Wait()
	fmt.Print(s.At(1).Output().Stdout(), s.At(2).Output().Stdout())
	fmt.Println("success:", s.Success())
	// Output:
	// one
	// two
	// success: true
}

func ExampleStream_Run() {
	sess := streamtest.NewSession("ExampleStream_Run")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment(), streamtest.DefaultType("local"))

	st := s.At("db")
	st.Run(code.Shell("echo ready; exit 3"), streamtest.Wait())
	out := st.Output()
	fmt.Printf("stdout=%q exit_status=%d success=%v active=%v\n",
		out.Stdout(), out.ExitStatus(), st.Success(), st.Active())
	// Output:
	// stdout="ready\n" exit_status=3 success=false active=false
}

func ExampleGroup_Run() {
	sess := streamtest.NewSession("ExampleGroup_Run")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment())

	// Streams 3 and 4 get ready, then start at one instant.
	g := s.Range(3, 4)
	g.Run(code.Exec("true"), streamtest.Synchronized(), streamtest.Wait())
	fmt.Println(g.IDs(), g.Success())
	// Output:
	// [3 4] true
}

func ExampleManager_String() {
	sess := streamtest.NewSession("ExampleManager_String")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment())

	s.At(1).Run(code.Exec("true"))
	s.At(2).Run(code.Shell("echo disk full >&2; exit 1"))
	s.Wait()
	if !s.Success() {
		// In a test: t.Error(s). The lines name each stream and its outcome.
		for _, line := range strings.Split(s.String(), "\n") {
			fmt.Println(strings.Join(strings.Fields(line)[:3], " "))
		}
	}
	// Output:
	// streams of ExampleManager_String:
	// 1 (local, 127.0.0.1)
	// 2 (local, 127.0.0.1)
}

func ExampleStream_TryRun() {
	sess := streamtest.NewSession("ExampleStream_TryRun")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment())

	s.At(1).Run(code.Exec("sleep", "5"))
	err := s.At(1).TryRun(code.Exec("true"))
	fmt.Println(err != nil)
	// Output:
	// true
}

func ExampleGroup_RunEach() {
	sess := streamtest.NewSession("ExampleGroup_RunEach")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment())

	// Each member runs its own block; all start at one instant.
	role := map[string]string{"1": "leader", "2": "follower", "3": "follower"}
	g := s.Range(1, 3)
	g.RunEach(func(st *streamtest.Stream) code.Block {
		return code.Exec("echo", "stream "+st.ID()+" is the "+role[st.ID()])
	}, streamtest.Synchronized(), streamtest.Wait())
	for _, st := range g.Streams() {
		fmt.Print(st.Output().Stdout())
	}
	fmt.Println("success:", g.Success())
	// Output:
	// stream 1 is the leader
	// stream 2 is the follower
	// stream 3 is the follower
	// success: true
}

func ExampleStream_Kill() {
	sess := streamtest.NewSession("ExampleStream_Kill")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment())

	st := s.At(1)
	st.Run(code.Exec("sleep", "100"))
	st.Kill() // SIGKILL to the whole tree; returns once the block has ended
	o := st.Outcome()
	fmt.Println(o.Stopped == streamtest.Killed, o.StopMessage(), o.Success)
	// Output:
	// true killed by the test (SIGKILL) false
}
