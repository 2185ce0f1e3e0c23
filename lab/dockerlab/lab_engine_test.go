package dockerlab

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/streamtest/streamtest/internal/testenv"
)

func needEngine(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = cli.Ping(ctx, client.PingOptions{})
	}
	testenv.Need(t, err == nil, "a Docker Engine", "start dockerd or set DOCKER_HOST")
	t.Cleanup(func() { cli.Close() })
	return cli
}

// TestEngineLab brings a two-host docker lab up, logs in to a host with the
// lab's key and known_hosts, reaches the other host from there, and takes
// the lab down again.
func TestEngineLab(t *testing.T) {
	cli := needEngine(t)
	ctx := context.Background()
	dir := t.TempDir()
	var out bytes.Buffer
	l, err := Up(ctx, cli, Options{Hosts: 2, Dir: dir, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Down(context.Background(), cli, dir, io.Discard) })
	t.Logf("%s", out.String())
	params, err := os.ReadFile(filepath.Join(dir, "params.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range l.Hosts {
		if !strings.Contains(string(params), "host: "+h.Addr+", port: 22, user: "+LabUser) {
			t.Errorf("params.yaml does not define host %s:\n%s", h.Addr, params)
		}
	}

	key, err := os.ReadFile(l.Key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	hostKeys, err := knownhosts.New(l.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ssh.Dial("tcp", net.JoinHostPort(l.Hosts[0].Addr, "22"), &ssh.ClientConfig{
		User:            l.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hostKeys,
		Timeout:         10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sess, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	got, err := sess.CombinedOutput("id -un; hostname; ping -c 1 -W 5 " + l.Hosts[1].Name + " >/dev/null && echo reached; python3 -c 'print(6*7)'")
	if err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	if want := LabUser + "\nlab1\nreached\n42\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}

	if err := Down(ctx, cli, dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	f := make(client.Filters).Add("label", LabelLab+"="+l.Dir)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Items)+len(ns.Items) != 0 {
		t.Errorf("after Down: %d containers, %d networks", len(cs.Items), len(ns.Items))
	}
	if _, err := os.Stat(l.Params); !os.IsNotExist(err) {
		t.Errorf("params.yaml still there: %v", err)
	}
	if err := Down(ctx, cli, dir, io.Discard); err != nil {
		t.Errorf("second Down: %v", err)
	}
}
