package params

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/streamtest/streamtest/stream"
)

// inventoryType is the stream type of an inventory host.
var inventoryType = "remote"

// Inventory variables that become parameters of the remote type. When a
// host has several names for one parameter, the first name listed wins.
var ansibleParams = []struct {
	param string
	names []string
}{
	{"host", []string{"ansible_host", "ansible_ssh_host"}},
	{"user", []string{"ansible_user", "ansible_ssh_user"}},
	{"port", []string{"ansible_port", "ansible_ssh_port"}},
	{"key", []string{"ansible_ssh_private_key_file", "ansible_private_key_file"}},
	{"password", []string{"ansible_password", "ansible_ssh_pass", "ansible_ssh_password"}},
	{"connect_timeout", []string{"ansible_timeout", "ansible_ssh_timeout"}},
}

// Inventory variables that are read for their SSH options (see
// sshOptions).
var ansibleSSHArgs = []string{"ansible_ssh_common_args", "ansible_ssh_extra_args"}

// ansibleIgnored are the Ansible variables that have no meaning for a
// stream: what Ansible does once logged in (privilege escalation, the
// Python and shell it uses) and how its own ssh command line is built.
// They are accepted and ignored; any other ansible_* variable is an error,
// so that a misspelt one is found.
var ansibleIgnored = []string{
	"ansible_become", "ansible_become_exe", "ansible_become_flags", "ansible_become_method",
	"ansible_become_pass", "ansible_become_password", "ansible_become_user",
	"ansible_python_interpreter", "ansible_shell_executable", "ansible_shell_type",
	"ansible_pipelining", "ansible_ssh_pipelining", "ansible_ssh_executable",
	"ansible_sftp_extra_args", "ansible_scp_extra_args", "ansible_scp_if_ssh", "ansible_sftp_batch_mode",
	"ansible_network_os", "ansible_facts",
}

// The SSH options of ansible_ssh_common_args and ansible_ssh_extra_args
// that only tune OpenSSH's own connection handling; they are ignored.
var sshOptionsIgnored = []string{"compression", "controlmaster", "controlpath", "controlpersist",
	"serveralivecountmax", "serveraliveinterval"}

// maxHosts bounds the hosts one range pattern may expand to.
const maxHosts = 1 << 16

// ParseInventory parses an Ansible inventory, INI or YAML (see the package
// documentation, "Ansible inventories"): every host becomes a remote stream
// whose id is the host's inventory name, and every group a named group.
// name is used in error positions, to choose the format (".yaml", ".yml"
// and ".json" are YAML, anything else INI, as Ansible decides) and to find
// the file's directory.
func ParseInventory(name string, data []byte) (*File, error) {
	f, errs := parseInventory(name, data)
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	return f, nil
}

