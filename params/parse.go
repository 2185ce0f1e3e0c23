package params

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/streamtest/streamtest/stream"
)

// File is one parameters file as [ParseFile] read it.
type File struct {
	Name string // as given to ParseFile
	Dir  string // the absolute directory of Name
	// Root is where the file defines its streams: "avocado", "streamtest",
	// "streams" (top level), or "" when it defines none.
	Root    string
	Streams map[string]Stream
	Order   []string // ids in definition order
	// DefaultType and Strict are the settings the file makes under its
	// root, nil when it makes none.
	DefaultType *Setting[string]
	Strict      *Setting[bool]
	Tree        Tree // every top-level key that is not a streams root
	// Groups are the named groups the file declares, by name, with the
	// members it gives them; GroupOrder lists them in declaration order.
	Groups     map[string]Group
	GroupOrder []string

	// raw holds the entries of streams without a type: they are checked
	// once the default type is known.
	raw map[string][]pair
	b   *budget
}

// The root sections a file may put its streams under.
var roots = []string{"avocado", "streamtest"}

// The keys a root section may hold.
var rootKeys = []string{"default_type", "streams", "strict"}

// maxSteps bounds the values that aliases of one file expand to, so that
// aliases that expand exponentially (a "billion laughs" file) cannot exhaust
// memory. Values written out in the file do not count: the YAML decoder
// has read them already, and a file is as large as its author made it.
const maxSteps = 1 << 18

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// ParseFile parses and checks one parameters file. name is used in error
// positions and to find the file's directory. A stream without a type is
// checked against the file's own default_type, else "local".
func ParseFile(name string, data []byte) (*File, error) {
	f, errs := parse(name, data)
	if f != nil {
		dt := Setting[string]{Value: defaultType, Source: "default"}
		if f.DefaultType != nil {
			dt = *f.DefaultType
		}
		errs = append(errs, f.settle(dt)...)
	}
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	return f, nil
}

// joinSorted joins errs, those with a position in the order of their
// positions.
func joinSorted(errs []error) error {
	sort.SliceStable(errs, func(i, j int) bool {
		a, aok := errs[i].(*Error)
		b, bok := errs[j].(*Error)
		if !aok || !bok {
			return false
		}
		return a.Pos.File == b.Pos.File && (a.Pos.Line < b.Pos.Line || a.Pos.Line == b.Pos.Line && a.Pos.Column < b.Pos.Column)
	})
	return errors.Join(errs...)
}

const defaultType = "local"

type parser struct {
	name string
	data []byte
	errs []error
	b    *budget // shared by every parser working on one file
	// aliases are the aliases being expanded, outermost first.
	aliases []*yaml.Node
	// nested are errors found inside a value being converted.
	nested []error
}

func (p *parser) pos(n *yaml.Node) Pos {
	return Pos{File: p.name, Line: n.Line, Column: n.Column}
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, errorf(p.pos(n), format, args...))
}

// step counts the values reached through aliases; it reports false (once
// with an error) when they are more than maxSteps.
func (p *parser) step(n *yaml.Node) bool {
	if p.b == nil {
		p.b = &budget{}
	}
	if p.b.over {
		return false
	}
	if len(p.aliases) == 0 {
		return true
	}
	p.b.steps++
	if p.b.steps > maxSteps {
		p.b.over = true
		p.errorf(p.aliases[0], "aliases expand to more than %d values (the limit that stops alias bombs); use fewer or smaller aliases, or write the values out", maxSteps)
		return false
	}
	return true
}

