package remote

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/streamtest/streamtest/stream"
)

// settings is a stream's parameters after ssh_config was applied.
type settings struct {
	host           string // as the parameters gave it
	keys           []string
	password       string
	agent          bool
	agentSet       bool
	knownHosts     []string
	insecure       bool
	connectTimeout time.Duration
	keepalive      time.Duration
	maxSessions    int
	netAdmin       string             // the net_admin prefix
	sshConfig      *ssh_config.Config // nil when there is no file
	sshConfigPath  string

	// explicit parameters, which win over ssh_config
	port int
	user string
}

const (
	defaultConnectTimeout = 10 * time.Second
	defaultKeepalive      = 5 * time.Second
)

func parseSettings(cfg stream.Config) (*settings, error) {
	p := cfg.Params
	s := &settings{
		host:           p.String("host", ""),
		port:           p.Int("port", 0),
		user:           p.String("user", ""),
		password:       p.String("password", ""),
		agent:          p.Bool("agent", false),
		insecure:       p.Bool("insecure_ignore_host_key", false),
		connectTimeout: p.Duration("connect_timeout", defaultConnectTimeout),
		keepalive:      p.Duration("keepalive", defaultKeepalive),
		maxSessions:    p.Int("max_sessions", defaultMaxSessions),
		netAdmin:       p.String("net_admin", "sudo -n"),
	}
	_, s.agentSet = p["agent"]
	if s.host == "" {
		return nil, errors.New("parameter host is required")
	}
	if s.port < 0 || s.port > 65535 {
		return nil, fmt.Errorf("port %d is out of range", s.port)
	}
	if s.maxSessions < 1 {
		return nil, fmt.Errorf("max_sessions must be at least 1, not %d", s.maxSessions)
	}
	if s.connectTimeout <= 0 {
		return nil, fmt.Errorf("connect_timeout must be positive, not %v", s.connectTimeout)
	}
	for _, k := range p.Strings("key") {
		s.keys = append(s.keys, stream.ResolvePath(k, cfg.Dir))
	}
	for _, k := range p.Strings("known_hosts") {
		s.knownHosts = append(s.knownHosts, stream.ResolvePath(k, cfg.Dir))
	}
	s.sshConfigPath = p.Path("ssh_config", cfg.Dir, "~/.ssh/config")
	if s.sshConfigPath != "" {
		data, err := os.ReadFile(s.sshConfigPath)
		switch {
		case err == nil:
			c, err := ssh_config.DecodeBytes(data)
			if err != nil {
				return nil, fmt.Errorf("ssh_config %s: %w", s.sshConfigPath, err)
			}
			s.sshConfig = c
		case errors.Is(err, fs.ErrNotExist) && p["ssh_config"] == nil:
			// no user configuration: fine
		default:
			return nil, fmt.Errorf("ssh_config: %w", err)
		}
	}
	return s, nil
}

// hop is one SSH server to log in to, after ssh_config: the target or a
// ProxyJump host.
type hop struct {
	alias    string // the name as given: "db", "10.199.1.11"
	hostname string // the name to connect to
	port     int
	user     string
	keys     []string // identity files
	known    []string // known_hosts files
	jump     string   // ProxyJump value ("" or "none": direct)
}

func (h hop) addr() string { return net.JoinHostPort(h.hostname, strconv.Itoa(h.port)) }

// get reads key for alias from the ssh_config file; "" when absent.
func (s *settings) get(alias, key string) string {
	if s.sshConfig == nil {
		return ""
	}
	v, _ := s.sshConfig.Get(alias, key)
	return v
}

func (s *settings) getAll(alias, key string) []string {
	if s.sshConfig == nil {
		return nil
	}
	v, _ := s.sshConfig.GetAll(alias, key)
	return v
}

