// Command reach is the examples' ping with nothing but Go: it asks HOST's
// kernel for a TCP connection and counts the host as reached when it
// answers, whether it accepts (something listens) or refuses (nothing
// does). Like an ICMP echo, an answer proves a path to the host and back;
// unlike ping it needs no program on the stream and no privilege, so the
// examples run unchanged wherever a stream is: the examples ship it with
// code.GoProgram, built here with cgo off.
//
//	reach [-count N] [-interval D] [-timeout D] [-port P] [-q] HOST
//
// Exit status: 0 when every attempt was answered; 1 when one was not (the
// network is unreachable, there is no route to the host, or nothing
// answered within the timeout); 2 for any other error (a usage error, a
// name that does not resolve), which says nothing about reachability.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	count := flag.Int("count", 1, "attempts, one every -interval")
	interval := flag.Duration("interval", time.Second, "time between attempts")
	timeout := flag.Duration("timeout", 2*time.Second, "how long to wait for an answer to one attempt")
	port := flag.Int("port", 9, "TCP port to ask for; any port works, open or closed")
	quiet := flag.Bool("q", false, "print only the summary")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: reach [-count N] [-interval D] [-timeout D] [-port P] [-q] HOST")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *count < 1 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(flag.Arg(0), *port, *count, *interval, *timeout, *quiet))
}

func run(host string, port, count int, interval, timeout time.Duration, quiet bool) int {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	answered := 0
	for i := 0; i < count; i++ {
		if i > 0 {
			time.Sleep(interval)
		}
		start := time.Now()
		how, err := attempt(addr, timeout)
		var dns *net.DNSError
		switch {
		case errors.As(err, &dns):
			fmt.Fprintf(os.Stderr, "reach: %v\n", err)
			return 2
		case err != nil:
			fmt.Fprintf(os.Stderr, "reach: %s: not reached: %v\n", host, err)
			return 1
		}
		answered++
		if !quiet {
			fmt.Printf("%s answered in %v (%s)\n", addr, time.Since(start).Round(10*time.Microsecond), how)
		}
	}
	fmt.Printf("%s: %d attempts, %d answered\n", host, count, answered)
	return 0
}

// attempt asks for one connection to addr. The host answered when it
// accepted or refused; any other end is returned as an error.
func attempt(addr string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	switch {
	case err == nil:
		c.Close()
		return "accepted", nil
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused", nil
	}
	if ne := net.Error(nil); errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return "", fmt.Errorf("no answer within %v", timeout)
	}
	return "", err
}