// budget is the work left for one file.
type budget struct {
	steps int
	over  bool
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

type pair struct {
	key  string
	k, v *yaml.Node
	// as is the name the file gives the entry when it is not key (an
	// inventory's "ansible_port" for "port"), for messages.
	as string
}

// name returns the entry's name as the file gives it.
func (e pair) name() string {
	if e.as != "" {
		return e.as
	}
	return e.key
}

// pairs returns the entries of mapping m with merge keys ("<<: *base")
// expanded: m's own keys first, then merged keys m does not have. A key
// that appears twice in m itself is an error.
func (p *parser) pairs(m *yaml.Node) []pair {
	return p.pairsIn(m, map[*yaml.Node]bool{})
}

func (p *parser) pairsIn(m *yaml.Node, active map[*yaml.Node]bool) []pair {
	if active[m] {
		p.errorf(m, "a merge key includes the mapping itself")
		return nil
	}
	active[m] = true
	defer delete(active, m)
	var own, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := deref(m.Content[i]), m.Content[i+1]
		if !p.step(k) {
			return nil
		}
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merged = append(merged, p.merge(k, deref(v), active)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "want a plain key, got %s", describeKind(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, "duplicate key %q (first at %s)", k.Value, p.pos(first))
			continue
		}
		seen[k.Value] = k
		own = append(own, pair{key: k.Value, k: k, v: v})
	}
	for _, e := range merged {
		if _, dup := seen[e.key]; !dup {
			seen[e.key] = e.k
			own = append(own, e)
		}
	}
	return own
}

func (p *parser) merge(k, v *yaml.Node, active map[*yaml.Node]bool) []pair {
	p.aliases = append(p.aliases, k)
	defer func() { p.aliases = p.aliases[:len(p.aliases)-1] }()
	var out []pair
	switch {
	case v == nil:
	case v.Kind == yaml.MappingNode:
		if active[v] {
			p.errorf(k, "a merge key includes the mapping itself")
			return nil
		}
		out = p.pairsIn(v, active)
	case v.Kind == yaml.SequenceNode:
		seen := map[string]bool{}
		for _, it := range v.Content {
			it = deref(it)
			if it == nil || it.Kind != yaml.MappingNode {
				p.errorf(k, "a merge key wants a mapping or a list of mappings")
				return nil
			}
			if active[it] {
				p.errorf(k, "a merge key includes the mapping itself")
				return nil
			}
			for _, e := range p.pairsIn(it, active) {
				if !seen[e.key] {
					seen[e.key] = true
					out = append(out, e)
				}
			}
		}
	default:
		p.errorf(k, "a merge key wants a mapping or a list of mappings")
	}
	return out
}

// parse reads a file. It returns a nil File only when the file cannot be
// read at all; streams without a type are left for settle.
func parse(name string, data []byte) (*File, []error) {
	p := &parser{name: name, data: data, b: &budget{}}
	dir, err := filepath.Abs(filepath.Dir(name))
	if err != nil {
		dir = filepath.Dir(name)
	}
	f := &File{Name: name, Dir: dir, Streams: map[string]Stream{}, Tree: Tree{}, Groups: map[string]Group{},
		raw: map[string][]pair{}, b: p.b}
	defer f.collectGroups()

	docs, err := p.decode()
	if err != nil {
		return nil, []error{err}
	}
	if len(docs) > 1 {
		return nil, []error{errorf(p.pos(docs[1]), "a parameters file holds one YAML document; this is a second one")}
	}
	if len(docs) == 0 || len(docs[0].Content) == 0 || isNull(deref(docs[0].Content[0])) {
		return f, nil
	}
	top := deref(docs[0].Content[0])
	if top.Kind != yaml.MappingNode {
		return nil, []error{errorf(p.pos(top), "want a mapping at the top of the file, got %s", describeKind(top))}
	}

	var streamsAt *yaml.Node // the key that holds the streams
	for _, e := range p.pairs(top) {
		switch {
		case e.key == "streams":
			if streamsAt != nil {
				p.errorf(e.k, "streams defined both here and under %q at %s", streamsAt.Value, p.pos(streamsAt))
				continue
			}
			streamsAt = e.k
			f.Root = "streams"
			p.streams(f, deref(e.v))
		case isRoot(e.key):
			p.root(f, e, &streamsAt)
		default:
			v, ok := p.tree(e.v, map[*yaml.Node]bool{})
			if ok {
				f.Tree[e.key] = v
			}
		}
	}
	return f, p.errs
}

