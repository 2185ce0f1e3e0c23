// Command probe measures what the network between two streams does: it
// asks HOST:PORT for N TCP connections, one after the other, each given
// TIMEOUT, and prints how many were answered (accepted or refused: either
// proves the path both ways) and the median time of an answer.
//
//	probe [-n N] [-timeout D] HOST:PORT
//
// Its last line is "answered K of N, median M" (M in microseconds, -1 when
// none was answered). The tests of network faults ship it with
// code.GoProgram.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 1, "connections to ask for")
	timeout := flag.Duration("timeout", time.Second, "how long one connection may take")
	flag.Parse()
	if flag.NArg() != 1 || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: probe [-n N] [-timeout D] HOST:PORT")
		os.Exit(2)
	}
	var times []time.Duration
	for i := 0; i < *n; i++ {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", flag.Arg(0))
		cancel()
		if err == nil {
			c.Close()
		}
		if err == nil || errors.Is(err, syscall.ECONNREFUSED) {
			times = append(times, time.Since(start))
		}
	}
	median := time.Duration(-1)
	if len(times) > 0 {
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		median = times[len(times)/2]
	}
	fmt.Printf("answered %d of %d, median %d\n", len(times), *n, median.Microseconds())
}
