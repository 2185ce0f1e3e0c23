package remote_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/streamtest/streamtest/stream"
	"github.com/streamtest/streamtest/stream/remote"
)

// An implementer's use of a remote stream, without the manager: what the
// manager does for every stream a test uses. Test writers define the stream
// in a parameters file instead and call streamtest.For(t).
func ExampleNew() {
	env, err := remote.New(stream.Config{
		ID:   "1",
		Type: "remote",
		Params: stream.Values{
			"host":            "10.199.1.11",
			"user":            "streamtest",
			"key":             []string{".lab/id_ed25519"},
			"known_hosts":     []string{".lab/known_hosts"},
			"connect_timeout": 5 * time.Second,
		},
		Logf: log.Printf,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer env.Close() // kills what still runs, removes the work directory
	ctx := context.Background()
	if err := env.Setup(ctx); err != nil {
		log.Fatal(err) // cannot connect to 10.199.1.11:22: ... (the manager adds "stream 1 (remote, host 10.199.1.11): set up: ")
	}
	p, err := env.Start(ctx, &stream.Command{Args: []string{"uname", "-n"}, Stdout: os.Stdout})
	if err != nil {
		log.Fatal(err)
	}
	exit, err := p.Wait()
	fmt.Println(exit.Success(), err)
}

// The parameters a remote stream accepts, as `streamtest types` lists them.
func ExampleParams() {
	for _, p := range remote.Params[:3] {
		fmt.Printf("%s (%v)\n", p.Name, p.Kind)
	}
	// Output:
	// host (string)
	// port (int)
	// user (string)
}