// IsYAMLInventory reports whether the inventory file name is read as YAML.
func IsYAMLInventory(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// invVar is one variable as the inventory sets it: k is its key and v its
// value, with their positions.
type invVar struct {
	key  string
	k, v *yaml.Node
}

type invGroup struct {
	name     string
	pos      Pos
	vars     []invVar
	parents  []string
	children map[string]bool
	// childAt is where each child was added, for the error of a loop.
	childAt map[string]Pos
}

type invHost struct {
	name   string
	pos    Pos
	vars   []invVar
	groups []string // the groups that list the host, in order
}

type inventory struct {
	p          *parser
	groups     map[string]*invGroup
	groupOrder []string
	hosts      map[string]*invHost
	hostOrder  []string
}

func parseInventory(name string, data []byte) (*File, []error) {
	p := &parser{name: name, data: data, b: &budget{}}
	dir, err := filepath.Abs(filepath.Dir(name))
	if err != nil {
		dir = filepath.Dir(name)
	}
	f := &File{Name: name, Dir: dir, Root: "inventory", Streams: map[string]Stream{}, Tree: Tree{},
		Groups: map[string]Group{}, raw: map[string][]pair{}, b: p.b}
	inv := &inventory{p: p, groups: map[string]*invGroup{}, hosts: map[string]*invHost{}}
	inv.group("all", Pos{File: name, Line: 1, Column: 1})
	if IsYAMLInventory(name) {
		inv.readYAML()
	} else {
		inv.readINI()
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	inv.build(f)
	return f, dedupe(p.errs)
}

// dedupe drops the errors at a position that already has one: a wrong
// group variable is wrong for every host of the group, and said once.
func dedupe(errs []error) []error {
	seen := map[Pos]bool{}
	var out []error
	for _, err := range errs {
		if e, ok := err.(*Error); ok {
			if seen[e.Pos] {
				continue
			}
			seen[e.Pos] = true
		}
		out = append(out, err)
	}
	return out
}

// group returns the group name, declaring it at pos the first time.
func (inv *inventory) group(name string, pos Pos) *invGroup {
	g, ok := inv.groups[name]
	if !ok {
		g = &invGroup{name: name, pos: pos, children: map[string]bool{}, childAt: map[string]Pos{}}
		inv.groups[name] = g
		inv.groupOrder = append(inv.groupOrder, name)
	}
	return g
}

func (inv *inventory) addChild(parent, child string, pos Pos) {
	pg := inv.group(parent, pos)
	cg := inv.group(child, pos)
	if pg.children[child] {
		return
	}
	pg.children[child] = true
	pg.childAt[child] = pos
	cg.parents = append(cg.parents, parent)
}

// host adds host name to group g, with its variables.
func (inv *inventory) host(name string, pos Pos, g string, vars []invVar) {
	h, ok := inv.hosts[name]
	if !ok {
		h = &invHost{name: name, pos: pos}
		inv.hosts[name] = h
		inv.hostOrder = append(inv.hostOrder, name)
	}
	if g != "" && !contains(h.groups, g) {
		h.groups = append(h.groups, g)
	}
	h.vars = append(h.vars, vars...)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// checkGroupName reports a group name that cannot name a group of streams.
func (inv *inventory) checkGroupName(name string, pos Pos) bool {
	if !idPattern.MatchString(name) {
		inv.p.errs = append(inv.p.errs, errorf(pos, "bad group name %q: a group name has letters, digits, '_', '.' and '-'", name))
		return false
	}
	return true
}

// build turns the hosts into streams and the groups into named groups.
func (inv *inventory) build(f *File) {
	p := inv.p
	// Every group that has no parent is a child of all, as in Ansible; hosts
	// in no group are in ungrouped.
	for _, name := range inv.groupOrder {
		g := inv.groups[name]
		if name != "all" && len(g.parents) == 0 {
			inv.addChild("all", name, g.pos)
		}
	}
	depth, ok := inv.depths()
	if !ok {
		return
	}
	// Named groups: every group but all and ungrouped, in the order the
	// file declares them.
	for _, name := range inv.groupOrder {
		if name == "all" || name == "ungrouped" {
			continue
		}
		f.Groups[name] = Group{Name: name, Pos: inv.groups[name].pos}
		f.GroupOrder = append(f.GroupOrder, name)
	}
	r, linked := stream.Lookup(inventoryType)
	ids := map[string]string{} // host name by stream id
	for _, name := range inv.hostOrder {
		h := inv.hosts[name]
		id, ok := inv.streamID(h)
		if !ok {
			continue
		}
		if first, dup := ids[id]; dup {
			p.errs = append(p.errs, errorf(h.pos, "hosts %q and %q are both stream %s", first, h.name, id))
			continue
		}
		ids[id] = h.name
		groups := inv.ancestors(h)
		s := Stream{ID: id, Type: inventoryType, Dir: f.Dir, Pos: h.pos}
		for _, g := range inv.groupOrder {
			if groups[g] && g != "all" && g != "ungrouped" {
				s.Groups = append(s.Groups, g)
			}
		}
		// Variables, lowest precedence first: all, then the other groups by
		// depth, ansible_group_priority and name, then the host's own.
		var order []string
		for g := range groups {
			order = append(order, g)
		}
		prio := map[string]int{}
		for _, g := range order {
			prio[g] = inv.priority(g)
		}
		sort.Slice(order, func(i, j int) bool {
			a, b := order[i], order[j]
			if depth[a] != depth[b] {
				return depth[a] < depth[b]
			}
			if prio[a] != prio[b] {
				return prio[a] < prio[b]
			}
			return a < b
		})
		vars := map[string]invVar{}
		var keys []string
		set := func(v invVar) {
			if _, ok := vars[v.key]; !ok {
				keys = append(keys, v.key)
			}
			vars[v.key] = v
		}
		for _, g := range order {
			for _, v := range inv.groups[g].vars {
				set(v)
			}
		}
		for _, v := range h.vars {
			set(v)
		}
		entries := inv.entries(h, vars, keys)
		if !linked {
			if len(p.errs) == 0 {
				f.Streams[id] = s
				f.Order = append(f.Order, id)
			}
			continue
		}
		s.Type = r.Name
		note := "; an inventory host is a " + r.Name + " stream: its variables are ansible_host, ansible_user, ansible_port, ansible_ssh_private_key_file, ansible_password or the type's parameters"
		vals, errs := p.values(id, s.Pos, r, entries, note)
		if len(errs) > 0 {
			p.errs = append(p.errs, errs...)
			continue
		}
		s.Values = vals
		f.Streams[id] = s
		f.Order = append(f.Order, id)
	}
	for _, id := range f.Order {
		for _, g := range f.Streams[id].Groups {
			grp := f.Groups[g]
			grp.Members = append(grp.Members, id)
			f.Groups[g] = grp
		}
	}
}

// streamID checks that a host name can be a stream id.
func (inv *inventory) streamID(h *invHost) (string, bool) {
	if !idPattern.MatchString(h.name) {
		inv.p.errs = append(inv.p.errs, errorf(h.pos, "host %q cannot be a stream id: a stream id is a name of letters, digits, '_', '.' and '-' (give the address in ansible_host)", h.name))
		return "", false
	}
	if isDigits(h.name) {
		if i, err := strconv.ParseInt(h.name, 10, 64); err == nil && i >= 1 {
			return strconv.FormatInt(i, 10), true
		}
		inv.p.errs = append(inv.p.errs, errorf(h.pos, "host %q cannot be a stream id: a stream number starts at 1", h.name))
		return "", false
	}
	return h.name, true
}

// depths returns the depth of every group: all is 0, and a group is one
// deeper than its deepest parent. A loop of children is an error.
func (inv *inventory) depths() (map[string]int, bool) {
	depth := map[string]int{}
	state := map[string]int{} // 1: being visited, 2: done
	ok := true
	var visit func(name string) int
	visit = func(name string) int {
		switch state[name] {
		case 1:
			return -1
		case 2:
			return depth[name]
		}
		state[name] = 1
		d := 0
		g := inv.groups[name]
		for _, parent := range g.parents {
			pd := visit(parent)
			if pd < 0 {
				if ok {
					inv.p.errs = append(inv.p.errs, errorf(inv.groups[parent].childAt[name],
						"group %q is a child of %q, which is among its own children: the children of groups make a loop", name, parent))
				}
				ok = false
				state[name] = 2
				return -1
			}
			d = max(d, pd+1)
		}
		state[name] = 2
		depth[name] = d
		return d
	}
	for _, name := range inv.groupOrder {
		visit(name)
	}
	return depth, ok
}

// ancestors returns every group host h is in: the groups that list it,
// their parents and so on, all included.
func (inv *inventory) ancestors(h *invHost) map[string]bool {
	out := map[string]bool{"all": true}
	var walk func(string)
	walk = func(g string) {
		if out[g] && g != "all" {
			return
		}
		out[g] = true
		for _, p := range inv.groups[g].parents {
			walk(p)
		}
	}
	groups := h.groups
	if len(groups) == 0 {
		groups = []string{"ungrouped"}
		inv.group("ungrouped", h.pos)
	}
	for _, g := range groups {
		walk(g)
	}
	return out
}

// priority returns the group's ansible_group_priority, 1 by default.
func (inv *inventory) priority(name string) int {
	prio := 1
	for _, v := range inv.groups[name].vars {
		if v.key != "ansible_group_priority" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v.v.Value))
		if v.v.Kind != yaml.ScalarNode || err != nil {
			inv.p.errs = append(inv.p.errs, errorf(inv.p.pos(orKey(v.v, v.k)), "ansible_group_priority: want a whole number, got %s", describe(v.v, false)))
			continue
		}
		prio = n
	}
	return prio
}

// entries translates a host's variables into the entries of a stream
// definition: the Ansible variables into the type's parameters, the others
// as they are (so that a parameter the type does not know is reported by
// values, with the type's parameters listed).
func (inv *inventory) entries(h *invHost, vars map[string]invVar, keys []string) []pair {
	p := inv.p
	var out []pair
	have := map[string]bool{}
	add := func(param string, v invVar) {
		if have[param] {
			return
		}
		have[param] = true
		out = append(out, pair{key: param, k: v.k, v: v.v, as: v.key})
	}
	for _, m := range ansibleParams {
		for _, name := range m.names {
			if v, ok := vars[name]; ok {
				add(m.param, v)
				break
			}
		}
	}
	known := knownAnsible()
	for _, key := range keys {
		v := vars[key]
		switch {
		case contains(known, key) && !contains(ansibleSSHArgs, key) && key != "ansible_connection":
		case key == "ansible_connection":
			if c := deref(v.v); c == nil || c.Kind != yaml.ScalarNode || !contains([]string{"ssh", "smart", "paramiko"}, c.Value) {
				p.errorf(orKey(c, v.k), "host %s: ansible_connection: want ssh, smart or paramiko (an inventory host is a remote stream), got %s", h.name, describe(c, false))
			}
		case contains(ansibleSSHArgs, key):
			for _, e := range inv.sshOptions(h, v) {
				add(e.key, invVar{key: e.as, k: e.k, v: e.v})
			}
		case strings.HasPrefix(key, "ansible_"):
			p.errorf(v.k, "host %s: unknown Ansible variable %q%s; known: %s; ignored: %s", h.name, key, suggest(key, known),
				strings.Join(knownMapped(), ", "), strings.Join(ansibleIgnored, ", "))
		default:
			add(key, v)
		}
	}
	if !have["host"] {
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: h.name, Line: h.pos.Line, Column: h.pos.Column}
		out = append(out, pair{key: "host", k: n, v: n})
	}
	return out
}

