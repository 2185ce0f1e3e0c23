package stream_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/streamtest/streamtest/stream"
	_ "github.com/streamtest/streamtest/stream/local"
)

// The RFC's get_implementation: find a stream type by name and use it
// directly, without a test or a manager.
func ExampleImplementation() {
	newEnv, ok := stream.Implementation("process") // an alias of local
	if !ok {
		fmt.Println("not linked")
		return
	}
	env, err := newEnv(stream.Config{ID: "1", Type: "local", Logf: func(string, ...any) {}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Close()
	ctx := context.Background()
	if err := env.Setup(ctx); err != nil {
		fmt.Println(err)
		return
	}
	var out bytes.Buffer
	p, err := env.Start(ctx, &stream.Command{Args: []string{"echo", "hello"}, Stdout: &out})
	if err != nil {
		fmt.Println(err)
		return
	}
	exit, err := p.Wait()
	fmt.Print(out.String(), exit.Code, " ", err, "\n")
	// Output:
	// hello
	// 0 <nil>
}

// A stream type registers itself from an init function; here, a type that
// is a local stream with a fixed host name.
func ExampleRegister() {
	local, _ := stream.Implementation("local")
	stream.Register("example-host", func(cfg stream.Config) (stream.Environment, error) {
		cfg.Params = stream.Values{"host": "node-" + cfg.ID}
		return local(cfg)
	}, stream.Info{Doc: "a local stream named node-<id>"})

	r, _ := stream.Lookup("example-host")
	env, _ := r.New(stream.Config{ID: "7", Logf: func(string, ...any) {}})
	fmt.Println(r.Doc+":", env.Host())
	// Output: a local stream named node-<id>: node-7
}

func ExampleError() {
	_, err := os.Stat("/nonexistent/key")
	fmt.Println(&stream.Error{ID: "2", Type: "remote", Host: "bar.example.com", Op: "set up", Err: err})
	// Output: stream 2 (remote, host bar.example.com): set up: stat /nonexistent/key: no such file or directory
}
