// Command probe measures what the network between two streams does: it
// asks HOST:PORT for N TCP connections, one after the other, each given
// TIMEOUT, and prints how many were answered (accepted or refused: either
// proves the path both ways) and the median time of an answer.
//
//	probe [-n N] [-timeout D] HOST:PORT
//
// Its last line is "answered K of N, median M" (M in microseconds, -1 when
// none was answered). With -sink it listens on :PORT instead, reads each
// connection to its end and answers with a byte; with -send BYTES it sends
// that many bytes to HOST:PORT, waits for the answer and prints "sent B in
// D" (D in microseconds). The tests of network faults ship it with
// code.GoProgram.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 1, "connections to ask for")
	timeout := flag.Duration("timeout", time.Second, "how long one connection may take")
	sink := flag.Int("sink", 0, "listen on this port and read what comes")
	send := flag.Int("send", 0, "bytes to send to HOST:PORT")
	flag.Parse()
	if *sink > 0 {
		serve(*sink)
		return
	}
	if *send > 0 && flag.NArg() == 1 {
		if err := sendBytes(flag.Arg(0), *send); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		return
	}
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

func serve(port int) {
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			defer c.Close()
			io.Copy(io.Discard, c)
			c.Write([]byte{1})
		}()
	}
}

func sendBytes(addr string, n int) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 32<<10)
	start := time.Now()
	for sent := 0; sent < n; sent += len(buf) {
		if _, err := c.Write(buf[:min(len(buf), n-sent)]); err != nil {
			return err
		}
	}
	c.(*net.TCPConn).CloseWrite()
	if _, err := c.Read(buf[:1]); err != nil {
		return fmt.Errorf("no answer after sending: %w", err)
	}
	fmt.Printf("sent %d in %d\n", n, time.Since(start).Microseconds())
	return nil
}
