package params

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The INI inventory is Ansible's own format, not generic INI: a section
// header names a group ("[web]"), its variables ("[web:vars]") or its
// children ("[web:children]"); a host line is a host pattern followed by
// key=value variables, split into words as a POSIX shell would, with "#"
// starting a comment; lines before any header are hosts of "ungrouped".
// readINI reads it line by line, keeping the line and column of every
// word.

var sectionRE = regexp.MustCompile(`^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$`)

func (inv *inventory) readINI() {
	p := inv.p
	group, kind := "ungrouped", ""
	for i, line := range strings.Split(string(p.data), "\n") {
		lineNo := i + 1
		line = strings.TrimSuffix(line, "\r")
		if !utf8.ValidString(line) {
			p.errs = append(p.errs, errorf(Pos{File: p.name, Line: lineNo, Column: 1}, "the line is not valid UTF-8"))
			continue
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		col := utf8.RuneCountInString(line[:strings.Index(line, trimmed[:1])]) + 1
		at := Pos{File: p.name, Line: lineNo, Column: col}
		if trimmed[0] == '[' {
			m := sectionRE.FindStringSubmatch(trimmed)
			if m == nil {
				p.errs = append(p.errs, errorf(at, "bad section header: want [GROUP], [GROUP:vars] or [GROUP:children]"))
				group, kind = "", "bad"
				continue
			}
			switch m[2] {
			case "", "vars", "children":
			default:
				p.errs = append(p.errs, errorf(at, "bad section header: unknown section kind %q; want [GROUP], [GROUP:vars] or [GROUP:children]", m[2]))
				group, kind = "", "bad"
				continue
			}
			if !inv.checkGroupName(m[1], Pos{File: p.name, Line: lineNo, Column: col + 1}) {
				group, kind = "", "bad"
				continue
			}
			group, kind = m[1], m[2]
			inv.group(group, at)
			continue
		}
		if kind == "bad" {
			continue // the section's header was reported
		}
		var toks []word
		if kind != "vars" {
			var problem string
			var pcol int
			toks, problem, pcol = splitLine(line, true)
			if problem != "" {
				p.errs = append(p.errs, errorf(Pos{File: p.name, Line: lineNo, Column: pcol}, "%s", problem))
				continue
			}
			if len(toks) == 0 {
				continue
			}
		}
		switch kind {
		case "vars":
			// A variable of a group is the whole line: key=value, the value
			// as written, surrounding quotes removed.
			k, v, ok := strings.Cut(line, "=")
			key := strings.TrimSpace(k)
			if !ok || key == "" {
				p.errs = append(p.errs, errorf(at, "[%s:vars]: want key=value", group))
				continue
			}
			vcol := utf8.RuneCountInString(k) + 2
			val := strings.TrimLeft(v, " \t")
			vcol += utf8.RuneCountInString(v) - utf8.RuneCountInString(val)
			val = strings.TrimSpace(val)
			quoted := false
			if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
				val, quoted = val[1:len(val)-1], true
			}
			g := inv.groups[group]
			g.vars = append(g.vars, iniVar(key, val, quoted, lineNo, col, vcol))
		case "children":
			if len(toks) > 1 {
				p.errs = append(p.errs, errorf(Pos{File: p.name, Line: lineNo, Column: toks[1].col}, "[%s:children]: want one group name per line", group))
				continue
			}
			child := toks[0].text
			if child == "all" {
				p.errs = append(p.errs, errorf(at, "[%s:children]: all cannot be a child", group))
				continue
			}
			if inv.checkGroupName(child, at) {
				inv.addChild(group, child, at)
			}
		default:
			hosts, port, ok := inv.hostsOf(toks[0].text, at)
			if !ok {
				continue
			}
			var vars []invVar
			if port != "" {
				vars = append(vars, iniVar("ansible_port", port, false, lineNo, col, col+utf8.RuneCountInString(toks[0].text)-len(port)))
			}
			for _, t := range toks[1:] {
				k, v, ok := strings.Cut(t.text, "=")
				if !ok || k == "" {
					p.errs = append(p.errs, errorf(Pos{File: p.name, Line: lineNo, Column: t.col}, "want a host variable as key=value after the host"))
					continue
				}
				vars = append(vars, iniVar(k, v, t.quoted, lineNo, t.col, t.col+utf8.RuneCountInString(k)+1))
			}
			inv.group(group, at)
			for _, h := range hosts {
				inv.host(h, at, group, vars)
			}
		}
	}
}

// iniVar makes a variable with scalar nodes at its key's and value's
// positions. A value that is not quoted and reads as a whole number or a
// boolean is one, as Ansible reads a host line; any other is a string.
func iniVar(key, val string, quoted bool, line, kcol, vcol int) invVar {
	tag := "!!str"
	if !quoted {
		if _, err := strconv.ParseInt(val, 10, 64); err == nil {
			tag = "!!int"
		} else if val == "true" || val == "false" || val == "True" || val == "False" {
			tag = "!!bool"
			val = strings.ToLower(val)
		}
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: line, Column: kcol}
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: val, Line: line, Column: vcol}
	return invVar{key: key, k: k, v: v}
}

type word struct {
	text   string
	col    int // the column of its first character, from 1
	quoted bool
}

// splitLine splits line into words as a POSIX shell (and Python's shlex)
// would: blanks separate words, single quotes keep everything, double
// quotes keep everything but a backslash before '"', '\' or '$', a
// backslash outside quotes keeps the next character, and with comments a
// '#' that starts a word starts a comment. On an unterminated quote it
// returns a problem and its column; the problem never quotes the line.
func splitLine(line string, comments bool) ([]word, string, int) {
	var out []word
	var cur strings.Builder
	in := false // in a word
	quoted := false
	start := 0
	col := 0
	rs := []rune(line)
	flush := func() {
		if in {
			out = append(out, word{text: cur.String(), col: start, quoted: quoted})
		}
		cur.Reset()
		in, quoted = false, false
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		col = i + 1
		switch {
		case r == ' ' || r == '\t':
			flush()
		case r == '#' && comments && !in:
			return out, "", 0
		case r == '\'' || r == '"':
			if !in {
				in, start = true, col
			}
			quoted = true
			q := r
			j := i + 1
			for ; j < len(rs) && rs[j] != q; j++ {
				if q == '"' && rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("\"\\$`", rs[j+1]) {
					j++
				}
				cur.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, "unterminated quote", col
			}
			i = j
		case r == '\\':
			if !in {
				in, start = true, col
			}
			if i+1 < len(rs) {
				i++
				cur.WriteRune(rs[i])
			}
		default:
			if !in {
				in, start = true, col
			}
			cur.WriteRune(r)
		}
	}
	flush()
	return out, "", 0
}
