package params

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// fakeremote stands in for the remote type, which this package's tests do
// not link: it has the remote type's parameters and checks.
func init() {
	none := func(stream.Config) (stream.Environment, error) { return nil, errors.New("fake") }
	stream.Register("fakeremote", none, stream.Info{
		Doc: "the remote type's parameters, for inventories",
		Params: []stream.Param{
			{Name: "host", Kind: stream.String, Required: true, Check: stream.NonEmpty},
			{Name: "port", Kind: stream.Int, Check: stream.PortNumber},
			{Name: "user", Kind: stream.String},
			{Name: "key", Kind: stream.Strings},
			{Name: "password", Kind: stream.Secret},
			{Name: "known_hosts", Kind: stream.Strings},
			{Name: "insecure_ignore_host_key", Kind: stream.Bool},
			{Name: "connect_timeout", Kind: stream.Duration},
		},
	})
	inventoryType = "fakeremote"
}

const iniInventory = `# hosts of the lab
jump ansible_host=10.0.0.1

[web]
web[01:03] ansible_user=deploy
www.example.com:2222 ansible_password='s3 cret'

[db]
db1 ansible_host=10.0.0.5 ansible_port=2200   # the primary
db2

[db:vars]
ansible_ssh_private_key_file = "keys/db key"
ansible_timeout=5

[etcd:children]
db

[etcd:vars]
ansible_user=etcd

[all:vars]
ansible_python_interpreter=/usr/bin/python3
ansible_become=true
ansible_user=root
ansible_ssh_common_args='-o UserKnownHostsFile=/lab/known_hosts -o ControlMaster=auto'
`

const yamlInventory = `all:
  hosts:
    jump: {ansible_host: 10.0.0.1}
  vars:
    ansible_python_interpreter: /usr/bin/python3
    ansible_become: true
    ansible_user: root
    ansible_ssh_common_args: -o UserKnownHostsFile=/lab/known_hosts -o ControlMaster=auto
  children:
    web:
      hosts:
        web[01:03]: {ansible_user: deploy}
        www.example.com:2222: {ansible_password: s3 cret}
    etcd:
      vars: {ansible_user: etcd}
      children:
        db:
          hosts:
            db1: {ansible_host: 10.0.0.5, ansible_port: 2200}
            db2:
          vars:
            ansible_ssh_private_key_file: keys/db key
            ansible_timeout: 5
`

// The streams both inventories above define.
func wantInventory() (order []string, values map[string]stream.Values, groups map[string][]string) {
	kh := []string{"/lab/known_hosts"}
	order = []string{"jump", "web01", "web02", "web03", "www.example.com", "db1", "db2"}
	values = map[string]stream.Values{
		"jump":            {"host": "10.0.0.1", "user": "root", "known_hosts": kh},
		"web01":           {"host": "web01", "user": "deploy", "known_hosts": kh},
		"web02":           {"host": "web02", "user": "deploy", "known_hosts": kh},
		"web03":           {"host": "web03", "user": "deploy", "known_hosts": kh},
		"www.example.com": {"host": "www.example.com", "port": 2222, "user": "root", "password": "s3 cret", "known_hosts": kh},
		"db1": {"host": "10.0.0.5", "port": 2200, "user": "etcd", "key": []string{"keys/db key"},
			"connect_timeout": 5 * time.Second, "known_hosts": kh},
		"db2": {"host": "db2", "user": "etcd", "key": []string{"keys/db key"}, "connect_timeout": 5 * time.Second, "known_hosts": kh},
	}
	groups = map[string][]string{
		"web":  {"web01", "web02", "web03", "www.example.com"},
		"db":   {"db1", "db2"},
		"etcd": {"db1", "db2"},
	}
	return order, values, groups
}

