// Package dockerlab makes the docker kind of the local multi-host lab and
// the images streams and the lab use, on a Docker Engine with no registry:
//
//	streamtest lab image                      # builds streamtest/base, /python, /sshd
//	streamtest lab up --kind docker --hosts 3 # DIR/params.yaml: streams 1..3, type remote
//	streamtest lab down --kind docker
//
// A lab host is a container of SSHDImage on a private network, running
// OpenSSH's sshd as its only service, with a host key of its own; the lab
// user (LabUser, login shell /bin/sh without start-up files) logs in with a
// generated ed25519 key; DIR/known_hosts lists every host's key. The
// containers and the network carry the label LabelLab with the lab's
// directory, and are removed by Down; they outlive the command that made
// them, so the start-up sweep of the container stream leaves them alone.
//
// It is for the project's own tests and for users' tests of remote streams;
// it is not a general way to run containers (see package
// github.com/streamtest/streamtest/stream/container for that).
package dockerlab

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"golang.org/x/crypto/ssh"
)

// LabelLab marks the lab's containers and network; the value is the lab's
// directory (absolute).
const LabelLab = "dev.streamtest.lab"

// Options configure Up.
type Options struct {
	Hosts  int       // number of hosts, at least 1
	Dir    string    // where keys, known_hosts, params.yaml and lab.json go
	Image  string    // "" is SSHDImage (built when missing)
	Stdout io.Writer // progress and how to use the lab; nil discards
}

// Lab is what Up made. It is written to DIR/docker-lab.json.
type Lab struct {
	Dir        string `json:"dir"`
	Network    string `json:"network"`
	User       string `json:"user"`
	Key        string `json:"key"`
	KnownHosts string `json:"known_hosts"`
	Params     string `json:"params"`
	Hosts      []Host `json:"hosts"`
}

// Host is one lab host.
type Host struct {
	N         int    `json:"n"`
	Name      string `json:"name"`      // container name, also its host name on the network
	Container string `json:"container"` // container id
	Addr      string `json:"addr"`      // IP address on the lab network
}

// Up makes a lab of opts.Hosts hosts. An existing docker lab in the same
// directory is taken down first.
func Up(ctx context.Context, cli client.APIClient, opts Options) (*Lab, error) {
	if opts.Hosts < 1 {
		return nil, errors.New("dockerlab: at least one host")
	}
	out := opts.Stdout
	if out == nil {
		out = io.Discard
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	image := opts.Image
	if image == "" {
		image = SSHDImage
		if err := Ensure(ctx, cli, out, image); err != nil {
			return nil, fmt.Errorf("dockerlab: %w", err)
		}
	}
	if err := Down(ctx, cli, dir, io.Discard); err != nil {
		return nil, err
	}
	l := &Lab{
		Dir:        dir,
		Network:    "streamtest-lab-" + shortHash(dir),
		User:       LabUser,
		Key:        filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"),
		Params:     filepath.Join(dir, "params.yaml"),
	}
	ok := false
	defer func() {
		if !ok {
			_ = Down(context.WithoutCancel(ctx), cli, dir, io.Discard)
		}
	}()
	lbl := map[string]string{LabelLab: dir}
	if _, err := cli.NetworkCreate(ctx, l.Network, client.NetworkCreateOptions{Driver: "bridge", Labels: lbl}); err != nil {
		return nil, fmt.Errorf("dockerlab: creating network %s: %w", l.Network, err)
	}
	// The client key.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	pemBlock, err := ssh.MarshalPrivateKey(priv, "streamtest-lab")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(l.Key, pem.EncodeToMemory(pemBlock), 0o600); err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	authorized := ssh.MarshalAuthorizedKey(sshPub)
	if err := os.WriteFile(l.Key+".pub", authorized, 0o644); err != nil {
		return nil, err
	}
	var known bytes.Buffer
	for i := 1; i <= opts.Hosts; i++ {
		h, hostPub, err := startHost(ctx, cli, l, i, image, authorized, lbl)
		if err != nil {
			return nil, fmt.Errorf("dockerlab: host %d: %w", i, err)
		}
		l.Hosts = append(l.Hosts, h)
		fmt.Fprintf(&known, "%s,%s %s", h.Addr, h.Name, ssh.MarshalAuthorizedKey(hostPub))
	}
	if err := os.WriteFile(l.KnownHosts, known.Bytes(), 0o644); err != nil {
		return nil, err
	}
	for _, h := range l.Hosts {
		if err := waitSSH(ctx, h.Addr, 20*time.Second); err != nil {
			return nil, fmt.Errorf("dockerlab: host %d (%s): sshd does not answer: %w", h.N, h.Addr, err)
		}
	}
	if err := writeParams(l); err != nil {
		return nil, err
	}
	state, _ := json.MarshalIndent(l, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "docker-lab.json"), append(state, '\n'), 0o644); err != nil {
		return nil, err
	}
	ok = true
	fmt.Fprintf(out, "docker lab: %d hosts on network %s", len(l.Hosts), l.Network)
	for _, h := range l.Hosts {
		fmt.Fprintf(out, ", %d=%s", h.N, h.Addr)
	}
	fmt.Fprintf(out, "\nparameters: %s\n  STREAMTEST_PARAMS=%s go test ./...\n  ssh -i %s -o UserKnownHostsFile=%s %s@%s\n",
		l.Params, l.Params, l.Key, l.KnownHosts, l.User, l.Hosts[0].Addr)
	return l, nil
}