func knownMapped() []string {
	var out []string
	for _, m := range ansibleParams {
		out = append(out, m.names...)
	}
	return append(append(out, ansibleSSHArgs...), "ansible_connection", "ansible_group_priority")
}

func knownAnsible() []string {
	return append(knownMapped(), ansibleIgnored...)
}

// sshOptions reads the -o options of ansible_ssh_common_args or
// ansible_ssh_extra_args: UserKnownHostsFile becomes known_hosts and
// StrictHostKeyChecking=no insecure_ignore_host_key; the options that only
// tune OpenSSH's connection handling are ignored; any other is an error.
func (inv *inventory) sshOptions(h *invHost, v invVar) []pair {
	p := inv.p
	n := deref(v.v)
	if isNull(n) {
		return nil
	}
	at := orKey(n, v.k)
	if n.Kind != yaml.ScalarNode {
		p.errorf(at, "host %s: %s: want SSH options as on a command line, got %s", h.name, v.key, describeKind(n))
		return nil
	}
	words, problem := splitWords(n.Value)
	if problem != "" {
		p.errorf(at, "host %s: %s: %s", h.name, v.key, problem)
		return nil
	}
	var out []pair
	scalar := func(tag, val string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: val, Line: at.Line, Column: at.Column}
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		var opt string
		switch {
		case w == "-o" && i+1 < len(words):
			i++
			opt = words[i]
		case strings.HasPrefix(w, "-o"):
			opt = w[2:]
		default:
			p.errorf(at, "host %s: %s: unsupported argument %q: only -o options are read (UserKnownHostsFile, StrictHostKeyChecking)", h.name, v.key, w)
			return nil
		}
		name, val, ok := strings.Cut(opt, "=")
		if !ok {
			name, val, ok = strings.Cut(opt, " ")
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		switch lname := strings.ToLower(name); {
		case !ok || val == "":
			p.errorf(at, "host %s: %s: want -o Name=value, got -o %q", h.name, v.key, opt)
			return nil
		case lname == "userknownhostsfile":
			out = append(out, pair{key: "known_hosts", k: v.k, v: scalar("!!str", val), as: v.key + " UserKnownHostsFile"})
		case lname == "stricthostkeychecking":
			if l := strings.ToLower(val); l == "no" || l == "off" {
				out = append(out, pair{key: "insecure_ignore_host_key", k: v.k, v: scalar("!!bool", "true"), as: v.key + " StrictHostKeyChecking"})
			}
		case contains(sshOptionsIgnored, lname):
		default:
			p.errorf(at, "host %s: %s: unsupported SSH option %q: read are UserKnownHostsFile and StrictHostKeyChecking; ignored are %s; say the rest in an ssh_config file (the ssh_config parameter)",
				h.name, v.key, name, strings.Join(sshOptionsIgnored, ", "))
			return nil
		}
	}
	return out
}