func TestParseInventory(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"hosts", iniInventory},
		{"hosts.yaml", yamlInventory},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseInventory(tc.name, []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			order, values, groups := wantInventory()
			if !reflect.DeepEqual(f.Order, order) {
				t.Errorf("Order = %v, want %v", f.Order, order)
			}
			for _, id := range order {
				s := f.Streams[id]
				if s.ID != id || s.Type != "fakeremote" || s.Untyped {
					t.Errorf("stream %s = %+v", id, s)
				}
				if !reflect.DeepEqual(s.Values, values[id]) {
					t.Errorf("stream %s: Values = %v, want %v", id, s.Values, values[id])
				}
			}
			got := map[string][]string{}
			for name, g := range f.Groups {
				got[name] = g.Members
			}
			if !reflect.DeepEqual(got, groups) {
				t.Errorf("groups = %v, want %v", got, groups)
			}
		})
	}
}

func TestParseInventoryPositions(t *testing.T) {
	f, err := ParseInventory("hosts", []byte(iniInventory))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"jump": "hosts:2:1", "web02": "hosts:5:1", "db2": "hosts:10:1"} {
		if got := f.Streams[id].Pos.String(); got != want {
			t.Errorf("stream %s at %s, want %s", id, got, want)
		}
	}
	wantGroups := []string{"web", "db", "etcd"}
	if !reflect.DeepEqual(f.GroupOrder, wantGroups) {
		t.Errorf("GroupOrder = %v, want %v", f.GroupOrder, wantGroups)
	}
	if got := f.Groups["etcd"].Pos.String(); got != "hosts:16:1" {
		t.Errorf("group etcd at %s, want hosts:16:1", got)
	}
	if got := f.Streams["db1"].Groups; !reflect.DeepEqual(got, []string{"db", "etcd"}) {
		t.Errorf("db1 in groups %v, want [db etcd]", got)
	}
}

