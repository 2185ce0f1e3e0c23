package params

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/streamtest/streamtest/stream"
)

// Config is the merged result of every parameters file and setting that
// [Load] read. It is not modified after Load returns and is safe for
// concurrent use. A nil *Config behaves like an empty one.
type Config struct {
	// Streams holds the streams the files define, by id ("1", "db"). A later
	// source replaces a whole definition of the same id; it is not merged
	// key by key.
	Streams map[string]Stream
	// Order lists the ids of Streams in the order they were first defined.
	Order []string
	// DefaultType is the type of a stream that a test uses but the files do
	// not define, and of a definition without a "type" key. It is "local"
	// with Source "default" unless a file, the environment or a flag set it.
	DefaultType Setting[string]
	// Strict, when true, makes [Config.Resolve] fail for a stream the files
	// do not define.
	Strict Setting[bool]
	// Tree holds the test's own parameters: every top-level key of every file
	// that is not a streams root, merged deeply (mappings key by key, any
	// other value replaced) over the sources in order.
	Tree Tree
	// Files lists every file read, in order, as absolute paths, inventories
	// included.
	Files []string
	// Groups are the named groups of streams, by name: the groups of the
	// inventories and those the "groups" key of stream definitions names.
	// A group's members are the streams whose final definition puts them
	// in it, in the order of Order. A group an inventory declares with no
	// host is there with no members.
	Groups map[string]Group
	// GroupOrder lists the names of Groups in the order they were first
	// declared.
	GroupOrder []string
}

// Group is a named group of streams.
type Group struct {
	Name string
	// Members are the ids of the group's streams, in definition order.
	Members []string
	// Pos is where the group was first declared: an inventory's group, or
	// the first "groups" list that names it.
	Pos Pos
}

// Setting is a value together with where it came from.
type Setting[T any] struct {
	Value T
	// Source says where Value was set: "default", a file position
	// ("/etc/streamtest/config.yaml:3:5"), "env STREAMTEST_STRICT" or
	// "flag --strict".
	Source string
}

// Stream is one stream definition from a parameters file.
type Stream struct {
	// ID is the stream's id: a whole number from 1 ("1", "2") or a name
	// ("db", "web-1").
	ID string
	// Type is the canonical name of the stream type when it is registered in
	// this program (aliases resolved through [stream.Lookup]), else the name
	// as written.
	Type string
	// Untyped reports that the definition named no type; Type is then the
	// default type.
	Untyped bool
	// Values are the stream's parameters, checked against the type's
	// registered Params and converted to the Go type of each Kind (see
	// [stream.Values]). A Duration accepts "5s" or a number of seconds; a
	// Strings accepts a single string as a list of one; a Path stays as
	// written (backends resolve it against Dir). Values is nil when the type
	// is not registered in this program.
	Values stream.Values
	// Dir is the absolute directory of the file that defined the stream.
	Dir string
	// Pos is where the stream was defined (its id).
	Pos Pos
	// Groups are the named groups the stream is in: its "groups" list, or
	// for an inventory host every group it is in (parents included, "all"
	// and "ungrouped" left out), in the order they were declared.
	Groups []string
}

// Redacted returns a copy of s.Values in which every value of kind
// [stream.Secret] is replaced by "********", for printing.
func (s Stream) Redacted() stream.Values {
	if s.Values == nil {
		return nil
	}
	r, _ := stream.Lookup(s.Type)
	out := make(stream.Values, len(s.Values))
	for k, v := range s.Values {
		if p, ok := r.Param(k); ok && p.Kind == stream.Secret {
			v = "********"
		}
		out[k] = v
	}
	return out
}

// Pos is a position in a parameters file. Line and Column start at 1; a
// zero Line means the whole file.
type Pos struct {
	File         string
	Line, Column int
}

// String returns "file:line:col", or "file" when Line is zero.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	s := p.File + ":" + strconv.Itoa(p.Line)
	if p.Column > 0 {
		s += ":" + strconv.Itoa(p.Column)
	}
	return s
}

// Error is a problem at a position in a parameters file. Several problems
// are returned joined with [errors.Join]. No Error ever contains the value
// of a parameter of kind [stream.Secret].
type Error struct {
	Pos Pos
	Msg string
	Err error // the cause, if any (a *stream.UnknownTypeError)
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

func (e *Error) Unwrap() error { return e.Err }

// Tree is a tree of test parameters, as decoded from YAML: values are nil,
// bool, int, float64, string, []any or map[string]any (keys are always
// strings; a key written as a number is its text).
type Tree map[string]any

// Get returns the value at path, a dot-separated list of keys ("db.host").
// The empty path is the whole tree. Keys that contain a dot cannot be
// reached through a path; index the map directly.
func (t Tree) Get(path string) (any, bool) {
	if t == nil {
		return nil, false
	}
	if path == "" {
		return t, true
	}
	var cur any = map[string]any(t)
	for _, k := range strings.Split(path, ".") {
		var m map[string]any
		switch c := cur.(type) {
		case map[string]any:
			m = c
		case Tree:
			m = c
		default:
			return nil, false
		}
		v, ok := m[k]
		if !ok {
			return nil, false
		}
		cur = v
	}
	return cur, true
}

// Sub returns the subtree at path (see Get), or nil when there is nothing at
// path or it is not a mapping. The subtree shares its maps with t.
func (t Tree) Sub(path string) Tree {
	v, ok := t.Get(path)
	if !ok {
		return nil
	}
	switch m := v.(type) {
	case map[string]any:
		return Tree(m)
	case Tree:
		return m
	}
	return nil
}

// merge merges src into dst deeply and returns dst; maps of dst are copied
// before they change, so that src and earlier trees are never modified.
func merge(dst, src map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				cp := make(map[string]any, len(dm))
				for kk, vv := range dm {
					cp[kk] = vv
				}
				dst[k] = merge(cp, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

func errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
