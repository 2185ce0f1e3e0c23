package streamtest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/internal/testenv"
)

// TestMixedTypesInOneGroup puts a local stream, a remote one (a host of the
// docker lab) and a container (on the lab's network) in one synchronized
// group: all three start at one instant and reach the remote host. Only the
// parameters say what each stream is.
func TestMixedTypesInOneGroup(t *testing.T) {
	lab := os.Getenv("STREAMTEST_DOCKER_LAB")
	testenv.Need(t, lab != "", "a docker lab (STREAMTEST_DOCKER_LAB)",
		"go run ./cmd/streamtest lab up --kind docker --dir .lab-docker && export STREAMTEST_DOCKER_LAB=$PWD/.lab-docker")
	data, err := os.ReadFile(filepath.Join(lab, "docker-lab.json"))
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Network    string `json:"network"`
		User       string `json:"user"`
		Key        string `json:"key"`
		KnownHosts string `json:"known_hosts"`
		Hosts      []struct {
			Addr string `json:"addr"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(data, &l); err != nil || len(l.Hosts) == 0 {
		t.Fatalf("%s: %v, %d hosts", lab, err, len(l.Hosts))
	}
	file := filepath.Join(t.TempDir(), "mixed.yaml")
	yaml := "streams:\n" +
		"  - 1: {type: local}\n" +
		"  - 2: {type: remote, host: " + l.Hosts[0].Addr + ", user: " + l.User + ", key: " + l.Key + ", known_hosts: " + l.KnownHosts + "}\n" +
		"  - 3: {type: container, network: " + l.Network + "}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := streamtest.For(t, streamtest.ParamsFile(file), streamtest.Strict(), streamtest.IgnoreEnvironment())
	target := s.At(2).Host()
	reach := code.GoProgram("github.com/streamtest/streamtest/examples/internal/reach", target)
	g := s.Range(1, 3)
	g.Run(reach, streamtest.Synchronized(), streamtest.Wait())
	if !g.Success() {
		t.Fatal(g)
	}
	for _, st := range g.Streams() {
		if want := map[string]string{"1": "local", "2": "remote", "3": "container"}[st.ID()]; st.Type() != want {
			t.Errorf("stream %s has type %q, want %q", st.ID(), st.Type(), want)
		}
	}
	t.Logf("local, remote and container streams started %v apart", g.Skew())
}
