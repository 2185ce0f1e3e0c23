package params

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// The keys a group of a YAML inventory may hold.
var inventoryGroupKeys = []string{"children", "hosts", "vars"}

// readYAML reads a YAML inventory: the top-level keys are groups (usually
// just "all"), each a mapping of hosts, vars and children, children being
// groups again.
func (inv *inventory) readYAML() {
	p := inv.p
	docs, err := p.decode()
	if err != nil {
		p.errs = append(p.errs, err)
		return
	}
	if len(docs) > 1 {
		p.errorf(docs[1], "an inventory holds one YAML document; this is a second one")
		return
	}
	if len(docs) == 0 || len(docs[0].Content) == 0 || isNull(deref(docs[0].Content[0])) {
		return
	}
	top := deref(docs[0].Content[0])
	if top.Kind != yaml.MappingNode {
		p.errorf(top, "want a mapping of groups at the top of the inventory (all: {hosts: ..., children: ...}), got %s", describeKind(top))
		return
	}
	active := map[*yaml.Node]bool{}
	for _, e := range p.pairs(top) {
		inv.yamlGroup(e.key, e.k, deref(e.v), "", active)
	}
}

func (inv *inventory) yamlGroup(name string, k, v *yaml.Node, parent string, active map[*yaml.Node]bool) {
	p := inv.p
	if !inv.work(k) {
		return
	}
	at := p.pos(k)
	if !inv.checkGroupName(name, at) {
		return
	}
	if parent != "" {
		if name == "all" {
			p.errorf(k, "all cannot be a child of %s", parent)
			return
		}
		inv.addChild(parent, name, at)
	} else {
		inv.group(name, at)
	}
	if isNull(v) {
		return
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "group %s: want a mapping with keys %s, got %s", name, strings.Join(inventoryGroupKeys, ", "), describeKind(v))
		return
	}
	if active[v] {
		p.errorf(k, "group %s contains itself", name)
		return
	}
	active[v] = true
	defer delete(active, v)
	for _, e := range p.pairs(v) {
		val := deref(e.v)
		switch e.key {
		case "hosts":
			inv.yamlHosts(name, val)
		case "vars":
			vars := inv.yamlVars(name, val)
			g := inv.groups[name]
			g.vars = append(g.vars, vars...)
		case "children":
			if isNull(val) {
				continue
			}
			if val.Kind != yaml.MappingNode {
				p.errorf(val, "group %s: children: want a mapping of groups, got %s", name, describeKind(val))
				continue
			}
			for _, c := range p.pairs(val) {
				inv.yamlGroup(c.key, c.k, deref(c.v), name, active)
			}
		default:
			p.errorf(e.k, "group %s: unknown key %q%s; known keys: %s", name, e.key, suggest(e.key, inventoryGroupKeys), strings.Join(inventoryGroupKeys, ", "))
		}
	}
}

func (inv *inventory) yamlHosts(group string, n *yaml.Node) {
	p := inv.p
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "group %s: hosts: want a mapping of hosts (host: {variables} or host:), got %s", group, describeKind(n))
		return
	}
	for _, e := range p.pairs(n) {
		if !inv.work(e.k) {
			return
		}
		at := p.pos(e.k)
		hosts, port, ok := inv.hostsOf(e.key, at)
		if !ok {
			continue
		}
		vars := inv.yamlVars("host "+e.key, deref(e.v))
		if port != "" {
			pn := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: port, Line: at.Line, Column: at.Column}
			vars = append([]invVar{{key: "ansible_port", k: pn, v: pn}}, vars...)
		}
		for _, h := range hosts {
			inv.host(h, at, group, vars)
		}
	}
}

func (inv *inventory) yamlVars(owner string, n *yaml.Node) []invVar {
	p := inv.p
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping of variables, got %s", owner, describeKind(n))
		return nil
	}
	var out []invVar
	for _, e := range p.pairs(n) {
		out = append(out, invVar{key: e.key, k: e.k, v: deref(e.v)})
	}
	return out
}

// work counts the groups and hosts read, aliases followed included; it
// reports false (once with an error) when they are more than maxSteps, so
// that aliases that expand exponentially cannot exhaust time or memory.
func (inv *inventory) work(at *yaml.Node) bool {
	b := inv.p.b
	if b.over {
		return false
	}
	b.steps++
	if b.steps > maxSteps {
		b.over = true
		inv.p.errorf(at, "the inventory has more than %d groups and hosts, aliases expanded (the limit that stops alias bombs); use fewer aliases, or write the groups out", maxSteps)
		return false
	}
	return true
}