// splitWords splits s into words as a POSIX shell would, quotes and
// backslashes included.
func splitWords(s string) ([]string, string) {
	toks, problem, _ := splitLine(s, false)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.text
	}
	return out, problem
}

// expandHosts expands the ranges of a host pattern as Ansible does:
// "web[01:03]" is web01, web02, web03; "db-[a:c]" is db-a, db-b, db-c;
// "n[1:9:2]" counts by 2. A pattern may hold several ranges.
func expandHosts(pattern string) ([]string, error) {
	var out []string
	if err := expandInto(pattern, &out); err != nil {
		return nil, fmt.Errorf("host pattern %q: %v", pattern, err)
	}
	return out, nil
}

func expandInto(pattern string, out *[]string) error {
	open := strings.IndexByte(pattern, '[')
	if open < 0 {
		*out = append(*out, pattern)
		return nil
	}
	end := strings.IndexByte(pattern[open:], ']')
	if end < 0 {
		return fmt.Errorf("'[' without ']'")
	}
	head, rng, tail := pattern[:open], pattern[open+1:open+end], pattern[open+end+1:]
	bounds := strings.Split(rng, ":")
	if len(bounds) != 2 && len(bounds) != 3 {
		return fmt.Errorf("a range is [BEGIN:END] or [BEGIN:END:STEP]")
	}
	beg, last, step := bounds[0], bounds[1], 1
	if beg == "" {
		beg = "0"
	}
	if last == "" {
		return fmt.Errorf("the range has no end")
	}
	if len(bounds) == 3 {
		n, err := strconv.Atoi(bounds[2])
		if err != nil || n < 1 {
			return fmt.Errorf("the step of a range is a whole number from 1")
		}
		step = n
	}
	var seq []string
	if isLetter(beg) && isLetter(last) {
		const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		i, j := strings.Index(letters, beg), strings.Index(letters, last)
		if i > j {
			return fmt.Errorf("the range ends before it begins")
		}
		for k := i; k <= j; k += step {
			seq = append(seq, letters[k:k+1])
		}
	} else {
		b, err1 := strconv.Atoi(beg)
		e, err2 := strconv.Atoi(last)
		if err1 != nil || err2 != nil || b < 0 {
			return fmt.Errorf("a range is of whole numbers or of single letters")
		}
		if b > e {
			return fmt.Errorf("the range ends before it begins")
		}
		width := 0
		if len(beg) > 1 && beg[0] == '0' {
			if len(beg) != len(last) {
				return fmt.Errorf("a zero-padded range has a begin and an end of the same width")
			}
			width = len(beg)
		}
		if (e-b)/step+len(*out) >= maxHosts {
			return fmt.Errorf("expands to more than %d hosts", maxHosts)
		}
		for k := b; k <= e; k += step {
			seq = append(seq, fmt.Sprintf("%0*d", width, k))
		}
	}
	for _, x := range seq {
		if err := expandInto(head+x+tail, out); err != nil {
			return err
		}
		if len(*out) > maxHosts {
			return fmt.Errorf("expands to more than %d hosts", maxHosts)
		}
	}
	return nil
}

func isLetter(s string) bool {
	return len(s) == 1 && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}

// hostPort splits "name:port" (the port in the pattern, as Ansible reads
// it). A colon inside a range's brackets is the range's; an address with
// other colons (IPv6) is left whole.
func hostPort(pattern string) (string, string) {
	depth, colon, outside := 0, -1, 0
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ':':
			if depth == 0 {
				colon = i
				outside++
			}
		}
	}
	if outside != 1 || !isDigits(pattern[colon+1:]) {
		return pattern, ""
	}
	return pattern[:colon], pattern[colon+1:]
}

// hostsOf expands a host pattern at pos into hosts and the port it gives,
// reporting an error at pos.
func (inv *inventory) hostsOf(pattern string, pos Pos) ([]string, string, bool) {
	name, port := hostPort(pattern)
	hosts, err := expandHosts(name)
	if err != nil {
		inv.p.errs = append(inv.p.errs, errorf(pos, "%v", err))
		return nil, "", false
	}
	return hosts, port, true
}