// A variable set at several levels takes the value of the most specific:
// the host, then a child group over its parent, then all; siblings by
// ansible_group_priority, then by name, the later winning.
func TestInventoryPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      map[string]string // host to user
	}{
		{name: "ini", src: `
a ansible_user=host
b
c
d
[child]
a
b
[parent:children]
child
[parent]
c
[child:vars]
ansible_user=child
[parent:vars]
ansible_user=parent
[all:vars]
ansible_user=all
`, want: map[string]string{"a": "host", "b": "child", "c": "parent", "d": "all"}},
		{name: "yaml.yml", src: `
all:
  vars: {ansible_user: all}
  hosts:
    d:
  children:
    parent:
      vars: {ansible_user: parent}
      hosts: {c: }
      children:
        child:
          vars: {ansible_user: child}
          hosts:
            a: {ansible_user: host}
            b:
`, want: map[string]string{"a": "host", "b": "child", "c": "parent", "d": "all"}},
		{name: "siblings by name", src: `
[zeta]
h
[alpha]
h
[zeta:vars]
ansible_user=zeta
[alpha:vars]
ansible_user=alpha
`, want: map[string]string{"h": "zeta"}},
		{name: "siblings by priority", src: `
[zeta]
h
[alpha]
h
[zeta:vars]
ansible_user=zeta
[alpha:vars]
ansible_user=alpha
ansible_group_priority=10
`, want: map[string]string{"h": "alpha"}},
		{name: "host lines merge, the later winning", src: `
[one]
h ansible_user=first ansible_port=2201
[two]
h ansible_user=second
`, want: map[string]string{"h": "second"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseInventory(tc.name, []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for id, s := range f.Streams {
				got[id], _ = s.Values["user"].(string)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("users = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExpandHosts(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []string
		err     string
	}{
		{pattern: "web", want: []string{"web"}},
		{pattern: "web[1:3]", want: []string{"web1", "web2", "web3"}},
		{pattern: "web[01:03].lab", want: []string{"web01.lab", "web02.lab", "web03.lab"}},
		{pattern: "web[08:10]", want: []string{"web08", "web09", "web10"}},
		{pattern: "n[1:9:4]", want: []string{"n1", "n5", "n9"}},
		{pattern: "n[:2]", want: []string{"n0", "n1", "n2"}},
		{pattern: "db-[a:c]", want: []string{"db-a", "db-b", "db-c"}},
		{pattern: "r[1:2]-[a:b]", want: []string{"r1-a", "r1-b", "r2-a", "r2-b"}},
		{pattern: "web[3:1]", err: `host pattern "web[3:1]": the range ends before it begins`},
		{pattern: "web[01:3]", err: `host pattern "web[01:3]": a zero-padded range has a begin and an end of the same width`},
		{pattern: "web[1]", err: `host pattern "web[1]": a range is [BEGIN:END] or [BEGIN:END:STEP]`},
		{pattern: "web[1:", err: `host pattern "web[1:": '[' without ']'`},
		{pattern: "web[1:]", err: `host pattern "web[1:]": the range has no end`},
		{pattern: "web[1:5:0]", err: `host pattern "web[1:5:0]": the step of a range is a whole number from 1`},
		{pattern: "web[a:9]", err: `host pattern "web[a:9]": a range is of whole numbers or of single letters`},
		{pattern: "w[0:999999]", err: `host pattern "w[0:999999]": expands to more than 65536 hosts`},
		{pattern: "w[0:999][0:999]", err: `host pattern "w[0:999][0:999]": expands to more than 65536 hosts`},
	} {
		got, err := expandHosts(tc.pattern)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("expandHosts(%q) error = %v, want %s", tc.pattern, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("expandHosts(%q) = %v, %v; want %v", tc.pattern, got, err, tc.want)
		}
	}
}

func TestHostPort(t *testing.T) {
	for _, tc := range []struct{ in, host, port string }{
		{"h", "h", ""},
		{"h:2222", "h", "2222"},
		{"web[01:03]", "web[01:03]", ""},
		{"web[01:03]:2222", "web[01:03]", "2222"},
		{"fe80::1", "fe80::1", ""},
		{"h:ssh", "h:ssh", ""},
	} {
		h, p := hostPort(tc.in)
		if h != tc.host || p != tc.port {
			t.Errorf("hostPort(%q) = %q, %q; want %q, %q", tc.in, h, p, tc.host, tc.port)
		}
	}
}

func TestSplitLine(t *testing.T) {
	for _, tc := range []struct {
		line    string
		want    []string
		cols    []int
		problem string
		col     int
	}{
		{line: "h a=1  b=2", want: []string{"h", "a=1", "b=2"}, cols: []int{1, 3, 8}},
		{line: `h k="a b" j='c "d"'`, want: []string{"h", "k=a b", `j=c "d"`}, cols: []int{1, 3, 11}},
		{line: `h k="a \"q\" \\ \n"`, want: []string{"h", `k=a "q" \ \n`}, cols: []int{1, 3}},
		{line: `h k=a\ b # comment`, want: []string{"h", "k=a b"}, cols: []int{1, 3}},
		{line: `h k=a#b`, want: []string{"h", "k=a#b"}, cols: []int{1, 3}},
		{line: "é k=v", want: []string{"é", "k=v"}, cols: []int{1, 3}},
		{line: `h k="open`, problem: "unterminated quote", col: 5},
	} {
		got, problem, col := splitLine(tc.line, true)
		if problem != tc.problem || col != tc.col {
			t.Errorf("splitLine(%q) problem %q at %d, want %q at %d", tc.line, problem, col, tc.problem, tc.col)
			continue
		}
		var texts []string
		var cols []int
		for _, w := range got {
			texts = append(texts, w.text)
			cols = append(cols, w.col)
		}
		if !reflect.DeepEqual(texts, tc.want) || !reflect.DeepEqual(cols, tc.cols) {
			t.Errorf("splitLine(%q) = %q at %v, want %q at %v", tc.line, texts, cols, tc.want, tc.cols)
		}
	}
}

func TestInventoryErrors(t *testing.T) {
	const known = "; an inventory host is a fakeremote stream: its variables are ansible_host, ansible_user, ansible_port, ansible_ssh_private_key_file, ansible_password or the type's parameters; known parameters: connect_timeout, host, insecure_ignore_host_key, key, known_hosts, password, port, user"
	for _, tc := range []struct {
		name, file, src string
		want            []string
	}{
		{name: "unknown variable on the host line", file: "hosts", src: "[web]\nw1 ansible_host=a etcd_version=3.5\n",
			want: []string{`hosts:2:19: stream w1: unknown parameter "etcd_version" for type "fakeremote"` + known}},
		{name: "unknown variable of a group, said once", file: "hosts", src: "[web]\nw1\nw2\n[web:vars]\n  prot=22\n",
			want: []string{`hosts:5:3: stream w1: unknown parameter "prot" for type "fakeremote" (did you mean "port"?)` + known}},
		{name: "misspelt Ansible variable", file: "hosts", src: "w1 ansible_hots=a\n",
			want: []string{`hosts:1:4: host w1: unknown Ansible variable "ansible_hots" (did you mean "ansible_host"?); known: ` +
				strings.Join(knownMapped(), ", ") + "; ignored: " + strings.Join(ansibleIgnored, ", ")}},
		{name: "bad port", file: "hosts", src: "w1 ansible_port=x\n[g]\nw2:70000\n",
			want: []string{`hosts:1:17: stream w1: ansible_port: want int, got "x"`,
				`hosts:3:4: stream w2: ansible_port: want a port number from 1 to 65535, got 70000`}},
		{name: "empty host", file: "hosts", src: "\n\nw1 ansible_host=''\n",
			want: []string{`hosts:3:17: stream w1: ansible_host: must not be empty`}},
		{name: "connection", file: "hosts", src: "w1 ansible_connection=docker\n",
			want: []string{`hosts:1:23: host w1: ansible_connection: want ssh, smart or paramiko (an inventory host is a remote stream), got "docker"`}},
		{name: "ssh option", file: "hosts", src: "[all:vars]\nansible_ssh_common_args=-o ProxyCommand=nc\n[g]\nh\n",
			want: []string{`hosts:2:25: host h: ansible_ssh_common_args: unsupported SSH option "ProxyCommand": read are UserKnownHostsFile and StrictHostKeyChecking; ignored are compression, controlmaster, controlpath, controlpersist, serveralivecountmax, serveraliveinterval; say the rest in an ssh_config file (the ssh_config parameter)`}},
		{name: "unterminated quote", file: "hosts", src: "[g]\nh ansible_user=\"x\n",
			want: []string{`hosts:2:16: unterminated quote`}},
		{name: "not key=value", file: "hosts", src: "h user\n",
			want: []string{`hosts:1:3: want a host variable as key=value after the host`}},
		{name: "bad section", file: "hosts", src: "[g:hosts]\nh\n[oops\nh2\n",
			want: []string{`hosts:1:1: bad section header: unknown section kind "hosts"; want [GROUP], [GROUP:vars] or [GROUP:children]`,
				`hosts:3:1: bad section header: want [GROUP], [GROUP:vars] or [GROUP:children]`}},
		{name: "vars line", file: "hosts", src: "[g:vars]\nnothing\n",
			want: []string{`hosts:2:1: [g:vars]: want key=value`}},
		{name: "children loop", file: "hosts", src: "[a:children]\nb\n[b:children]\na\n[a]\nh\n",
			want: []string{`hosts:2:1: group "b" is a child of "a", which is among its own children: the children of groups make a loop`}},
		{name: "bad range", file: "hosts", src: "[g]\n  web[3:1]\n",
			want: []string{`hosts:2:3: host pattern "web[3:1]": the range ends before it begins`}},
		{name: "host that cannot be an id", file: "hosts", src: "[g]\nfe80::1\n",
			want: []string{`hosts:2:1: host "fe80::1" cannot be a stream id: a stream id is a name of letters, digits, '_', '.' and '-' (give the address in ansible_host)`}},
		{name: "yaml unknown key", file: "inv.yaml", src: "all:\n  children:\n    g:\n      host:\n        h:\n",
			want: []string{`inv.yaml:4:7: group g: unknown key "host" (did you mean "hosts"?); known keys: children, hosts, vars`}},
		{name: "yaml unknown variable", file: "inv.yaml", src: "all:\n  hosts:\n    h: {ansible_host: a, colour: blue}\n",
			want: []string{`inv.yaml:3:26: stream h: unknown parameter "colour" for type "fakeremote"` + known}},
		{name: "yaml bad hosts", file: "inv.yml", src: "all:\n  hosts: [a, b]\n",
			want: []string{`inv.yml:2:10: group all: hosts: want a mapping of hosts (host: {variables} or host:), got a list`}},
		{name: "yaml syntax", file: "inv.yaml", src: "all:\n  hosts: {a\n",
			want: []string{`inv.yaml:2:3: YAML: did not find expected ',' or '}'`}},
		{name: "yaml alias loop", file: "inv.yaml", src: "all: &a\n  children:\n    g: *a\n",
			want: []string{`inv.yaml:3:5: group g contains itself`}},
		{name: "yaml alias bomb", file: "inv.yaml", src: aliasBomb(),
			want: []string{`inv.yaml:1:18: the inventory has more than 262144 groups and hosts, aliases expanded (the limit that stops alias bombs); use fewer aliases, or write the groups out`}},
		{name: "yaml group priority", file: "inv.yaml", src: "all:\n  children:\n    g:\n      vars: {ansible_group_priority: high}\n      hosts: {h: }\n",
			want: []string{`inv.yaml:4:38: ansible_group_priority: want a whole number, got "high"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseInventory(tc.file, []byte(tc.src))
			if got := parseErrors(err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestInventorySecretsNeverInErrors(t *testing.T) {
	const secret = "s3cr3t-Value"
	for _, tc := range []struct{ name, file, src string }{
		{"list", "inv.yaml", "all:\n  hosts:\n    h: {ansible_password: [" + secret + "]}\n"},
		{"mapping", "inv.yaml", "all:\n  vars: {ansible_ssh_pass: {" + secret + ": 1}}\n  hosts: {h: }\n"},
		{"unterminated quote", "hosts", "h ansible_password='" + secret + "\n"},
		{"next to other errors", "hosts", "h ansible_password=" + secret + " ansible_port=x nope=1\n"},
		{"become password next to an error", "hosts", "h ansible_become_pass=" + secret + " nope=" + secret[:2] + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseInventory(tc.file, []byte(tc.src))
			if err == nil {
				t.Fatal("ParseInventory succeeded, want an error")
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
	f, err := ParseInventory("hosts", []byte("h ansible_password="+secret+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(f.Streams["h"].Redacted()); strings.Contains(got, "s3cr3t") || !strings.Contains(got, "password:********") {
		t.Errorf("Redacted() = %s", got)
	}
}

// Ansible variables that mean nothing for a stream are accepted; an empty
// inventory defines nothing; StrictHostKeyChecking=no is honoured.
func TestInventoryIgnoredAndOptions(t *testing.T) {
	src := "[g]\nh ansible_become=yes ansible_python_interpreter=auto ansible_connection=ssh ansible_ssh_extra_args='-o StrictHostKeyChecking=no -oServerAliveInterval=5'\n[empty]\n"
	f, err := ParseInventory("hosts", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := stream.Values{"host": "h", "insecure_ignore_host_key": true}
	if got := f.Streams["h"].Values; !reflect.DeepEqual(got, want) {
		t.Errorf("Values = %v, want %v", got, want)
	}
	if g, ok := f.Groups["empty"]; !ok || len(g.Members) != 0 || g.Pos.String() != "hosts:3:1" {
		t.Errorf("group empty = %+v, %v; want declared at hosts:3:1 with no members", g, ok)
	}
	for _, src := range []string{"", "# nothing\n", "all:\n"} {
		f, err := ParseInventory("inv.yaml", []byte(src))
		if err != nil || len(f.Streams) != 0 {
			t.Errorf("ParseInventory(%q) = %v, %v; want no streams", src, f, err)
		}
	}
}

// An inventory whose type this program does not link defines streams
// without values, as a parameters file does; Resolve reports them.
func TestInventoryTypeNotLinked(t *testing.T) {
	defer func(old string) { inventoryType = old }(inventoryType)
	inventoryType = "remote"
	f, err := ParseInventory("hosts", []byte("h ansible_port=22\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Streams["h"]; s.Type != "remote" || s.Values != nil {
		t.Errorf("stream h = %+v, want type remote without values", s)
	}
	if _, err := ParseInventory("hosts", []byte("h ansible_hots=22\n")); err == nil {
		t.Error("a misspelt Ansible variable is no error when the type is not linked")
	}
}

func TestParseFileGroups(t *testing.T) {
	f, err := ParseFile("p.yaml", []byte(`streams:
  - db1: {type: fake, host: a, groups: [etcd, db]}
  - db2: {type: fake, groups: db}
  - 3: {groups: [etcd, etcd]}
  - 4: {type: fake}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Streams["db1"].Groups; !reflect.DeepEqual(got, []string{"etcd", "db"}) {
		t.Errorf("db1 groups = %v", got)
	}
	if got := f.Streams["db1"].Values; !reflect.DeepEqual(got, stream.Values{"host": "a"}) {
		t.Errorf("groups is passed to the type: %v", got)
	}
	want := map[string]Group{
		"etcd": {Name: "etcd", Members: []string{"db1", "3"}, Pos: Pos{File: "p.yaml", Line: 2, Column: 41}},
		"db":   {Name: "db", Members: []string{"db1", "db2"}, Pos: Pos{File: "p.yaml", Line: 2, Column: 47}},
	}
	if !reflect.DeepEqual(f.Groups, want) || !reflect.DeepEqual(f.GroupOrder, []string{"etcd", "db"}) {
		t.Errorf("groups = %v in order %v, want %v", f.Groups, f.GroupOrder, want)
	}

	for _, tc := range []struct{ src, want string }{
		{"streams:\n  - 1: {groups: {a: b}}\n", `p.yaml:2:17: stream 1: groups: want a list of group names, like [etcd, db], got a mapping`},
		{"streams:\n  - 1: {groups: [ok, \"bad name\"]}\n", `p.yaml:2:22: stream 1: groups: want a group name of letters, digits, '_', '.' and '-', got "bad name"`},
		{"streams:\n  - 1: {groups: [all]}\n", `p.yaml:2:18: stream 1: groups: "all" is reserved (every stream is in all; Manager.All returns them)`},
		{"streams:\n  - 1: {type: fake, groups: [[x]]}\n", `p.yaml:2:30: stream 1: groups: want a group name of letters, digits, '_', '.' and '-', got a list`},
	} {
		_, err := ParseFile("p.yaml", []byte(tc.src))
		if got := parseErrors(err); !reflect.DeepEqual(got, []string{tc.want}) {
			t.Errorf("ParseFile(%q):\n%s\nwant:\n%s", tc.src, strings.Join(got, "\n"), tc.want)
		}
	}
}

func TestLoadInventories(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"env.yaml":     "streams:\n  - a: {type: fake, host: env-params}\n  - b: {type: fake, host: env-params, groups: [db]}\n",
		"env-hosts":    "[web]\na ansible_host=env-inventory\nc ansible_host=env-inventory\n",
		"flag.yaml":    "streams:\n  - c: {type: fake, host: flag-params, groups: [db, web]}\n  - d: {type: fake, host: flag-params}\n",
		"flag.yml":     "all:\n  children:\n    web:\n      hosts:\n        d: {ansible_host: flag-inventory}\n    empty:\n",
		"fallback.yml": "streams:\n  - z: {type: fake}\n",
	})
	p := func(name string) string { return filepath.Join(dir, name) }
	c, err := Load(Options{SystemFile: "-", UserFile: "-",
		Getenv:      env(map[string]string{"STREAMTEST_PARAMS": p("env.yaml"), "STREAMTEST_INVENTORY": p("env-hosts")}),
		Files:       []string{p("flag.yaml")},
		Inventories: []string{p("flag.yml")},
		Fallback:    []string{p("fallback.yml")},
	})
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]string{}
	for id, s := range c.Streams {
		hosts[id] = fmt.Sprint(s.Values["host"])
	}
	wantHosts := map[string]string{"a": "env-inventory", "b": "env-params", "c": "flag-params", "d": "flag-inventory"}
	if !reflect.DeepEqual(hosts, wantHosts) {
		t.Errorf("hosts = %v, want %v", hosts, wantHosts)
	}
	if want := []string{p("env.yaml"), p("env-hosts"), p("flag.yaml"), p("flag.yml")}; !reflect.DeepEqual(c.Files, want) {
		t.Errorf("Files = %v, want %v", c.Files, want)
	}
	members := map[string][]string{}
	for name, g := range c.Groups {
		members[name] = g.Members
	}
	// a is in web from the env inventory; c's definition from the flag file
	// replaced the inventory's, and with it its groups.
	wantMembers := map[string][]string{"db": {"b", "c"}, "web": {"a", "c", "d"}, "empty": nil}
	if !reflect.DeepEqual(members, wantMembers) {
		t.Errorf("group members = %v, want %v", members, wantMembers)
	}
	if want := []string{"db", "web", "empty"}; !reflect.DeepEqual(c.GroupOrder, want) {
		t.Errorf("GroupOrder = %v, want %v", c.GroupOrder, want)
	}

	// An inventory alone replaces the fallback files, as a parameters file
	// does.
	c, err = Load(Options{SystemFile: "-", UserFile: "-", Getenv: env(nil),
		Inventories: []string{p("env-hosts")}, Fallback: []string{p("fallback.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Streams["z"]; ok || len(c.Streams) != 2 {
		t.Errorf("streams %v: the fallback was read with an inventory", c.Order)
	}
	c, err = Load(Options{SystemFile: "-", UserFile: "-", Getenv: env(map[string]string{"STREAMTEST_INVENTORY": p("env-hosts")}),
		Fallback: []string{p("fallback.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Streams["z"]; ok {
		t.Errorf("streams %v: the fallback was read with STREAMTEST_INVENTORY", c.Order)
	}

	_, err = Load(Options{SystemFile: "-", UserFile: "-", Getenv: env(nil), Inventories: []string{p("missing")}})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing inventory: %v", err)
	}
	bad := writeFiles(t, map[string]string{"hosts": "h nope=1\n"})
	_, err = Load(Options{SystemFile: "-", UserFile: "-", Getenv: env(map[string]string{"STREAMTEST_INVENTORY": filepath.Join(bad, "hosts")})})
	if want := filepath.Join(bad, "hosts") + `:1:3: stream h: unknown parameter "nope"`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want it to start with %s", err, want)
	}
	if _, err := os.Stat(p("env-hosts")); err != nil {
		t.Fatal(err)
	}
}

// aliasBomb returns a YAML inventory whose aliases expand to 10^8 groups.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("l0: &l0 {hosts: {h: }}\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "l%d: &l%d {children: {", i, i)
		for j := 0; j < 10; j++ {
			fmt.Fprintf(&b, "g%d_%d: *l%d, ", i, j, i-1)
		}
		b.WriteString("}}\n")
	}
	return b.String()
}
