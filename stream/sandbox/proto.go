package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// The test and the sandbox's init talk over a unix socket of type
// SOCK_SEQPACKET: one JSON message per packet, the standard files of a
// process to start attached to its start message (SCM_RIGHTS).
//
//	test -> init: start {id, path, args, env, dir} + files; signal {id, sig}
//	init -> test: ready (once); started {id} or error {id, err}; exit {id, status}
type message struct {
	Op     string   `json:"op"`
	ID     int      `json:"id,omitempty"`
	Path   string   `json:"path,omitempty"`
	Args   []string `json:"args,omitempty"`
	Env    []string `json:"env,omitempty"`
	Dir    string   `json:"dir,omitempty"`
	Sig    int      `json:"sig,omitempty"`
	Status uint32   `json:"status,omitempty"` // a wait status
	Err    string   `json:"err,omitempty"`
}

// maxFiles bounds the files one start message carries.
const maxFiles = 16

// socketPair returns the test's end, as a connection, and the init's end,
// as a file to hand to the sandbox.
func socketPair() (*net.UnixConn, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "sandbox-control")
	defer ours.Close()
	c, err := net.FileConn(ours)
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "sandbox-init-control"), nil
}

func send(c *net.UnixConn, m message, files []*os.File) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = syscall.UnixRights(fds...)
	}
	_, _, err = c.WriteMsgUnix(data, oob, nil)
	return err
}

// receive reads one message and the files attached to it.
func receive(c *net.UnixConn, buf, oob []byte) (message, []*os.File, error) {
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return message{}, nil, err
	}
	if n == 0 {
		return message{}, nil, errors.New("connection closed")
	}
	var files []*os.File
	if oobn > 0 {
		cmsgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return message{}, nil, err
		}
		for _, cm := range cmsgs {
			fds, err := syscall.ParseUnixRights(&cm)
			if err != nil {
				return message{}, nil, err
			}
			for _, fd := range fds {
				files = append(files, os.NewFile(uintptr(fd), "received"))
			}
		}
	}
	var m message
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		for _, f := range files {
			f.Close()
		}
		return message{}, nil, fmt.Errorf("bad message: %w", err)
	}
	return m, files, nil
}