func isRoot(k string) bool {
	for _, r := range roots {
		if k == r {
			return true
		}
	}
	return false
}

// decode reads every YAML document in the data. A syntax error becomes an
// *Error with a position.
func (p *parser) decode() (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, errorf(Pos{File: p.name, Line: 1, Column: 1}, "cannot parse YAML: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(p.data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, p.syntaxError(err)
		}
		docs = append(docs, &doc)
		if len(docs) > 1 {
			return docs, nil
		}
	}
}

var lineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
var anchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)

// parserProblems are the problems the YAML parser (not its scanner)
// reports; the decoder gives their line counted from 0.
var parserProblems = []string{
	"did not find expected",
	"found duplicate %",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// syntaxError turns an error of the YAML decoder into an *Error. The decoder
// reports a line only; the column is that of the line's first character
// that is not blank.
func (p *parser) syntaxError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pos := Pos{File: p.name, Line: 1, Column: 1}
	switch {
	case lineRE.MatchString(err.Error()):
		m := lineRE.FindStringSubmatch(err.Error())
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
		for _, prefix := range parserProblems {
			if strings.HasPrefix(msg, prefix) && !isScannerProblem(msg) {
				pos.Line++
				break
			}
		}
		pos.Column = p.firstColumn(pos.Line)
	case anchorRE.MatchString(err.Error()):
		m := anchorRE.FindStringSubmatch(err.Error())
		pos.Line, pos.Column = p.find([]byte("*" + m[1]))
	case strings.Contains(msg, "control characters are not allowed"):
		pos.Line, pos.Column = p.findFunc(func(r rune) bool {
			return r != '\t' && r != '\n' && r != '\r' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0xfffe || r == 0xffff)
		})
	case strings.Contains(msg, "UTF-8") || strings.Contains(msg, "UTF-16"):
		pos.Line, pos.Column = p.findFunc(func(r rune) bool { return r == utf8.RuneError })
	}
	return &Error{Pos: pos, Msg: "YAML: " + msg}
}

// isScannerProblem reports the scanner's problems that start like a
// parser's.
func isScannerProblem(msg string) bool {
	for _, s := range []string{"did not find expected '!'", "did not find expected alphabetic", "did not find expected comment",
		"did not find expected digit", "did not find expected hexdecimal", "did not find expected tag URI",
		"did not find expected version", "did not find expected whitespace"} {
		if strings.HasPrefix(msg, s) {
			return true
		}
	}
	return false
}

// firstColumn returns the column of the first non-blank character of line
// (1-based), or 1.
func (p *parser) firstColumn(line int) int {
	lines := bytes.Split(p.data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 1
	}
	l := lines[line-1]
	col := 1
	for _, r := range string(l) {
		if r != ' ' && r != '\t' {
			return col
		}
		col++
	}
	return 1
}

// find returns the line and column of the first occurrence of s, or 1, 1.
func (p *parser) find(s []byte) (int, int) {
	return p.lineCol(bytes.Index(p.data, s))
}

// findFunc returns the line and column of the first rune for which f is
// true, or 1, 1.
func (p *parser) findFunc(f func(rune) bool) (int, int) {
	return p.lineCol(bytes.IndexFunc(p.data, f))
}

