package params

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/streamtest/streamtest/stream"
)

// convert converts n to the Go type of kind k. On failure it returns a
// description of what n is instead, which never shows a Secret's value, or
// errors with their own positions.
func (p *parser) convert(k stream.Kind, n *yaml.Node) (any, string, []error) {
	v, desc := p.convertValue(k, n)
	errs := p.nested
	p.nested = nil
	return v, desc, errs
}

func (p *parser) convertValue(k stream.Kind, n *yaml.Node) (any, string) {
	secret := k == stream.Secret
	if isNull(n) {
		return nil, describe(n, secret)
	}
	switch k {
	case stream.String, stream.Path, stream.Secret:
		if n.Kind == yaml.ScalarNode {
			return n.Value, ""
		}
	case stream.Int:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
			var i int
			if n.Decode(&i) == nil {
				return i, ""
			}
		}
	case stream.Bool:
		if b, ok := scalarBool(n); ok {
			return b, ""
		}
	case stream.Duration:
		if d, ok := duration(n); ok {
			return d, ""
		}
	case stream.Strings:
		switch n.Kind {
		case yaml.ScalarNode:
			return []string{n.Value}, ""
		case yaml.SequenceNode:
			l := make([]string, 0, len(n.Content))
			for _, c := range n.Content {
				c = deref(c)
				if c == nil || c.Kind != yaml.ScalarNode || isNull(c) {
					return nil, "a list holding " + describe(c, false)
				}
				l = append(l, c.Value)
			}
			return l, ""
		}
	case stream.StringMap:
		if n.Kind == yaml.MappingNode {
			sub := &parser{name: p.name, b: p.b}
			entries := sub.pairs(n)
			if len(sub.errs) > 0 {
				p.nested = sub.errs
				return nil, ""
			}
			m := make(map[string]string, len(entries))
			for _, e := range entries {
				v := deref(e.v)
				switch {
				case isNull(v):
					m[e.key] = ""
				case v.Kind == yaml.ScalarNode:
					m[e.key] = v.Value
				default:
					return nil, "a mapping where " + strconv.Quote(e.key) + " is " + describeKind(v)
				}
			}
			return m, ""
		}
	}
	return nil, describe(n, secret)
}

// duration accepts a Go duration ("1m30s") or a number of seconds, not
// negative.
func duration(n *yaml.Node) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch n.Tag {
	case "!!int", "!!float":
		var f float64
		if n.Decode(&f) != nil || math.IsNaN(f) || f < 0 || f*1e9 >= math.MaxInt64 {
			return 0, false
		}
		return time.Duration(math.Round(f * 1e9)), true
	case "!!str":
		d, err := time.ParseDuration(strings.TrimSpace(n.Value))
		if err != nil || d < 0 {
			return 0, false
		}
		return d, true
	}
	return 0, false
}

func scalarBool(n *yaml.Node) (bool, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, false
	}
	var b bool
	if n.Decode(&b) != nil {
		return false, false
	}
	return b, true
}

// describe says what n is, for an error message. A scalar is quoted
// (shortened when long) unless secret is set.
func describe(n *yaml.Node, secret bool) string {
	if isNull(n) {
		return "nothing (null)"
	}
	if n.Kind == yaml.ScalarNode {
		if secret {
			return "a value that is not shown"
		}
		v := n.Value
		if utf8.RuneCountInString(v) > 40 {
			v = string([]rune(v)[:37]) + "..."
		}
		return strconv.Quote(v)
	}
	return describeKind(n)
}

func describeKind(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing (null)"
		}
		return "a single value"
	case yaml.AliasNode:
		return describeKind(n.Alias)
	}
	return "something else"
}

// suggest returns ` (did you mean "x"?)` for the name closest to s, or "".
func suggest(s string, names []string) string {
	best, bestD := "", -1
	for _, n := range names {
		d := distance(strings.ToLower(s), strings.ToLower(n))
		if bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	if bestD < 0 || bestD == 0 && best == s {
		return ""
	}
	if l := utf8.RuneCountInString(s); bestD <= 2 && bestD < l || bestD*3 <= l {
		return " (did you mean " + strconv.Quote(best) + "?)"
	}
	return ""
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		if a == b {
			return 0
		}
		return 64
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := prev[j-1]
			if ra[i-1] != rb[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
