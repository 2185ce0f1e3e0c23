package streamtest_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// parkedEnv makes this test binary run parkedReader instead of its tests:
// the members of BenchmarkPipeRelease.
const parkedEnv = "STREAMTEST_BENCH_PARKED_READER"

// init runs parkedReader, before TestMain, in the processes
// BenchmarkPipeRelease starts.
func init() {
	switch os.Getenv(parkedEnv) {
	case "loop":
		parkedReader()
		os.Exit(0)
	case "exec":
		parkedOnce()
		os.Exit(1)
	}
}

// parkedReader is one member of BenchmarkPipeRelease, with no streamtest
// code: it blocks in read(2) on its standard input, notes the time when a
// byte arrives, writes it (Unix nanoseconds, 8 bytes) to its standard
// output, then waits for one byte on file descriptor 3 before it parks
// again (so that, on a pipe shared by every member, each one takes one
// byte per round). It ends when either input ends.
func parkedReader() {
	syscall.SetNonblock(0, false)
	syscall.SetNonblock(3, false)
	var b [1]byte
	for {
		if !readByte(0, b[:]) {
			return
		}
		if !writeNow() {
			return
		}
		if !readByte(3, b[:]) {
			return
		}
	}
}

// parkedOnce is a member that runs a program once released, as a gate
// does: it says it is parked (one byte on file descriptor 3), blocks on
// its standard input, notes the time, then execs /bin/true.
func parkedOnce() {
	syscall.SetNonblock(0, false)
	var b [1]byte
	syscall.Write(3, b[:])
	if readByte(0, b[:]) && writeNow() {
		syscall.Exec("/bin/true", []string{"true"}, nil)
	}
}

// writeNow writes the time to standard output, as Unix nanoseconds.
func writeNow() bool {
	var out [8]byte
	binary.LittleEndian.PutUint64(out[:], uint64(time.Now().UnixNano()))
	_, err := syscall.Write(1, out[:])
	return err == nil
}

func readByte(fd int, b []byte) bool {
	for {
		n, err := syscall.Read(fd, b)
		if err == syscall.EINTR {
			continue
		}
		return n == 1
	}
}

// BenchmarkPipeRelease is the floor of the local BenchmarkSynchronizedSkew
// on this machine: n processes (this test binary, running parkedReader,
// no streamtest code) parked in read(2) on a pipe, released at once, each
// noting the time it woke. It reports the spread between the first and the
// last wake-up as skew-µs (the mean) and max-skew-µs (the worst), like
// BenchmarkSynchronizedSkew. one-pipe: every member reads the same pipe,
// released by one write of n bytes (the kernel wakes one reader, which
// wakes the next); pipe-each: a pipe per member, one write each in a loop,
// as the gates of a synchronized group are released; exec: the same with
// fresh members that exec /bin/true once woken, as gates exec their
// program (the members that woke first take CPU from those still waking).
// As there, the wake times are read after the round, not as they come.
func BenchmarkPipeRelease(b *testing.B) {
	for _, mode := range []string{"one-pipe", "pipe-each", "exec"} {
		for _, n := range []int{2, 4, 8} {
			b.Run(fmt.Sprintf("%s/procs=%d", mode, n), func(b *testing.B) {
				if mode == "exec" {
					benchPipeReleaseExec(b, n)
					return
				}
				benchPipeRelease(b, mode == "one-pipe", n)
			})
		}
	}
}

// benchPipeReleaseExec starts n fresh members per round (parkedOnce),
// waits until each is parked, releases them with one write each, and
// records the spread of their wake times.
func benchPipeReleaseExec(b *testing.B, n int) {
	var total, worst time.Duration
	for b.Loop() {
		b.StopTimer()
		reports, reportW, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		parked, parkedW, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		var release []*os.File
		var cmds []*exec.Cmd
		for range n {
			r, w, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			release = append(release, w)
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), parkedEnv+"=exec", "GOMAXPROCS=1")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = r, reportW, os.Stderr
			cmd.ExtraFiles = []*os.File{parkedW}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			r.Close()
			cmds = append(cmds, cmd)
		}
		reportW.Close()
		parkedW.Close()
		if _, err := io.ReadFull(parked, make([]byte, n)); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Millisecond) // in read(2) by now
		b.StartTimer()
		for _, w := range release {
			w.Write([]byte{1})
		}
		buf, err := io.ReadAll(reports)
		if err != nil || len(buf) != 8*n {
			b.Fatalf("%d bytes of reports, want %d: %v", len(buf), 8*n, err)
		}
		b.StopTimer()
		first, last := int64(1<<63-1), int64(0)
		for i := range n {
			t := int64(binary.LittleEndian.Uint64(buf[8*i:]))
			first, last = min(first, t), max(last, t)
		}
		skew := time.Duration(last - first)
		total += skew
		worst = max(worst, skew)
		for i, c := range cmds {
			release[i].Close()
			if err := c.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		reports.Close()
		parked.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "skew-µs")
	b.ReportMetric(float64(worst.Microseconds()), "max-skew-µs")
}

func benchPipeRelease(b *testing.B, shared bool, n int) {
	reports, reportW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer reports.Close()
	var release, rearm []*os.File // our ends
	var shareR *os.File
	if shared {
		r, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		shareR, release = r, []*os.File{w}
	}
	var cmds []*exec.Cmd
	for range n {
		in := shareR
		if !shared {
			r, w, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			in, release = r, append(release, w)
		}
		ar, aw, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		rearm = append(rearm, aw)
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), parkedEnv+"=loop", "GOMAXPROCS=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = in, reportW, os.Stderr
		cmd.ExtraFiles = []*os.File{ar}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, cmd)
		ar.Close()
		if !shared {
			in.Close()
		}
	}
	if shared {
		shareR.Close()
	}
	reportW.Close()
	defer func() {
		for _, f := range append(release, rearm...) {
			f.Close()
		}
		for _, c := range cmds {
			c.Wait()
		}
	}()
	go0 := make([]byte, n)
	one := []byte{1}
	buf := make([]byte, 8*n)
	time.Sleep(200 * time.Millisecond) // every member started and parked
	var total, worst time.Duration
	for b.Loop() {
		if shared {
			release[0].Write(go0)
		} else {
			for _, w := range release {
				w.Write(one)
			}
		}
		time.Sleep(2 * time.Millisecond) // read after the round, not during it
		if _, err := io.ReadFull(reports, buf); err != nil {
			b.Fatal(err)
		}
		first, last := int64(1<<63-1), int64(0)
		for i := range n {
			t := int64(binary.LittleEndian.Uint64(buf[8*i:]))
			first, last = min(first, t), max(last, t)
		}
		skew := time.Duration(last - first)
		total += skew
		worst = max(worst, skew)
		for _, w := range rearm {
			w.Write(one)
		}
		time.Sleep(time.Millisecond) // parked again
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "skew-µs")
	b.ReportMetric(float64(worst.Microseconds()), "max-skew-µs")
}
