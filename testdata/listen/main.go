// Command listen is a TCP server the readiness tests start on a stream:
// after -delay it listens on its address, prints "listening on ADDR at
// TIME" (TIME in RFC 3339 with nanoseconds: the instant it began to
// listen), and accepts connections, closing each at once; with -once it
// exits after the first.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	delay := flag.Duration("delay", 0, "wait this long before listening")
	once := flag.Bool("once", false, "exit after the first connection")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: listen [-delay d] [-once] host:port")
		os.Exit(2)
	}
	time.Sleep(*delay)
	l, err := net.Listen("tcp", flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s at %s\n", l.Addr(), time.Now().Format(time.RFC3339Nano))
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "accept:", err)
			os.Exit(1)
		}
		c.Close()
		if *once {
			return
		}
	}
}
