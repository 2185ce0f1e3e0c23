package netns_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/streamtest/streamtest/lab/netns"
)

// Up and Down are what `streamtest lab up` and `lab down` run. Up needs root.
func ExampleUp() {
	ctx := context.Background()
	lab, err := netns.Up(ctx, netns.Options{Hosts: 2, Isolated: 1, Dir: ".lab", Stdout: os.Stdout})
	if err != nil {
		log.Fatal(err) // says what to install, or that it needs root
	}
	defer netns.Down(ctx, lab.Dir, os.Stdout)
	fmt.Println("STREAMTEST_PARAMS=" + lab.Params)
}