func startHost(ctx context.Context, cli client.APIClient, l *Lab, n int, image string, authorized []byte, lbl map[string]string) (Host, ssh.PublicKey, error) {
	name := fmt.Sprintf("%s-%d", l.Network, n)
	hostname := "lab" + strconv.Itoa(n)
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: image, Hostname: hostname, Labels: lbl},
		HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(l.Network), Init: boolPtr(true),
			// Unprivileged ping (ICMP datagram sockets) for the lab user.
			Sysctls: map[string]string{"net.ipv4.ping_group_range": "0 2147483647"}},
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			l.Network: {Aliases: []string{hostname}},
		}},
		Name: name,
	})
	if err != nil {
		return Host{}, nil, err
	}
	h := Host{N: n, Name: hostname, Container: created.ID}
	// Its own host key, and the client's key for the lab user.
	hpub, hpriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return h, nil, err
	}
	block, err := ssh.MarshalPrivateKey(hpriv, "root@"+hostname)
	if err != nil {
		return h, nil, err
	}
	hostPub, err := ssh.NewPublicKey(hpub)
	if err != nil {
		return h, nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	add := func(name string, mode int64, uid int, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Uid: uid, Gid: uid, Size: int64(len(data)), ModTime: now})
		_, _ = tw.Write(data)
	}
	add("etc/ssh/ssh_host_ed25519_key", 0o600, 0, pem.EncodeToMemory(block))
	add("etc/ssh/ssh_host_ed25519_key.pub", 0o644, 0, ssh.MarshalAuthorizedKey(hostPub))
	_ = tw.WriteHeader(&tar.Header{Name: "home/" + LabUser + "/.ssh/", Typeflag: tar.TypeDir, Mode: 0o700, Uid: LabUID, Gid: LabUID, ModTime: now})
	add("home/"+LabUser+"/.ssh/authorized_keys", 0o600, LabUID, authorized)
	_ = tw.Close()
	if _, err := cli.CopyToContainer(ctx, created.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: &buf, CopyUIDGID: true}); err != nil {
		return h, nil, err
	}
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return h, nil, err
	}
	res, err := cli.ContainerInspect(ctx, created.ID, client.ContainerInspectOptions{})
	if err != nil {
		return h, nil, err
	}
	if ns := res.Container.NetworkSettings; ns != nil {
		if ep := ns.Networks[l.Network]; ep != nil && ep.IPAddress.IsValid() {
			h.Addr = ep.IPAddress.String()
		}
	}
	if h.Addr == "" {
		return h, nil, errors.New("the container has no address on the lab network")
	}
	return h, hostPub, nil
}

func boolPtr(b bool) *bool { return &b }

// waitSSH waits until addr:22 answers with an SSH banner.
func waitSSH(ctx context.Context, addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", net.JoinHostPort(addr, "22"))
		if err == nil {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			b := make([]byte, 4)
			_, err = io.ReadFull(c, b)
			c.Close()
			if err == nil && string(b) == "SSH-" {
				return nil
			}
		}
		last = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

func writeParams(l *Lab) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Streams of the docker lab in %s, written by streamtest lab up --kind docker.\n", l.Dir)
	fmt.Fprintf(&b, "# Hosts are containers of %s on network %s.\navocado:\n  streams:\n", SSHDImage, l.Network)
	for _, h := range l.Hosts {
		fmt.Fprintf(&b, "    - %d: {type: remote, host: %s, port: 22, user: %s, key: %s, known_hosts: %s}\n",
			h.N, h.Addr, l.User, strconv.Quote(l.Key), strconv.Quote(l.KnownHosts))
	}
	return os.WriteFile(l.Params, []byte(b.String()), 0o644)
}

// Down removes the docker lab of dir: its containers and network (found by
// label), and the files Up wrote. Nothing to remove is not an error.
func Down(ctx context.Context, cli client.APIClient, dir string, stdout io.Writer) error {
	if stdout == nil {
		stdout = io.Discard
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	f := make(client.Filters).Add("label", LabelLab+"="+abs)
	cl, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("dockerlab: %w", err)
	}
	cs := cl.Items
	var errs []error
	for _, c := range cs {
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	nl, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		errs = append(errs, err)
	}
	ns := nl.Items
	for _, n := range ns {
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat(filepath.Join(abs, "docker-lab.json")); err == nil {
		for _, name := range []string{"docker-lab.json", "params.yaml", "id_ed25519", "id_ed25519.pub", "known_hosts"} {
			os.Remove(filepath.Join(abs, name))
		}
	}
	if len(cs)+len(ns) > 0 {
		fmt.Fprintf(stdout, "docker lab in %s: removed %d containers and %d networks\n", abs, len(cs), len(ns))
	}
	return errors.Join(errs...)
}

func shortHash(s string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return fmt.Sprintf("%08x", h)
}