// resolve applies ssh_config to spec ("[user@]host[:port]" for ProxyJump
// entries, or the plain host), the way ssh(1) does: what the command line
// (here: explicit parameters) says wins, then the first matching Host block.
func (s *settings) resolve(spec string, explicitUser string, explicitPort int, target bool) hop {
	alias, u, port := spec, explicitUser, explicitPort
	if !target {
		if i := strings.LastIndexByte(alias, '@'); i >= 0 {
			u, alias = alias[:i], alias[i+1:]
		}
		if h, p, err := net.SplitHostPort(alias); err == nil {
			alias = h
			port, _ = strconv.Atoi(p)
		}
	}
	h := hop{alias: alias}
	h.hostname = alias
	if v := s.get(alias, "HostName"); v != "" {
		h.hostname = strings.ReplaceAll(v, "%h", alias)
	}
	h.port = port
	if h.port == 0 {
		if v, err := strconv.Atoi(s.get(alias, "Port")); err == nil {
			h.port = v
		}
	}
	if h.port == 0 {
		h.port = 22
	}
	h.user = u
	if h.user == "" {
		h.user = s.get(alias, "User")
	}
	if h.user == "" {
		if cu, err := user.Current(); err == nil {
			h.user = cu.Username
		}
	}
	tokens := strings.NewReplacer("%h", h.hostname, "%u", localUser(), "%r", h.user, "%p", strconv.Itoa(h.port), "%d", homeDir(), "%%", "%")
	if target {
		h.keys = append(h.keys, s.keys...)
	}
	for _, f := range s.getAll(alias, "IdentityFile") {
		h.keys = append(h.keys, expand(tokens.Replace(f)))
	}
	if target {
		h.known = append(h.known, s.knownHosts...)
	}
	if len(h.known) == 0 {
		for _, v := range s.getAll(alias, "UserKnownHostsFile") {
			for _, f := range strings.Fields(v) {
				if f != "none" {
					h.known = append(h.known, expand(tokens.Replace(f)))
				}
			}
		}
	}
	if len(h.known) == 0 {
		h.known = []string{expand("~/.ssh/known_hosts")}
	}
	h.jump = s.get(alias, "ProxyJump")
	return h
}

func localUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

func homeDir() string {
	h, _ := os.UserHomeDir()
	return h
}

func expand(p string) string { return stream.ResolvePath(p, "") }

