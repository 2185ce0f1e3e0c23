package streamtest_test

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
)

// A server started on a stream is waited for before a client uses it: by
// its output, which here also tells the port it got, and by its port.
func ExampleStream_WaitPort() {
	sess := streamtest.NewSession("ExampleStream_WaitPort")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment())

	srv := s.At(1)
	srv.Run(code.GoProgram("./testdata/listen", "127.0.0.1:0")) // a TCP server on a free port
	m := srv.WaitOutput(regexp.MustCompile(`^listening on 127\.0\.0\.1:(\d+) `), time.Minute)
	port, _ := strconv.Atoi(m[1])
	srv.WaitPort(port, 10*time.Second) // from where the stream is: srv.Host():port
	fmt.Println("the server accepts connections; still running:", srv.Active())
	// Output:
	// the server accepts connections; still running: true
}

func ExampleStream_WaitOutput() {
	sess := streamtest.NewSession("ExampleStream_WaitOutput")
	defer sess.Close()
	s := streamtest.For(sess, streamtest.IgnoreEnvironment())

	st := s.At(1)
	st.Run(code.Shell("sleep 0.1; echo 'ready: 3 members'; exec sleep 60"))
	m := st.WaitOutput(regexp.MustCompile(`ready: (\d+) members`), 10*time.Second)
	fmt.Println(m[1], "members; still running:", st.Active())

	_, err := st.TryWaitOutput(regexp.MustCompile(`leader elected`), 100*time.Millisecond)
	fmt.Println(err != nil)
	// Output:
	// 3 members; still running: true
	// true
}
