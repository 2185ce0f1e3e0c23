package netns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamtest/streamtest/params"
	_ "github.com/streamtest/streamtest/stream/remote"
)

func TestIsLabName(t *testing.T) {
	type testCase struct {
		name string
		want bool
	}
	tests := []testCase{
		{"stlab1", true}, {"stlab12-h", true}, {"stlab-br1", true}, {"stlab221", true},
		{"stlab", false}, {"stlabx", false}, {"eth0", false}, {"docker0", false}, {"stlab1-x", false},
	}
	for _, tc := range tests {
		if got := isLabName(tc.name); got != tc.want {
			t.Errorf("isLabName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWriteParams(t *testing.T) {
	dir := t.TempDir()
	l := &Lab{Dir: dir, User: User, Key: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts"),
		Params: filepath.Join(dir, "params.yaml")}
	for i, addr := range []string{"10.199.1.11", "10.199.1.12", "10.199.2.13"} {
		l.Hosts = append(l.Hosts, Host{N: i + 1, Addr: addr, Isolated: i == 2})
	}
	if err := writeParams(l); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(l.Params)
	if err != nil {
		t.Fatal(err)
	}
	f, err := params.ParseFile(l.Params, data)
	if err != nil {
		t.Fatalf("the lab's parameters do not parse: %v\n%s", err, data)
	}
	if strings.Join(f.Order, ",") != "1,2,3" {
		t.Errorf("streams %v", f.Order)
	}
	s := f.Streams["3"]
	if s.Type != "remote" || s.Values.String("host", "") != "10.199.2.13" || s.Values.String("user", "") != User {
		t.Errorf("stream 3: %+v", s)
	}
	if k := s.Values.Strings("key"); len(k) != 1 || k[0] != l.Key {
		t.Errorf("key %v", k)
	}
	if !strings.Contains(string(data), "streams 3: 10.199.2.0/24, which the first subnet cannot reach") {
		t.Errorf("no note of the isolated hosts:\n%s", data)
	}
}

func TestCheckSaysWhatToInstall(t *testing.T) {
	err := Check()
	if err == nil {
		return // all there
	}
	if !strings.Contains(err.Error(), "apt-get install openssh-server iproute2 iputils-ping") {
		t.Errorf("Check: %v", err)
	}
}
