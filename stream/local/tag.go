package local

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Every process a local stream starts carries a tag in its environment,
//
//	STREAMTEST_LOCAL_TAG=<owner>.<stream>
//
// where owner names this test process and stream the stream. Children
// inherit it, also those that leave the block's process group or session,
// and /proc/PID/environ keeps the environment a program was started with, so
// the tag finds a stream's processes, and a dead test binary's, when their
// ancestry is lost. (A program started with an emptied environment, env -i,
// is not found.)
const tagVar = "STREAMTEST_LOCAL_TAG"

// ownerTag names this test process's local streams.
var ownerTag = newTag()

func newTag() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// tagged returns the pids of the live processes whose environment has
// tagVar=value, or tagVar=value.* when prefix is set.
func tagged(value string, prefix bool) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte(tagVar + "=" + value)
	self := os.Getpid()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, want) || prefix && bytes.HasPrefix(kv, append(want, '.')) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// killTagged SIGKILLs every process tagged value (see tagged), again and
// again until none is left or a second has passed: a process may fork while
// its siblings die.
func killTagged(value string, prefix bool) {
	deadline := time.Now().Add(time.Second)
	for {
		pids := tagged(value, prefix)
		live := 0
		for _, pid := range pids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil && !isZombie(pid) {
				live++
			}
		}
		if live == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isZombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(data, ')')
	return i < 0 || len(data) < i+3 || data[i+2] == 'Z'
}
