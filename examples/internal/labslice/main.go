// Command labslice writes the streams the slice example needs from a netns
// lab brought up with isolated hosts (streamtest lab up --hosts 4
// --isolated 2): streams 3 and 4 are the lab's first two isolated hosts,
// which its other hosts cannot reach. Given after the lab's params.yaml,
// the file replaces the lab's streams 3 and 4:
//
//	go run ./examples/internal/labslice .lab >slice.yaml
//	STREAMTEST_PARAMS=$PWD/.lab/params.yaml:$PWD/slice.yaml go test ./examples/slice
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/streamtest/streamtest/lab/netns"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: labslice LAB_DIR")
		os.Exit(2)
	}
	l, err := netns.Load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "labslice:", err)
		os.Exit(1)
	}
	var isolated []netns.Host
	for _, h := range l.Hosts {
		if h.Isolated {
			isolated = append(isolated, h)
		}
	}
	if len(isolated) < 2 {
		fmt.Fprintf(os.Stderr, "labslice: the lab in %s has %d isolated hosts, the slice needs 2: bring it up with `streamtest lab up --hosts 4 --isolated 2`\n", os.Args[1], len(isolated))
		os.Exit(1)
	}
	fmt.Printf("# Streams 3 and 4 of the slice example: the isolated hosts of the netns lab in %s.\n", l.Dir)
	fmt.Println("avocado:\n  streams:")
	for i, h := range isolated[:2] {
		// JSON is YAML: quoted strings need no escaping of our own.
		s, err := json.Marshal(map[string]string{"type": "remote", "host": h.Addr, "user": l.User, "key": l.Key, "known_hosts": l.KnownHosts})
		if err != nil {
			panic(err)
		}
		fmt.Printf("    - %d: %s\n", i+3, s)
	}
}