func (p *parser) lineCol(i int) (int, int) {
	if i < 0 {
		return 1, 1
	}
	before := p.data[:i]
	line := bytes.Count(before, []byte("\n")) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

// root reads a root section: avocado: or streamtest:.
func (p *parser) root(f *File, e pair, streamsAt **yaml.Node) {
	v := deref(e.v)
	if isNull(v) {
		return
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "%s: want a mapping with keys %s, got %s", e.key, strings.Join(rootKeys, ", "), describeKind(v))
		return
	}
	for _, r := range p.pairs(v) {
		switch r.key {
		case "streams":
			if *streamsAt != nil {
				where := "at the top level"
				if f.Root != "streams" {
					where = "under " + strconv.Quote(f.Root)
				}
				p.errorf(r.k, "streams defined both here and %s at %s", where, p.pos(*streamsAt))
				continue
			}
			*streamsAt = e.k
			f.Root = e.key
			p.streams(f, deref(r.v))
		case "default_type":
			n := deref(r.v)
			if n == nil || n.Kind != yaml.ScalarNode || isNull(n) || n.Value == "" {
				p.errorf(orKey(n, r.k), "default_type: want a stream type name, got %s", describe(n, false))
				continue
			}
			if msg, ok := checkTypeName(n.Value); !ok {
				p.errorf(n, "default_type: %s", msg)
				continue
			}
			f.DefaultType = &Setting[string]{Value: n.Value, Source: p.pos(n).String()}
		case "strict":
			n := deref(r.v)
			b, ok := scalarBool(n)
			if !ok {
				p.errorf(orKey(n, r.k), "strict: want bool, got %s", describe(n, false))
				continue
			}
			f.Strict = &Setting[bool]{Value: b, Source: p.pos(n).String()}
		default:
			p.errorf(r.k, "unknown key %q in %s%s; known keys: %s", r.key, e.key, suggest(r.key, rootKeys), strings.Join(rootKeys, ", "))
		}
	}
}

// orKey returns n, or the key k when n is missing or empty ("key:"), so
// that an error points at something the user wrote.
func orKey(n, k *yaml.Node) *yaml.Node {
	if n == nil || n.Line == 0 || isNull(n) && n.Value == "" {
		return k
	}
	return n
}

// streams reads the streams section, a list of one-key mappings or a
// mapping of id to definition.
func (p *parser) streams(f *File, n *yaml.Node) {
	if isNull(n) {
		return
	}
	ids := map[string]*yaml.Node{}
	def := func(k, v *yaml.Node) {
		id, ok := p.id(k)
		if !ok {
			return
		}
		if first, dup := ids[id]; dup {
			p.errorf(k, "duplicate stream id %q (first defined at %s)", id, p.pos(first))
			return
		}
		ids[id] = k
		p.stream(f, id, k, v)
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, it := range n.Content {
			it := deref(it)
			if !p.step(it) {
				return
			}
			if it == nil || it.Kind != yaml.MappingNode {
				p.errorf(it, "want a stream like \"- 1: {type: local}\", got %s", describeKind(it))
				continue
			}
			for _, e := range p.rawPairs(it) {
				def(e.k, e.v)
			}
		}
	case yaml.MappingNode:
		for _, e := range p.rawPairs(n) {
			def(e.k, e.v)
		}
	default:
		p.errorf(n, "streams: want a list or a mapping of streams, got %s", describeKind(n))
	}
}

// rawPairs returns the entries of a mapping of stream ids, with merge keys
// expanded. Duplicates are left for the caller to report with stream ids.
func (p *parser) rawPairs(m *yaml.Node) []pair {
	var out []pair
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := deref(m.Content[i]), m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			out = append(out, p.merge(k, deref(v), map[*yaml.Node]bool{m: true})...)
			continue
		}
		out = append(out, pair{key: k.Value, k: k, v: v})
	}
	return out
}