// authMethods returns how to log in to h: identity files, the agent, the
// password. Without any key, agent or password given, the default identity
// files and the agent (when SSH_AUTH_SOCK is set) are tried, as ssh(1) does.
func (s *settings) authMethods(h hop) ([]ssh.AuthMethod, func(), error) {
	var signers []ssh.Signer
	keys := h.keys
	explicit := len(keys) > 0 || s.password != "" || s.agentSet
	if len(keys) == 0 && !explicit {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			f := expand("~/.ssh/" + n)
			if _, err := os.Stat(f); err == nil {
				keys = append(keys, f)
			}
		}
	}
	for _, f := range keys {
		data, err := os.ReadFile(f)
		if err != nil {
			if len(h.keys) == 0 {
				continue // a default that is not there
			}
			return nil, nil, fmt.Errorf("identity file: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(data)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, nil, fmt.Errorf("identity file %s is protected by a passphrase; load it into an ssh-agent and set agent: true", f)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("identity file %s: %w", f, err)
		}
		signers = append(signers, signer)
	}
	var methods []ssh.AuthMethod
	closeAgent := func() {}
	useAgent := s.agent || (!explicit && os.Getenv("SSH_AUTH_SOCK") != "")
	if useAgent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, nil, errors.New("agent: true but SSH_AUTH_SOCK is not set")
		}
		c, err := net.Dial("unix", sock)
		if err != nil {
			return nil, nil, fmt.Errorf("ssh agent at SSH_AUTH_SOCK: %w", err)
		}
		closeAgent = func() { c.Close() }
		ag := agent.NewClient(c)
		methods = append(methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			as, err := ag.Signers()
			return append(append([]ssh.Signer(nil), signers...), as...), err
		}))
	} else if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if s.password != "" {
		pw := s.password
		methods = append(methods, ssh.Password(pw),
			ssh.KeyboardInteractive(func(name, instruction string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	if len(methods) == 0 {
		closeAgent()
		return nil, nil, errors.New("no way to log in: give key, password or agent: true (no default identity file in ~/.ssh and SSH_AUTH_SOCK is not set)")
	}
	return methods, closeAgent, nil
}

// HostKeyError is a host key that is not known or does not match
// known_hosts. Its message gives the key's fingerprint and what to do.
type HostKeyError struct {
	Host        string // as dialled: "10.199.1.11:22"
	Key         ssh.PublicKey
	Changed     bool     // known_hosts holds other keys for the host
	KnownHosts  []string // the files consulted
	Mismatching []string // file:line of the keys that were expected
}

func (e *HostKeyError) Error() string {
	host, port, _ := net.SplitHostPort(e.Host)
	fp := ssh.FingerprintSHA256(e.Key)
	portFlag := ""
	if port != "" && port != "22" {
		portFlag = "-p " + port + " "
	}
	file := "~/.ssh/known_hosts"
	if len(e.KnownHosts) > 0 {
		file = e.KnownHosts[0]
	}
	if e.Changed {
		return fmt.Sprintf("HOST KEY CHANGED for %s: it offered %s key %s, which does not match known_hosts (%s); "+
			"this may be an attack, or the host was re-installed. If you know the new key is right, remove the old one "+
			"(ssh-keygen -R %s -f %s) and add the new one (ssh-keyscan %s-t %s %s >> %s)",
			e.Host, e.Key.Type(), fp, strings.Join(e.Mismatching, ", "),
			knownhosts.Normalize(e.Host), file, portFlag, keyscanType(e.Key), host, file)
	}
	return fmt.Sprintf("host key of %s is not known: it offered %s key %s, which is in none of %s; "+
		"if that fingerprint is right, trust it with: ssh-keyscan %s-t %s %s >> %s "+
		"(or set insecure_ignore_host_key: true for throw-away hosts)",
		e.Host, e.Key.Type(), fp, strings.Join(e.KnownHosts, ", "), portFlag, keyscanType(e.Key), host, file)
}

func keyscanType(k ssh.PublicKey) string {
	switch t := k.Type(); {
	case t == ssh.KeyAlgoED25519:
		return "ed25519"
	case t == ssh.KeyAlgoRSA:
		return "rsa"
	case strings.HasPrefix(t, "ecdsa"):
		return "ecdsa"
	default:
		return t
	}
}

// warnInsecure logs, in the stream's log, that h's host key is not
// checked. Every stream that uses such a connection logs it, the streams
// that share one dialled by another included.
func warnInsecure(logf func(string, ...any), h hop) {
	logf("WARNING: stream host %s: insecure_ignore_host_key is set; the host key is NOT verified and anyone on the path can impersonate the host", h.alias)
}

// hostKeyCheck returns the callback that checks h's host key against its
// known_hosts files, and the key algorithms to ask for (those known_hosts
// has for the host, so that a host with several keys offers the known one).
func (s *settings) hostKeyCheck(h hop, logf func(string, ...any)) (ssh.HostKeyCallback, []string, error) {
	if s.insecure {
		warnInsecure(logf, h)
		return ssh.InsecureIgnoreHostKey(), nil, nil
	}
	var files []string
	for _, f := range h.known {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	var cb ssh.HostKeyCallback
	if len(files) > 0 {
		var err error
		cb, err = knownhosts.New(files...)
		if err != nil {
			return nil, nil, fmt.Errorf("known_hosts: %w", err)
		}
	} else {
		cb = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
	}
	check := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			he := &HostKeyError{Host: hostname, Key: key, Changed: len(ke.Want) > 0, KnownHosts: h.known}
			for _, w := range ke.Want {
				he.Mismatching = append(he.Mismatching, fmt.Sprintf("%s:%d", w.Filename, w.Line))
			}
			return he
		}
		return err
	}
	// Ask the known_hosts for the host with a key it cannot hold, to learn
	// which key types it knows.
	var algos []string
	err := cb(h.addr(), &net.TCPAddr{}, probeKey)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) {
		seen := map[string]bool{}
		for _, w := range ke.Want {
			for _, a := range algorithmsFor(w.Key.Type()) {
				if !seen[a] {
					seen[a] = true
					algos = append(algos, a)
				}
			}
		}
	}
	return check, algos, nil
}

func algorithmsFor(keyType string) []string {
	switch keyType {
	case ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	case ssh.CertAlgoRSAv01:
		return []string{ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01}
	}
	return []string{keyType}
}

// probeKey is an ed25519 key no known_hosts file holds.
var probeKey = func() ssh.PublicKey {
	k, err := ssh.ParsePublicKey(append([]byte("\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"), bytes.Repeat([]byte{7}, 32)...))
	if err != nil {
		panic(err)
	}
	return k
}()
