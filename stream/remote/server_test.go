package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	"golang.org/x/sys/unix"
)

// testServer is an in-process SSH server for unit tests: it runs exec
// requests with the local /bin/sh -c, as sshd does with the login shell,
// serves SFTP, and forwards direct-tcpip channels (for ProxyJump). Closing a
// channel closes the command's standard input, as with sshd. With
// maxSessions set (before the first connection), it refuses a session
// channel beyond that many open on one connection, as sshd's MaxSessions
// does ("administratively prohibited: open failed").
type testServer struct {
	maxSessions int
	slowLogin   time.Duration // each key login takes this long, for handshakes that overlap
	addr        string        // 127.0.0.1:port
	hostKey     ssh.Signer
	clientKey   string // private key file
	knownHosts  string // known_hosts file with the host key
	password    string
	ln          net.Listener

	mu       sync.Mutex
	conns    []ssh.Conn
	logins   int
	refusals int // session channels refused for maxSessions

	// connections whose key was not checked yet: now, at most (key
	// logins only: a connection that fails stays counted)
	handshaking, maxHandshaking int
}

// counts returns the logins so far and the session channels refused.
func (s *testServer) counts() (logins, refusals int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins, s.refusals
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	dir := t.TempDir()
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostKey, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, clientPriv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(clientPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{hostKey: hostKey, password: "right-password", clientKey: filepath.Join(dir, "id_ed25519")}
	if err := os.WriteFile(s.clientKey, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	authorized, _ := ssh.NewPublicKey(clientPub)
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			time.Sleep(s.slowLogin)
			s.mu.Lock()
			s.handshaking-- // before the client learns it is in
			s.mu.Unlock()
			if string(k.Marshal()) == string(authorized.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if string(pw) == s.password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
	}
	cfg.AddHostKey(hostKey)
	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = s.ln.Addr().String()
	s.knownHosts = filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{s.addr}, hostKey.PublicKey())
	if err := os.WriteFile(s.knownHosts, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, cfg)
		}
	}()
	t.Cleanup(func() {
		s.ln.Close()
		s.dropAll()
	})
	return s
}

func (s *testServer) port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// dropAll closes every connection, as a crashed server would.
func (s *testServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *testServer) serve(nc net.Conn, cfg *ssh.ServerConfig) {
	s.mu.Lock()
	s.handshaking++
	s.maxHandshaking = max(s.maxHandshaking, s.handshaking)
	s.mu.Unlock()
	conn, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		nc.Close()
		return
	}
	s.mu.Lock()
	s.conns = append(s.conns, conn)
	s.logins++
	s.mu.Unlock()
	go func() {
		for r := range reqs {
			if r.WantReply {
				r.Reply(r.Type == "keepalive@openssh.com", nil)
			}
		}
	}()
	var sessions int
	var sessMu sync.Mutex
	for nch := range chans {
		switch nch.ChannelType() {
		case "session":
			sessMu.Lock()
			full := s.maxSessions > 0 && sessions >= s.maxSessions
			if !full {
				sessions++
			}
			sessMu.Unlock()
			if full {
				s.mu.Lock()
				s.refusals++
				s.mu.Unlock()
				nch.Reject(ssh.Prohibited, "open failed")
				continue
			}
			ch, creqs, err := nch.Accept()
			if err != nil {
				sessMu.Lock()
				sessions--
				sessMu.Unlock()
				continue
			}
			go func() {
				s.session(ch, creqs)
				sessMu.Lock()
				sessions--
				sessMu.Unlock()
			}()
		case "direct-tcpip":
			var p struct {
				Host     string
				Port     uint32
				OrigHost string
				OrigPort uint32
			}
			if err := ssh.Unmarshal(nch.ExtraData(), &p); err != nil {
				nch.Reject(ssh.ConnectionFailed, err.Error())
				continue
			}
			out, err := net.Dial("tcp", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
			if err != nil {
				nch.Reject(ssh.ConnectionFailed, err.Error())
				continue
			}
			ch, creqs, err := nch.Accept()
			if err != nil {
				out.Close()
				continue
			}
			go ssh.DiscardRequests(creqs)
			go func() { io.Copy(ch, out); ch.CloseWrite() }()
			go func() { io.Copy(out, ch); out.Close() }()
		default:
			nch.Reject(ssh.UnknownChannelType, "unsupported")
		}
	}
}

func (s *testServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for r := range reqs {
		switch r.Type {
		case "exec":
			var p struct{ Command string }
			ssh.Unmarshal(r.Payload, &p)
			r.Reply(true, nil)
			s.exec(ch, p.Command)
			return
		case "subsystem":
			var p struct{ Name string }
			ssh.Unmarshal(r.Payload, &p)
			if p.Name != "sftp" {
				r.Reply(false, nil)
				continue
			}
			r.Reply(true, nil)
			srv, err := sftp.NewServer(ch)
			if err == nil {
				srv.Serve()
			}
			return
		default:
			if r.WantReply {
				r.Reply(false, nil)
			}
		}
	}
}

// exec runs command as sshd does: its stdin, stdout and stderr are pipes
// to the channel; the exit status (or signal) is sent when the command
// ends, and the channel is closed once its output is at EOF, which
// background processes holding it open delay.
func (s *testServer) exec(ch ssh.Channel, command string) {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	inR, inW, err1 := os.Pipe()
	outR, outW, err2 := os.Pipe()
	errR, errW, err3 := os.Pipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		sendExit(ch, 127, "")
		return
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	err := cmd.Start()
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		sendExit(ch, 127, "")
		return
	}
	go func() {
		io.Copy(inW, ch) // ends when the client sends EOF or closes the channel
		inW.Close()
	}()
	var copies sync.WaitGroup
	copies.Add(2)
	go func() { defer copies.Done(); io.Copy(ch, outR); outR.Close() }()
	go func() { defer copies.Done(); io.Copy(ch.Stderr(), errR); errR.Close() }()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		sendExit(ch, 0, "")
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sendExit(ch, -1, strings.TrimPrefix(unix.SignalName(ws.Signal()), "SIG"))
		} else {
			sendExit(ch, ee.ExitCode(), "")
		}
	}
	copies.Wait()
}

func sendExit(ch ssh.Channel, code int, sig string) {
	if sig != "" {
		ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Msg, Lang  string
		}{Signal: sig}))
		return
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(code))
	ch.SendRequest("exit-status", false, b[:])
}