// id checks and normalises a stream id: whole numbers lose leading zeros.
func (p *parser) id(k *yaml.Node) (string, bool) {
	const rule = "a stream id is a whole number from 1 or a name of letters, digits, '_', '.' and '-'"
	if k.Kind != yaml.ScalarNode || isNull(k) || k.Value == "" {
		p.errorf(k, "want a stream id, got %s; %s", describeKind(k), rule)
		return "", false
	}
	s := k.Value
	if k.Tag == "!!int" || isDigits(s) {
		var i int64
		var err error
		if isDigits(s) {
			i, err = strconv.ParseInt(s, 10, 64)
		} else {
			err = k.Decode(&i)
		}
		if err != nil || i < 1 {
			p.errorf(k, "bad stream id %q; %s", s, rule)
			return "", false
		}
		return strconv.FormatInt(i, 10), true
	}
	if !idPattern.MatchString(s) {
		p.errorf(k, "bad stream id %q; %s", s, rule)
		return "", false
	}
	return s, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// stream reads one stream definition.
func (p *parser) stream(f *File, id string, k, v *yaml.Node) {
	s := Stream{ID: id, Dir: f.Dir, Pos: p.pos(k)}
	v = deref(v)
	if !isNull(v) && v.Kind != yaml.MappingNode {
		p.errorf(v, "stream %s: want a mapping of parameters, like {type: local}, got %s", id, describeKind(v))
		return
	}
	var entries []pair
	if !isNull(v) {
		entries = p.pairs(v)
	}
	var typ *yaml.Node
	for _, e := range entries {
		switch e.key {
		case "type":
			typ = deref(e.v)
		case "groups":
			groups, ok := p.groups(f, id, e)
			if !ok {
				return
			}
			s.Groups = groups
		}
	}
	if typ == nil {
		s.Untyped = true
		f.Streams[id] = s
		f.Order = append(f.Order, id)
		f.raw[id] = entries
		return
	}
	if typ.Kind != yaml.ScalarNode || isNull(typ) || typ.Value == "" {
		p.errorf(typ, "stream %s: type: want a stream type name, got %s", id, describe(typ, false))
		return
	}
	s.Type = typ.Value
	if r, ok := stream.Lookup(typ.Value); ok {
		s.Type = r.Name
		vals, errs := p.values(id, s.Pos, r, entries, "")
		if len(errs) > 0 {
			p.errs = append(p.errs, errs...)
			return
		}
		s.Values = vals
	} else if _, builtIn := stream.BuiltIn[typ.Value]; !builtIn {
		msg, _ := checkTypeName(typ.Value)
		p.errorf(typ, "stream %s: %s", id, msg)
		return
	}
	f.Streams[id] = s
	f.Order = append(f.Order, id)
}

// groups reads the "groups" key of a stream: a group name or a list of
// them, each declared in f at its first use.
func (p *parser) groups(f *File, id string, e pair) ([]string, bool) {
	n := deref(e.v)
	var items []*yaml.Node
	switch {
	case isNull(n):
	case n.Kind == yaml.ScalarNode:
		items = []*yaml.Node{n}
	case n.Kind == yaml.SequenceNode:
		for _, it := range n.Content {
			items = append(items, deref(it))
		}
	default:
		p.errorf(n, "stream %s: groups: want a list of group names, like [etcd, db], got %s", id, describeKind(n))
		return nil, false
	}
	var out []string
	ok := true
	for _, it := range items {
		if it == nil || it.Kind != yaml.ScalarNode || isNull(it) || !idPattern.MatchString(it.Value) {
			p.errorf(orKey(it, e.k), "stream %s: groups: want a group name of letters, digits, '_', '.' and '-', got %s", id, describe(it, false))
			ok = false
			continue
		}
		if it.Value == "all" || it.Value == "ungrouped" {
			p.errorf(it, "stream %s: groups: %q is reserved (every stream is in all; Manager.All returns them)", id, it.Value)
			ok = false
			continue
		}
		if contains(out, it.Value) {
			continue
		}
		out = append(out, it.Value)
		if _, seen := f.Groups[it.Value]; !seen {
			f.Groups[it.Value] = Group{Name: it.Value, Pos: p.pos(it)}
			f.GroupOrder = append(f.GroupOrder, it.Value)
		}
	}
	return out, ok
}

// collectGroups sets the members of the file's groups from its streams.
func (f *File) collectGroups() {
	if f == nil {
		return
	}
	for name, g := range f.Groups {
		g.Members = nil
		f.Groups[name] = g
	}
	for _, id := range f.Order {
		for _, name := range f.Streams[id].Groups {
			g := f.Groups[name]
			g.Members = append(g.Members, id)
			f.Groups[name] = g
		}
	}
}

// settle checks the streams without a type against the default type dt.
func (f *File) settle(dt Setting[string]) []error {
	var errs []error
	for _, id := range f.Order {
		s := f.Streams[id]
		if !s.Untyped {
			continue
		}
		s, err := settleStream(f.Name, s, f.raw[id], dt, f.b)
		if err != nil {
			errs = append(errs, err...)
			continue
		}
		f.Streams[id] = s
	}
	return errs
}

func settleStream(name string, s Stream, entries []pair, dt Setting[string], b *budget) (Stream, []error) {
	s.Type = dt.Value
	s.Values = nil
	r, ok := stream.Lookup(dt.Value)
	if !ok {
		if _, builtIn := stream.BuiltIn[dt.Value]; builtIn {
			return s, nil
		}
		msg, _ := checkTypeName(dt.Value)
		return s, []error{errorf(s.Pos, "stream %s has no type and the default type (set at %s) is wrong: %s", s.ID, dt.Source, msg)}
	}
	s.Type = r.Name
	p := &parser{name: name, b: b}
	note := fmt.Sprintf("; the stream names no type, so it has the default type (set by %s)", dt.Source)
	vals, errs := p.values(s.ID, s.Pos, r, entries, note)
	errs = append(p.errs, errs...)
	if len(errs) > 0 {
		return s, errs
	}
	s.Values = vals
	return s, nil
}

// values checks a stream's parameters against its type's: known, of the
// right kind, passing the parameter's own Check, and every required one
// set. pos is the stream's position; note is added to the message about an
// unknown parameter.
func (p *parser) values(id string, pos Pos, r stream.Registered, entries []pair, note string) (stream.Values, []error) {
	var errs []error
	vals := stream.Values{}
	for _, e := range entries {
		if e.key == "type" || e.key == "groups" && e.as == "" {
			continue
		}
		prm, ok := r.Param(e.key)
		if !ok {
			known := paramNames(r)
			list := strings.Join(known, ", ")
			if list == "" {
				list = "none besides type"
			}
			hint := suggest(e.key, known)
			if hint == "" {
				hint = otherTypes(e.key, r.Name)
			}
			errs = append(errs, errorf(p.pos(e.k), "stream %s: unknown parameter %q for type %q%s%s; known parameters: %s",
				id, e.key, r.Name, hint, note, list))
			continue
		}
		v, problem, nested := p.convert(prm.Kind, deref(e.v))
		if len(nested) > 0 {
			for _, err := range nested {
				if pe, ok := err.(*Error); ok {
					err = errorf(pe.Pos, "stream %s: %s: %s", id, e.name(), pe.Msg)
				}
				errs = append(errs, err)
			}
			continue
		}
		if problem != "" {
			errs = append(errs, errorf(p.pos(orKey(deref(e.v), e.k)), "stream %s: %s: want %s, got %s", id, e.name(), prm.Kind, problem))
			continue
		}
		if prm.Check != nil {
			if err := prm.Check(v); err != nil {
				errs = append(errs, errorf(p.pos(orKey(deref(e.v), e.k)), "stream %s: %s: %v", id, e.name(), err))
				continue
			}
		}
		vals[e.key] = v
	}
	for _, prm := range r.Params {
		if _, set := vals[prm.Name]; !prm.Required || set || hasKey(entries, prm.Name) {
			continue
		}
		errs = append(errs, errorf(pos, "stream %s: type %q needs the parameter %q%s", id, r.Name, prm.Name, note))
	}
	return vals, errs
}

func hasKey(entries []pair, key string) bool {
	for _, e := range entries {
		if e.key == key {
			return true
		}
	}
	return false
}

// otherTypes returns " (a parameter of type x, y)" when other registered
// types have a parameter named name, else "".
func otherTypes(name, except string) string {
	var types []string
	for _, r := range stream.Types() {
		if _, ok := r.Param(name); ok && r.Name != except {
			types = append(types, r.Name)
		}
	}
	if len(types) == 0 {
		return ""
	}
	return " (a parameter of type " + strings.Join(types, ", ") + ")"
}

func paramNames(r stream.Registered) []string {
	var names []string
	for _, p := range r.Params {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// checkTypeName reports whether name is a stream type this program knows
// or a built-in one it may not link; if not, msg lists the known types.
func checkTypeName(name string) (msg string, ok bool) {
	if _, ok := stream.Lookup(name); ok {
		return "", true
	}
	if _, ok := stream.BuiltIn[name]; ok {
		return "", true
	}
	var names []string // every name that selects a type, for suggestions
	var list []string  // "name (alias, alias)" for the message
	seen := map[string]bool{}
	for _, r := range stream.Types() {
		n := r.Name
		names = append(names, r.Name)
		names = append(names, r.Aliases...)
		seen[r.Name] = true
		for _, a := range r.Aliases {
			seen[a] = true
		}
		if len(r.Aliases) > 0 {
			n += " (" + strings.Join(r.Aliases, ", ") + ")"
		}
		list = append(list, n)
	}
	var builtIn []string
	for n := range stream.BuiltIn {
		if !seen[n] {
			builtIn = append(builtIn, n)
			names = append(names, n)
		}
	}
	sort.Strings(list)
	sort.Strings(builtIn)
	known := "known types: " + strings.Join(list, ", ")
	if len(list) == 0 {
		known = "no type is linked into this program"
	}
	if len(builtIn) > 0 {
		known += "; built in but not linked: " + strings.Join(builtIn, ", ")
	}
	return fmt.Sprintf("unknown stream type %q%s; %s", name, suggest(name, names), known), false
}

// tree converts a node to a Tree value.
func (p *parser) tree(n *yaml.Node, active map[*yaml.Node]bool) (any, bool) {
	if n == nil {
		return nil, true
	}
	if !p.step(n) {
		return nil, false
	}
	if n.Kind == yaml.AliasNode {
		t := n.Alias
		if t == nil {
			return nil, true
		}
		if active[t] {
			p.errorf(n, "alias *%s refers to a value that contains it", n.Value)
			return nil, false
		}
		active[t] = true
		p.aliases = append(p.aliases, n)
		defer func() {
			delete(active, t)
			p.aliases = p.aliases[:len(p.aliases)-1]
		}()
		return p.tree(t, active)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return p.scalar(n)
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		ok := true
		for _, c := range n.Content {
			v, vok := p.tree(c, active)
			ok = ok && vok
			l = append(l, v)
		}
		return l, ok
	case yaml.MappingNode:
		if active[n] {
			p.errorf(n, "a value contains itself")
			return nil, false
		}
		active[n] = true
		defer delete(active, n)
		m := map[string]any{}
		ok := true
		for _, e := range p.pairs(n) {
			v, vok := p.tree(e.v, active)
			ok = ok && vok
			m[e.key] = v
		}
		return m, ok
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return p.tree(n.Content[0], active)
		}
		return nil, true
	}
	p.errorf(n, "unexpected YAML node")
	return nil, false
}

// scalar converts a scalar to nil, bool, int, float64 or string.
func (p *parser) scalar(n *yaml.Node) (any, bool) {
	switch n.Tag {
	case "!!null":
		return nil, true
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b, true
		}
	case "!!int":
		var i int
		if n.Decode(&i) == nil {
			return i, true
		}
		var f float64
		if n.Decode(&f) == nil {
			return f, true
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil {
			return f, true
		}
	default:
		return n.Value, true
	}
	p.errorf(n, "value is not a valid %s", n.Tag)
	return nil, false
}
