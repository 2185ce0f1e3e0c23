package streamtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/streamtest/streamtest"
	"github.com/streamtest/streamtest/code"
	"github.com/streamtest/streamtest/internal/testenv"
	"github.com/streamtest/streamtest/lab/netns"
)

// groupFailure returns the failure of f on a fresh session, "" if none.
func groupFailure(t *testing.T, opts []streamtest.Option, f func(*streamtest.Manager)) (msg string) {
	t.Helper()
	sess := streamtest.NewSession("group")
	sess.SetLog(nil)
	defer sess.Close()
	defer func() {
		if v := recover(); v != nil {
			fe, ok := v.(*streamtest.FatalError)
			if !ok {
				panic(v)
			}
			msg = fe.Msg
		}
	}()
	f(streamtest.For(sess, opts...))
	return ""
}

func TestGroup(t *testing.T) {
	t.Setenv("STREAMTEST_INVENTORY", "")
	p := writeParams(t, `streams:
  - db2: {type: local, groups: [db]}
  - db1: {type: local, groups: [etcd, db]}
  - 3: {type: local, groups: etcd}
  - web: {type: local}
`)
	inv := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(inv, []byte("[empty]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := []streamtest.Option{streamtest.IgnoreEnvironment(), streamtest.ParamsFile(p), streamtest.InventoryFile(inv)}
	s := streamtest.For(t, opts...)
	for name, want := range map[string][]string{"db": {"db2", "db1"}, "etcd": {"db1", "3"}} {
		if got := s.Group(name).IDs(); !reflect.DeepEqual(got, want) {
			t.Errorf("Group(%q) = %v, want %v (definition order)", name, got, want)
		}
	}
	// The group's members are the test's streams: a block run on the group
	// is the streams' block.
	s.Group("etcd").Run(code.Exec("true"), streamtest.Wait())
	for _, id := range []string{"db1", "3"} {
		if o := s.At(id).Outcome(); !o.Exited || !o.Success {
			t.Errorf("stream %s of etcd: %v", id, s.At(id))
		}
	}
	if s.At("db2").Outcome().Exited {
		t.Error("stream db2, not in etcd, ran the group's block")
	}

	for _, tc := range []struct{ name, want string }{
		{"nosuch", `streamtest: Group("nosuch"): no such group; known groups: db, etcd, empty`},
		{"DB", `streamtest: Group("DB"): no such group (did you mean "db"?); known groups: db, etcd, empty`},
		{"empty", `streamtest: Group("empty"): the group, declared at ` + inv + `:1:1, has no streams`},
	} {
		got := groupFailure(t, opts, func(m *streamtest.Manager) { m.Group(tc.name) })
		if got != tc.want {
			t.Errorf("Group(%q) failed with %q, want %q", tc.name, got, tc.want)
		}
	}
	got := groupFailure(t, []streamtest.Option{streamtest.IgnoreEnvironment()}, func(m *streamtest.Manager) { m.Group("db") })
	if want := `streamtest: Group("db"): no such group; no parameters declare a group (an inventory's groups, or a stream's groups: list)`; got != want {
		t.Errorf("Group without groups failed with %q, want %q", got, want)
	}
}

// STREAMTEST_INVENTORY names inventories for a plain go test, as
// STREAMTEST_PARAMS names parameters files.
func TestInventoryFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yml"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("all:\n  children:\n    db:\n      hosts:\n        h1: {ansible_host: 192.0.2.1}\n"), 0o600)
	os.WriteFile(b, []byte("[db]\nh2 ansible_host=192.0.2.2 ansible_port=2222\n"), 0o600)
	t.Setenv("STREAMTEST_PARAMS", "")
	t.Setenv("STREAMTEST_INVENTORY", a+string(os.PathListSeparator)+b)
	s := streamtest.For(t)
	if got := s.Group("db").IDs(); !reflect.DeepEqual(got, []string{"h1", "h2"}) {
		t.Errorf("Group(db) = %v, want [h1 h2]", got)
	}
	for _, id := range []string{"h1", "h2"} {
		if typ := s.At(id).Type(); typ != "remote" {
			t.Errorf("stream %s has type %q, want remote", id, typ)
		}
	}
}

// An Ansible inventory drives a test on two hosts of the netns lab. The
// lab's known_hosts is given the two ways an inventory can: Ansible's own
// ansible_ssh_common_args, or the remote type's known_hosts parameter as a
// variable.
func TestInventoryOnLab(t *testing.T) {
	dir := os.Getenv("STREAMTEST_LAB")
	testenv.Need(t, dir != "", "the netns lab (STREAMTEST_LAB)",
		"run `go run ./cmd/streamtest lab up --hosts 4 --isolated 2 --dir .lab` as root and set STREAMTEST_LAB=$PWD/.lab, or use make test")
	l, err := netns.Load(dir)
	testenv.Need(t, err == nil, "the netns lab in "+dir, fmt.Sprintf("%v; bring it up with streamtest lab up", err))
	h1, ok1 := l.Host(1)
	h2, ok2 := l.Host(2)
	if !ok1 || !ok2 {
		t.Fatalf("the lab in %s has no hosts 1 and 2", dir)
	}
	inventories := map[string]string{
		"hosts": fmt.Sprintf(`[etcd]
node1 ansible_host=%s
node2 ansible_host=%s

[all:vars]
ansible_user=%s
ansible_ssh_private_key_file=%s
ansible_ssh_common_args='-o UserKnownHostsFile=%s'
ansible_python_interpreter=/usr/bin/python3
`, h1.Addr, h2.Addr, l.User, l.Key, l.KnownHosts),
		"hosts.yaml": fmt.Sprintf(`all:
  vars:
    ansible_user: %s
    ansible_ssh_private_key_file: %s
    known_hosts: %s
  children:
    etcd:
      hosts:
        node1: {ansible_host: %s}
        node2: {ansible_host: %s}
`, l.User, l.Key, l.KnownHosts, h1.Addr, h2.Addr),
	}
	for name, src := range inventories {
		t.Run(name, func(t *testing.T) {
			inv := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(inv, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("STREAMTEST_PARAMS", "")
			t.Setenv("STREAMTEST_INVENTORY", inv)
			s := streamtest.For(t)
			etcd := s.Group("etcd")
			// The server address sshd saw the connection on is the host's.
			etcd.Run(code.Shell(`set -- $SSH_CONNECTION; echo "$3 $(id -un)"`), streamtest.Wait())
			for i, want := range []string{h1.Addr, h2.Addr} {
				st := etcd.Streams()[i]
				if got := strings.TrimSpace(st.Output().Stdout()); got != want+" "+l.User {
					t.Errorf("stream %s (%s) printed %q, want %q", st.ID(), st.Type(), got, want+" "+l.User)
				}
				if st.Type() != "remote" || st.Outcome().Host != want {
					t.Errorf("stream %s: type %s on %q, want remote on %s", st.ID(), st.Type(), st.Outcome().Host, want)
				}
			}
			if !s.Success() {
				t.Error(s)
			}
		})
	}
}
