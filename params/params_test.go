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

// The fake types below stand in for the real ones, which live in packages
// of their own: faketype has a parameter of every kind.
func init() {
	none := func(stream.Config) (stream.Environment, error) { return nil, errors.New("fake") }
	stream.Register("faketype", none, stream.Info{
		Doc:     "a stream type for tests",
		Aliases: []string{"fake"},
		Params: []stream.Param{
			{Name: "host", Kind: stream.String},
			{Name: "port", Kind: stream.Int},
			{Name: "verbose", Kind: stream.Bool},
			{Name: "timeout", Kind: stream.Duration},
			{Name: "args", Kind: stream.Strings},
			{Name: "env", Kind: stream.StringMap},
			{Name: "key", Kind: stream.Path},
			{Name: "password", Kind: stream.Secret},
		},
	})
	stream.Register("plain", none, stream.Info{Doc: "a stream type without parameters"})
	stream.Register("checked", none, stream.Info{
		Doc: "a stream type whose parameters check their values",
		Params: []stream.Param{
			{Name: "host", Kind: stream.String, Doc: "where to connect", Required: true, Check: stream.NonEmpty},
			{Name: "port", Kind: stream.Int, Check: stream.PortNumber},
		},
	})
}

// What would fail when the stream is configured fails when the file is read,
// at the value's position.
func TestParamChecks(t *testing.T) {
	type testCase struct {
		name, src string
		want      []string
	}
	run := func(t *testing.T, tc testCase) {
		_, err := ParseFile("p.yaml", []byte(tc.src))
		if got := parseErrors(err); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
	for _, tc := range []testCase{
		{name: "ok", src: "streams:\n  - 1: {type: checked, host: h, port: 22}\n"},
		{name: "required missing", src: "streams:\n  - 1: {type: checked}\n",
			want: []string{`p.yaml:2:5: stream 1: type "checked" needs the parameter "host"`}},
		{name: "empty", src: "streams:\n  - 1: {type: checked, host: \"\"}\n",
			want: []string{`p.yaml:2:30: stream 1: host: must not be empty`}},
		{name: "port too large", src: "streams:\n  - 1: {type: checked, host: h, port: 70000}\n",
			want: []string{`p.yaml:2:39: stream 1: port: want a port number from 1 to 65535, got 70000`}},
		{name: "port negative", src: "streams:\n  - 1: {type: checked, host: h, port: -1}\n",
			want: []string{`p.yaml:2:39: stream 1: port: want a port number from 1 to 65535, got -1`}},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

// parseErrors returns the messages of every error joined in err.
func parseErrors(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, parseErrors(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func TestParseFileForms(t *testing.T) {
	type want struct {
		id, typ string
		untyped bool
		values  stream.Values
		pos     string
	}
	type testCase struct {
		name        string
		src         string
		root        string
		streams     []want
		defaultType *Setting[string]
		strict      *Setting[bool]
		tree        Tree
	}
	run := func(t *testing.T, tc testCase) {
		f, err := ParseFile("p.yaml", []byte(tc.src))
		if err != nil {
			t.Fatalf("ParseFile: %v", err)
		}
		if f.Root != tc.root {
			t.Errorf("Root = %q, want %q", f.Root, tc.root)
		}
		var ids []string
		for _, w := range tc.streams {
			ids = append(ids, w.id)
			s, ok := f.Streams[w.id]
			if !ok {
				t.Errorf("stream %s missing", w.id)
				continue
			}
			if s.ID != w.id || s.Type != w.typ || s.Untyped != w.untyped || s.Pos.String() != w.pos {
				t.Errorf("stream %s = {%s %s untyped=%v at %s}, want {%s %s untyped=%v at %s}",
					w.id, s.ID, s.Type, s.Untyped, s.Pos, w.id, w.typ, w.untyped, w.pos)
			}
			if !reflect.DeepEqual(s.Values, w.values) {
				t.Errorf("stream %s values = %#v, want %#v", w.id, s.Values, w.values)
			}
			wd, _ := os.Getwd()
			if s.Dir != wd {
				t.Errorf("stream %s Dir = %q, want %q", w.id, s.Dir, wd)
			}
		}
		if !reflect.DeepEqual(f.Order, ids) {
			t.Errorf("Order = %v, want %v", f.Order, ids)
		}
		if len(f.Streams) != len(ids) {
			t.Errorf("got %d streams, want %d", len(f.Streams), len(ids))
		}
		if !reflect.DeepEqual(f.DefaultType, tc.defaultType) {
			t.Errorf("DefaultType = %+v, want %+v", f.DefaultType, tc.defaultType)
		}
		if !reflect.DeepEqual(f.Strict, tc.strict) {
			t.Errorf("Strict = %+v, want %+v", f.Strict, tc.strict)
		}
		if tc.tree == nil {
			tc.tree = Tree{}
		}
		if !reflect.DeepEqual(f.Tree, tc.tree) {
			t.Errorf("Tree = %#v, want %#v", f.Tree, tc.tree)
		}
	}
	testCases := []testCase{
		{
			name: "RFC verbatim",
			src: `avocado:
     streams:
      - 1:
          type: remote
          host: foo.example.com
      - 2:
          type: remote
          host: bar.example.com
`,
			root: "avocado",
			streams: []want{
				{id: "1", typ: "remote", pos: "p.yaml:3:9"},
				{id: "2", typ: "remote", pos: "p.yaml:6:9"},
			},
		},
		{
			name: "avocado root, list, block and flow",
			src: `avocado:
  streams:
    - 1:
        type: faketype
        host: foo.example.com
    - 2: {type: fake, host: bar.example.com}
`,
			root: "avocado",
			streams: []want{
				{id: "1", typ: "faketype", values: stream.Values{"host": "foo.example.com"}, pos: "p.yaml:3:7"},
				{id: "2", typ: "faketype", values: stream.Values{"host": "bar.example.com"}, pos: "p.yaml:6:7"},
			},
		},
		{
			name: "top-level streams",
			src: `streams:
  - db: {type: plain}
`,
			root:    "streams",
			streams: []want{{id: "db", typ: "plain", values: stream.Values{}, pos: "p.yaml:2:5"}},
		},
		{
			name: "streamtest root, map form, settings and test parameters",
			src: `streamtest:
  default_type: faketype
  strict: true
  streams:
    1: {type: plain}
    db: {type: faketype, port: 5432}
    web:
remote_hostname: foo
db:
  user: admin
  ports: [1, 2]
`,
			root: "streamtest",
			streams: []want{
				{id: "1", typ: "plain", values: stream.Values{}, pos: "p.yaml:5:5"},
				{id: "db", typ: "faketype", values: stream.Values{"port": 5432}, pos: "p.yaml:6:5"},
				{id: "web", typ: "faketype", untyped: true, values: stream.Values{}, pos: "p.yaml:7:5"},
			},
			defaultType: &Setting[string]{Value: "faketype", Source: "p.yaml:2:17"},
			strict:      &Setting[bool]{Value: true, Source: "p.yaml:3:11"},
			tree: Tree{
				"remote_hostname": "foo",
				"db":              map[string]any{"user": "admin", "ports": []any{1, 2}},
			},
		},
		{
			name: "without type: the default type, unchecked when not linked",
			src: `streams:
  - 1:
  - 2: {image: x}
`,
			root: "streams",
			streams: []want{
				{id: "1", typ: "local", untyped: true, pos: "p.yaml:2:5"},
				{id: "2", typ: "local", untyped: true, pos: "p.yaml:3:5"},
			},
		},
		{
			name: "ids: numbers lose leading zeros, names keep their case",
			src: `streams:
  007: {type: plain}
  "2": {type: plain}
  Web-1.a_b: {type: plain}
`,
			root: "streams",
			streams: []want{
				{id: "7", typ: "plain", values: stream.Values{}, pos: "p.yaml:2:3"},
				{id: "2", typ: "plain", values: stream.Values{}, pos: "p.yaml:3:3"},
				{id: "Web-1.a_b", typ: "plain", values: stream.Values{}, pos: "p.yaml:4:3"},
			},
		},
		{
			name: "anchors and merge keys",
			src: `base: &base {type: faketype, port: 22, host: a}
streams:
  - 1: {<<: *base, host: b}
  - 2: *base
`,
			root: "streams",
			streams: []want{
				{id: "1", typ: "faketype", values: stream.Values{"port": 22, "host": "b"}, pos: "p.yaml:3:5"},
				{id: "2", typ: "faketype", values: stream.Values{"port": 22, "host": "a"}, pos: "p.yaml:4:5"},
			},
			tree: Tree{"base": map[string]any{"type": "faketype", "port": 22, "host": "a"}},
		},
		{
			name: "built-in type not linked: accepted, unchecked",
			src: `streams:
  - c: {type: docker, image: lab-base, whatever: 1}
`,
			root:    "streams",
			streams: []want{{id: "c", typ: "docker", pos: "p.yaml:2:5"}},
		},
		{
			name: "empty file",
			src:  "# nothing here\n",
		},
		{
			name: "empty root",
			src:  "streamtest:\nx: 1\n",
			tree: Tree{"x": 1},
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestParseFileErrors(t *testing.T) {
	type testCase struct {
		name string
		src  string
		want []string
	}
	run := func(t *testing.T, tc testCase) {
		f, err := ParseFile("p.yaml", []byte(tc.src))
		if err == nil {
			t.Fatalf("ParseFile succeeded: %+v", f)
		}
		got := parseErrors(err)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
		for _, e := range unwrapAll(err) {
			var pe *Error
			if !errors.As(e, &pe) || pe.Pos.Line < 1 || pe.Pos.Column < 1 {
				t.Errorf("error %q has no position", e)
			}
		}
	}
	testCases := []testCase{
		{
			name: "YAML syntax",
			src:  "streams:\n  - 1: {type: plain\n",
			want: []string{`p.yaml:2:3: YAML: did not find expected ',' or '}'`},
		},
		{
			name: "YAML syntax, indented line",
			src:  "a:\n  b: c\n  d: [e\n  f: g\n",
			want: []string{`p.yaml:3:3: YAML: did not find expected ',' or ']'`},
		},
		{
			name: "unknown anchor",
			src:  "a: 1\nb: *nope\n",
			want: []string{`p.yaml:2:4: YAML: unknown anchor 'nope' referenced`},
		},
		{
			name: "two documents",
			src:  "a: 1\n---\nb: 2\n",
			want: []string{`p.yaml:2:1: a parameters file holds one YAML document; this is a second one`},
		},
		{
			name: "top is not a mapping",
			src:  "- 1\n- 2\n",
			want: []string{`p.yaml:1:1: want a mapping at the top of the file, got a list`},
		},
		{
			name: "duplicate id in a list",
			src:  "streams:\n  - 1: {type: plain}\n  - 2: {type: plain}\n  - 1: {type: plain}\n",
			want: []string{`p.yaml:4:5: duplicate stream id "1" (first defined at p.yaml:2:5)`},
		},
		{
			name: "duplicate id written differently",
			src:  "streams:\n  1: {type: plain}\n  01: {type: plain}\n",
			want: []string{`p.yaml:3:3: duplicate stream id "1" (first defined at p.yaml:2:3)`},
		},
		{
			name: "bad ids",
			src:  "streams:\n  0: {type: plain}\n  -3: {type: plain}\n  a b: {type: plain}\n  ~: {type: plain}\n",
			want: []string{
				`p.yaml:2:3: bad stream id "0"; a stream id is a whole number from 1 or a name of letters, digits, '_', '.' and '-'`,
				`p.yaml:3:3: bad stream id "-3"; a stream id is a whole number from 1 or a name of letters, digits, '_', '.' and '-'`,
				`p.yaml:4:3: bad stream id "a b"; a stream id is a whole number from 1 or a name of letters, digits, '_', '.' and '-'`,
				`p.yaml:5:3: want a stream id, got nothing (null); a stream id is a whole number from 1 or a name of letters, digits, '_', '.' and '-'`,
			},
		},
		{
			name: "unknown root key",
			src:  "avocado:\n  stream:\n    - 1: {type: plain}\n",
			want: []string{`p.yaml:2:3: unknown key "stream" in avocado (did you mean "streams"?); known keys: default_type, streams, strict`},
		},
		{
			name: "streams at the top and under a root",
			src:  "streamtest:\n  streams: [1: {type: plain}]\nstreams:\n  - 2: {type: plain}\n",
			want: []string{`p.yaml:3:1: streams defined both here and under "streamtest" at p.yaml:1:1`},
		},
		{
			name: "streams under a root and at the top",
			src:  "streams:\n  - 2: {type: plain}\navocado:\n  streams: []\n",
			want: []string{`p.yaml:4:3: streams defined both here and at the top level at p.yaml:1:1`},
		},
		{
			name: "streams under both roots",
			src:  "avocado:\n  streams: []\nstreamtest:\n  streams: []\n",
			want: []string{`p.yaml:4:3: streams defined both here and under "avocado" at p.yaml:1:1`},
		},
		{
			name: "bad settings",
			src:  "streamtest:\n  strict: maybe\n  default_type: [a]\n",
			want: []string{
				`p.yaml:2:11: strict: want bool, got "maybe"`,
				`p.yaml:3:17: default_type: want a stream type name, got a list`,
			},
		},
		{
			name: "unknown default type",
			src:  "streamtest:\n  default_type: fakety\n",
			want: []string{`p.yaml:2:17: default_type: unknown stream type "fakety" (did you mean "faketype"?); ` + knownTypes},
		},
		{
			name: "unknown type",
			src:  "streams:\n  - 1: {type: remot}\n  - 2: {type: zzzzzzzz}\n",
			want: []string{
				`p.yaml:2:15: stream 1: unknown stream type "remot" (did you mean "remote"?); ` + knownTypes,
				`p.yaml:3:15: stream 2: unknown stream type "zzzzzzzz"; ` + knownTypes,
			},
		},
		{
			name: "unknown parameter",
			src:  "streams:\n  - 1:\n      type: fake\n      hots: x\n  - 2: {type: plain, host: y}\n",
			want: []string{
				`p.yaml:4:7: stream 1: unknown parameter "hots" for type "faketype" (did you mean "host"?); known parameters: args, env, host, key, password, port, timeout, verbose`,
				`p.yaml:5:22: stream 2: unknown parameter "host" for type "plain" (a parameter of type checked, fakeremote, faketype, vm); known parameters: none besides type`,
			},
		},
		{
			name: "unknown parameter of a stream without type, against the file's default type",
			src:  "streamtest:\n  default_type: faketype\n  streams:\n    1: {prot: 1}\n",
			want: []string{`p.yaml:4:9: stream 1: unknown parameter "prot" for type "faketype" (did you mean "port"?); the stream names no type, so it has the default type (set by p.yaml:2:17); known parameters: args, env, host, key, password, port, timeout, verbose`},
		},
		{
			name: "problems of every stage together, in file order",
			src:  "streamtest:\n  default_type: fake\n  streams:\n    1: {prot: 1}\n    2: {type: plain, x: 1}\n",
			want: []string{
				`p.yaml:4:9: stream 1: unknown parameter "prot" for type "faketype" (did you mean "port"?); the stream names no type, so it has the default type (set by p.yaml:2:17); known parameters: args, env, host, key, password, port, timeout, verbose`,
				`p.yaml:5:22: stream 2: unknown parameter "x" for type "plain"; known parameters: none besides type`,
			},
		},
		{
			name: "wrong kinds",
			src: `streams:
  - 1:
      type: faketype
      port: abc
      verbose: 3
      timeout: soon
      args: {a: b}
      env: [a]
      host: [a, b]
      key:
`,
			want: []string{
				`p.yaml:4:13: stream 1: port: want int, got "abc"`,
				`p.yaml:5:16: stream 1: verbose: want bool, got "3"`,
				`p.yaml:6:16: stream 1: timeout: want duration, got "soon"`,
				`p.yaml:7:13: stream 1: args: want list of strings, got a mapping`,
				`p.yaml:8:12: stream 1: env: want map of strings, got a list`,
				`p.yaml:9:13: stream 1: host: want string, got a list`,
				`p.yaml:10:7: stream 1: key: want path, got nothing (null)`,
			},
		},
		{
			name: "type is not a name",
			src:  "streams:\n  - 1: {type: [a]}\n",
			want: []string{`p.yaml:2:15: stream 1: type: want a stream type name, got a list`},
		},
		{
			name: "stream is not a mapping",
			src:  "streams:\n  - 1: local\n  - [x]\n",
			want: []string{
				`p.yaml:2:8: stream 1: want a mapping of parameters, like {type: local}, got a single value`,
				`p.yaml:3:5: want a stream like "- 1: {type: local}", got a list`,
			},
		},
		{
			name: "duplicate keys",
			src:  "a: 1\nstreams:\n  - 1: {type: plain, type: fake}\na: 2\n",
			want: []string{
				`p.yaml:3:22: duplicate key "type" (first at p.yaml:3:9)`,
				`p.yaml:4:1: duplicate key "a" (first at p.yaml:1:1)`,
			},
		},
		{
			name: "alias that contains itself",
			src:  "a: &a [1, *a]\n",
			want: []string{`p.yaml:1:11: alias *a refers to a value that contains it`},
		},
		{
			name: "merge of itself",
			src:  "a: &a {<<: *a}\n",
			want: []string{`p.yaml:1:8: a merge key includes the mapping itself`},
		},
		{
			name: "bad merge",
			src:  "a: {<<: 1}\n",
			want: []string{`p.yaml:1:5: a merge key wants a mapping or a list of mappings`},
		},
		{
			name: "tagged scalar that is not its tag",
			src:  "a: !!int nope\n",
			want: []string{`p.yaml:1:4: value is not a valid !!int`},
		},
		{
			name: "exponential aliases",
			src:  laughs,
			want: []string{`p.yaml:6:12: aliases expand to more than 262144 values (the limit that stops alias bombs); use fewer or smaller aliases, or write the values out`},
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

const knownTypes = "known types: checked, fakeremote, faketype (fake), plain, vm (qemu); built in but not linked: bwrap, container, docker, local, process, remote, sandbox, ssh"

const laughs = `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
`

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
		return out
	}
	return []error{err}
}

func TestKinds(t *testing.T) {
	type testCase struct {
		name  string
		param string
		value string // YAML
		want  any
		err   string // the message after "p.yaml:L:C: stream 1: "
	}
	run := func(t *testing.T, tc testCase) {
		src := "streams:\n  - 1:\n      type: faketype\n      " + tc.param + ": " + tc.value + "\n"
		f, err := ParseFile("p.yaml", []byte(src))
		if tc.err != "" {
			if err == nil {
				t.Fatalf("ParseFile succeeded with %#v, want error %q", f.Streams["1"].Values[tc.param], tc.err)
			}
			msg := err.Error()
			if i := strings.Index(msg, "stream 1: "); i < 0 || msg[i+len("stream 1: "):] != tc.err {
				t.Errorf("error %q, want %q", msg, tc.err)
			}
			if !strings.HasPrefix(msg, "p.yaml:4:") {
				t.Errorf("error %q not on line 4", msg)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseFile: %v", err)
		}
		got := f.Streams["1"].Values[tc.param]
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.param, got, tc.want)
		}
	}
	testCases := []testCase{
		{name: "string", param: "host", value: "foo.example.com", want: "foo.example.com"},
		{name: "string from number", param: "host", value: "10", want: "10"},
		{name: "string from float keeps its text", param: "host", value: "1.10", want: "1.10"},
		{name: "string null", param: "host", value: "~", err: "host: want string, got nothing (null)"},
		{name: "int", param: "port", value: "2222", want: 2222},
		{name: "int hex", param: "port", value: "0x10", want: 16},
		{name: "int quoted", param: "port", value: `"22"`, err: `port: want int, got "22"`},
		{name: "int float", param: "port", value: "1.5", err: `port: want int, got "1.5"`},
		{name: "int too big", param: "port", value: "99999999999999999999999", err: `port: want int, got "99999999999999999999999"`},
		{name: "bool true", param: "verbose", value: "true", want: true},
		{name: "bool False", param: "verbose", value: "False", want: false},
		{name: "bool quoted", param: "verbose", value: `"true"`, err: `verbose: want bool, got "true"`},
		{name: "duration text", param: "timeout", value: "1m30s", want: 90 * time.Second},
		{name: "duration seconds", param: "timeout", value: "5", want: 5 * time.Second},
		{name: "duration fraction", param: "timeout", value: "0.25", want: 250 * time.Millisecond},
		{name: "duration negative", param: "timeout", value: "-1s", err: `timeout: want duration, got "-1s"`},
		{name: "duration negative seconds", param: "timeout", value: "-1", err: `timeout: want duration, got "-1"`},
		{name: "duration huge", param: "timeout", value: "1e30", err: `timeout: want duration, got "1e30"`},
		{name: "duration without unit", param: "timeout", value: `"5"`, err: `timeout: want duration, got "5"`},
		{name: "strings list", param: "args", value: "[a, 1, true]", want: []string{"a", "1", "true"}},
		{name: "strings scalar", param: "args", value: "-v", want: []string{"-v"}},
		{name: "strings empty", param: "args", value: "[]", want: []string{}},
		{name: "strings nested", param: "args", value: "[a, [b]]", err: `args: want list of strings, got a list holding a list`},
		{name: "strings null item", param: "args", value: "[a, ~]", err: `args: want list of strings, got a list holding nothing (null)`},
		{name: "map", param: "env", value: "{A: 1, B: x, C: }", want: map[string]string{"A": "1", "B": "x", "C": ""}},
		{name: "map nested", param: "env", value: "{A: [1]}", err: `env: want map of strings, got a mapping where "A" is a list`},
		{name: "map duplicate", param: "env", value: "{A: 1, A: 2}", err: `env: duplicate key "A" (first at p.yaml:4:13)`},
		{name: "path stays relative", param: "key", value: "keys/id_ed25519", want: "keys/id_ed25519"},
		{name: "secret", param: "password", value: "hunter2", want: "hunter2"},
		{name: "secret number", param: "password", value: "1234", want: "1234"},
		{name: "long value shortened", param: "port", value: strings.Repeat("x", 50), err: `port: want int, got "` + strings.Repeat("x", 37) + `..."`},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	const secret = "s3cr3t-Value"
	type testCase struct {
		name string
		src  string
	}
	run := func(t *testing.T, tc testCase) {
		_, err := ParseFile("p.yaml", []byte(tc.src))
		if err == nil {
			t.Fatal("ParseFile succeeded, want an error")
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error shows the secret: %v", err)
		}
	}
	testCases := []testCase{
		{name: "list", src: "streams:\n  - 1: {type: fake, password: [" + secret + "]}\n"},
		{name: "map", src: "streams:\n  - 1: {type: fake, password: {" + secret + ": 1}}\n"},
		{name: "next to other errors", src: "streams:\n  - 1: {type: fake, password: " + secret + ", port: x, nope: 1}\n"},
		{name: "null", src: "streams:\n  - 1: {type: fake, password: }\n"},
		{name: "default type", src: "streamtest: {default_type: faketype}\nstreams:\n  - 1: {password: [" + secret + "], port: [1]}\n"},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestRedacted(t *testing.T) {
	f, err := ParseFile("p.yaml", []byte("streams:\n  - 1: {type: fake, password: hunter2, host: h}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Streams["1"]
	want := stream.Values{"password": "********", "host": "h"}
	if got := s.Redacted(); !reflect.DeepEqual(got, want) {
		t.Errorf("Redacted() = %v, want %v", got, want)
	}
	if s.Values["password"] != "hunter2" {
		t.Errorf("Redacted changed Values: %v", s.Values)
	}
}

// writeFiles writes files (name to content) under dir and returns dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoad(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"system.yaml": `streamtest:
  default_type: faketype
  strict: false
  streams:
    1: {type: fake, host: system}
    2: {type: fake, host: system}
    9:
shared: {a: system, b: system}
`,
		"user/streamtest/config.yaml": `streamtest:
  strict: true
  streams:
    2: {type: plain}
    3: {type: fake, host: user}
shared: {b: user, c: user}
`,
		"env1.yaml":     "streams:\n  - 4: {type: fake, host: env1}\nshared: {c: env1}\n",
		"env2.yaml":     "avocado:\n  default_type: plain\n  streams:\n    - 1: {type: fake, host: env2}\n",
		"flag.yaml":     "streams:\n  - 5:\n  - 3: {host: flag}\nshared: {d: flag}\nother: 1\n",
		"fallback.yaml": "streams:\n  - 6: {type: plain}\n",
	})
	p := func(name string) string { return filepath.Join(dir, name) }
	yes, no := true, false
	_ = no

	type testCase struct {
		name        string
		opts        Options
		order       []string
		hosts       map[string]string // id to host; "-" for a stream without values
		types       map[string]string
		defaultType Setting[string]
		strict      Setting[bool]
		tree        Tree
		files       []string
	}
	run := func(t *testing.T, tc testCase) {
		c, err := Load(tc.opts)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if !reflect.DeepEqual(c.Order, tc.order) {
			t.Errorf("Order = %v, want %v", c.Order, tc.order)
		}
		for id, typ := range tc.types {
			if got := c.Streams[id].Type; got != typ {
				t.Errorf("stream %s type %q, want %q", id, got, typ)
			}
		}
		for id, host := range tc.hosts {
			if got := c.Streams[id].Values.String("host", "-"); got != host {
				t.Errorf("stream %s host %q, want %q", id, got, host)
			}
		}
		if c.DefaultType != tc.defaultType {
			t.Errorf("DefaultType = %+v, want %+v", c.DefaultType, tc.defaultType)
		}
		if c.Strict != tc.strict {
			t.Errorf("Strict = %+v, want %+v", c.Strict, tc.strict)
		}
		if !reflect.DeepEqual(c.Tree, tc.tree) {
			t.Errorf("Tree = %v, want %v", c.Tree, tc.tree)
		}
		if !reflect.DeepEqual(c.Files, tc.files) {
			t.Errorf("Files = %v, want %v", c.Files, tc.files)
		}
	}
	testCases := []testCase{
		{
			name:        "nothing",
			opts:        Options{SystemFile: "-", UserFile: "-", Getenv: env(nil)},
			defaultType: Setting[string]{"local", "default"},
			strict:      Setting[bool]{false, "default"},
			tree:        Tree{},
		},
		{
			name:        "missing system and user files are fine",
			opts:        Options{SystemFile: p("nope.yaml"), Getenv: env(map[string]string{"XDG_CONFIG_HOME": p("nope")})},
			defaultType: Setting[string]{"local", "default"},
			strict:      Setting[bool]{false, "default"},
			tree:        Tree{},
		},
		{
			name:        "system file",
			opts:        Options{SystemFile: p("system.yaml"), UserFile: "-", Getenv: env(nil)},
			order:       []string{"1", "2", "9"},
			hosts:       map[string]string{"1": "system", "2": "system", "9": "-"},
			types:       map[string]string{"9": "faketype"},
			defaultType: Setting[string]{"faketype", p("system.yaml") + ":2:17"},
			strict:      Setting[bool]{false, p("system.yaml") + ":3:11"},
			tree:        Tree{"shared": map[string]any{"a": "system", "b": "system"}},
			files:       []string{p("system.yaml")},
		},
		{
			name:        "user file from XDG_CONFIG_HOME over system",
			opts:        Options{SystemFile: p("system.yaml"), Getenv: env(map[string]string{"XDG_CONFIG_HOME": p("user")})},
			order:       []string{"1", "2", "9", "3"},
			hosts:       map[string]string{"1": "system", "2": "-", "3": "user"},
			types:       map[string]string{"2": "plain", "9": "faketype"},
			defaultType: Setting[string]{"faketype", p("system.yaml") + ":2:17"},
			strict:      Setting[bool]{true, p("user/streamtest/config.yaml") + ":2:11"},
			tree:        Tree{"shared": map[string]any{"a": "system", "b": "user", "c": "user"}},
			files:       []string{p("system.yaml"), p("user/streamtest/config.yaml")},
		},
		{
			name: "env over user",
			opts: Options{SystemFile: p("system.yaml"), UserFile: p("user/streamtest/config.yaml"), Getenv: env(map[string]string{
				"STREAMTEST_PARAMS":       p("env1.yaml") + string(os.PathListSeparator) + p("env2.yaml"),
				"STREAMTEST_STRICT":       "0",
				"STREAMTEST_DEFAULT_TYPE": "fake",
			}), Fallback: []string{p("fallback.yaml")}},
			order:       []string{"1", "2", "9", "3", "4"},
			hosts:       map[string]string{"1": "env2", "4": "env1"},
			types:       map[string]string{"9": "faketype"},
			defaultType: Setting[string]{"fake", "env STREAMTEST_DEFAULT_TYPE"},
			strict:      Setting[bool]{false, "env STREAMTEST_STRICT"},
			tree:        Tree{"shared": map[string]any{"a": "system", "b": "user", "c": "env1"}},
			files:       []string{p("system.yaml"), p("user/streamtest/config.yaml"), p("env1.yaml"), p("env2.yaml")},
		},
		{
			name: "env file settings",
			opts: Options{SystemFile: p("system.yaml"), UserFile: "-", Getenv: env(map[string]string{
				"STREAMTEST_PARAMS": p("env2.yaml"),
			})},
			order:       []string{"1", "2", "9"},
			types:       map[string]string{"9": "plain"},
			defaultType: Setting[string]{"plain", p("env2.yaml") + ":2:17"},
			strict:      Setting[bool]{false, p("system.yaml") + ":3:11"},
			tree:        Tree{"shared": map[string]any{"a": "system", "b": "system"}},
			files:       []string{p("system.yaml"), p("env2.yaml")},
		},
		{
			name: "flags over env",
			opts: Options{SystemFile: p("system.yaml"), UserFile: p("user/streamtest/config.yaml"), Getenv: env(map[string]string{
				"STREAMTEST_PARAMS":       p("env1.yaml"),
				"STREAMTEST_STRICT":       "false",
				"STREAMTEST_DEFAULT_TYPE": "plain",
			}), Files: []string{p("flag.yaml")}, Strict: &yes, DefaultType: "faketype"},
			order:       []string{"1", "2", "9", "3", "4", "5"},
			hosts:       map[string]string{"3": "flag", "5": "-"},
			types:       map[string]string{"3": "faketype", "5": "faketype", "9": "faketype"},
			defaultType: Setting[string]{"faketype", "flag --default-type"},
			strict:      Setting[bool]{true, "flag --strict"},
			tree:        Tree{"shared": map[string]any{"a": "system", "b": "user", "c": "env1", "d": "flag"}, "other": 1},
			files:       []string{p("system.yaml"), p("user/streamtest/config.yaml"), p("env1.yaml"), p("flag.yaml")},
		},
		{
			name:        "fallback when no env or flag files",
			opts:        Options{SystemFile: "-", UserFile: "-", Getenv: env(nil), Fallback: []string{p("fallback.yaml")}},
			order:       []string{"6"},
			defaultType: Setting[string]{"local", "default"},
			strict:      Setting[bool]{false, "default"},
			tree:        Tree{},
			files:       []string{p("fallback.yaml")},
		},
		{
			name:        "no fallback with flag files",
			opts:        Options{SystemFile: "-", UserFile: "-", Getenv: env(nil), Files: []string{p("env1.yaml")}, Fallback: []string{p("fallback.yaml")}},
			order:       []string{"4"},
			defaultType: Setting[string]{"local", "default"},
			strict:      Setting[bool]{false, "default"},
			tree:        Tree{"shared": map[string]any{"c": "env1"}},
			files:       []string{p("env1.yaml")},
		},
		{
			name:        "user file from HOME",
			opts:        Options{SystemFile: "-", Getenv: env(map[string]string{"HOME": dir, "XDG_CONFIG_HOME": "relative/ignored"})},
			defaultType: Setting[string]{"local", "default"},
			strict:      Setting[bool]{false, "default"},
			tree:        Tree{},
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestLoadUserFileFromHome(t *testing.T) {
	dir := writeFiles(t, map[string]string{".config/streamtest/config.yaml": "x: home\n"})
	c, err := Load(Options{SystemFile: "-", Getenv: env(map[string]string{"HOME": dir})})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Tree.Get("x"); v != "home" {
		t.Errorf("x = %v, want home", v)
	}
}

func TestDefaultUserFile(t *testing.T) {
	type testCase struct {
		env  map[string]string
		want string
	}
	run := func(t *testing.T, tc testCase) {
		if got := DefaultUserFile(env(tc.env)); got != tc.want {
			t.Errorf("DefaultUserFile = %q, want %q", got, tc.want)
		}
	}
	testCases := []testCase{
		{env: map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, want: "/x/streamtest/config.yaml"},
		{env: map[string]string{"XDG_CONFIG_HOME": "rel", "HOME": "/h"}, want: "/h/.config/streamtest/config.yaml"},
		{env: map[string]string{"HOME": "/h"}, want: "/h/.config/streamtest/config.yaml"},
		{env: nil, want: ""},
	}
	for _, tc := range testCases {
		t.Run(tc.want, func(t *testing.T) { run(t, tc) })
	}
}

func TestLoadRelativeFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{"sub/p.yaml": "streams:\n  - 1: {type: plain}\n"})
	t.Chdir(dir)
	c, err := Load(Options{SystemFile: "-", UserFile: "-", Getenv: env(map[string]string{"STREAMTEST_PARAMS": "sub/p.yaml"})})
	if err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "sub", "p.yaml")
	if !reflect.DeepEqual(c.Files, []string{abs}) {
		t.Errorf("Files = %v, want [%s]", c.Files, abs)
	}
	s := c.Streams["1"]
	if s.Dir != filepath.Join(dir, "sub") || s.Pos.String() != abs+":2:5" {
		t.Errorf("stream 1 at %s in %s", s.Pos, s.Dir)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"bad.yaml":     "streams:\n  - 1: {type: fake, port: x}\n",
		"bad2.yaml":    "streams:\n  - 2: {type: nope}\n",
		"untyped.yaml": "streams:\n  - 1: {port: x, image: y}\n",
	})
	p := func(name string) string { return filepath.Join(dir, name) }
	type testCase struct {
		name string
		opts Options
		want []string
	}
	run := func(t *testing.T, tc testCase) {
		if tc.opts.SystemFile == "" {
			tc.opts.SystemFile = "-"
		}
		if tc.opts.UserFile == "" {
			tc.opts.UserFile = "-"
		}
		if tc.opts.Getenv == nil {
			tc.opts.Getenv = env(nil)
		}
		c, err := Load(tc.opts)
		if err == nil {
			t.Fatalf("Load succeeded: %+v", c)
		}
		got := parseErrors(err)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
	testCases := []testCase{
		{
			name: "missing env file",
			opts: Options{Getenv: env(map[string]string{"STREAMTEST_PARAMS": p("nope.yaml")})},
			want: []string{"params: open " + p("nope.yaml") + ": no such file or directory"},
		},
		{
			name: "missing flag and fallback files",
			opts: Options{Files: []string{p("nope.yaml")}},
			want: []string{"params: open " + p("nope.yaml") + ": no such file or directory"},
		},
		{
			name: "missing fallback file",
			opts: Options{Fallback: []string{p("nope.yaml")}},
			want: []string{"params: open " + p("nope.yaml") + ": no such file or directory"},
		},
		{
			name: "errors in several files",
			opts: Options{SystemFile: p("bad.yaml"), Files: []string{p("bad2.yaml")}},
			want: []string{
				p("bad.yaml") + `:2:27: stream 1: port: want int, got "x"`,
				p("bad2.yaml") + `:2:15: stream 2: unknown stream type "nope"; ` + knownTypes,
			},
		},
		{
			name: "bad settings from env and flags",
			opts: Options{Getenv: env(map[string]string{"STREAMTEST_STRICT": "sometimes", "STREAMTEST_DEFAULT_TYPE": "plian"}), DefaultType: "x"},
			want: []string{
				`params: env STREAMTEST_STRICT: want bool, got "sometimes"`,
				`params: env STREAMTEST_DEFAULT_TYPE: unknown stream type "plian" (did you mean "plain"?); ` + knownTypes,
				`params: flag --default-type: unknown stream type "x"; ` + knownTypes,
			},
		},
		{
			name: "stream without type checked against the final default type",
			opts: Options{Files: []string{p("untyped.yaml")}, DefaultType: "fake"},
			want: []string{
				p("untyped.yaml") + `:2:15: stream 1: port: want int, got "x"`,
				p("untyped.yaml") + `:2:18: stream 1: unknown parameter "image" for type "faketype"; the stream names no type, so it has the default type (set by flag --default-type); known parameters: args, env, host, key, password, port, timeout, verbose`,
			},
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestResolve(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"p.yaml": "streams:\n  - 1: {type: fake, host: h}\n  - 2: {type: remote, host: r}\n  - 3:\n",
	})
	p := filepath.Join(dir, "p.yaml")
	yes := true
	wd, _ := os.Getwd()
	type testCase struct {
		name string
		opts Options
		id   string
		want Stream
		err  string
	}
	run := func(t *testing.T, tc testCase) {
		tc.opts.SystemFile, tc.opts.UserFile = "-", "-"
		if tc.opts.Getenv == nil {
			tc.opts.Getenv = env(nil)
		}
		c, err := Load(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Resolve(tc.id)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Fatalf("Resolve(%q) error = %v, want %s", tc.id, err, tc.err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Resolve(%q): %v", tc.id, err)
		}
		if !reflect.DeepEqual(s, tc.want) {
			t.Errorf("Resolve(%q) = %+v, want %+v", tc.id, s, tc.want)
		}
	}
	testCases := []testCase{
		{
			name: "defined",
			opts: Options{Files: []string{p}},
			id:   "1",
			want: Stream{ID: "1", Type: "faketype", Values: stream.Values{"host": "h"}, Dir: dir, Pos: Pos{p, 2, 5}},
		},
		{
			name: "not defined: the default type",
			opts: Options{Files: []string{p}, DefaultType: "fake"},
			id:   "7",
			want: Stream{ID: "7", Type: "faketype", Untyped: true, Values: stream.Values{}, Dir: wd},
		},
		{
			name: "defined without type: the default type",
			opts: Options{Files: []string{p}, DefaultType: "plain"},
			id:   "3",
			want: Stream{ID: "3", Type: "plain", Untyped: true, Values: stream.Values{}, Dir: dir, Pos: Pos{p, 4, 5}},
		},
		{
			name: "a number with leading zeros",
			opts: Options{Files: []string{p}},
			id:   "001",
			want: Stream{ID: "1", Type: "faketype", Values: stream.Values{"host": "h"}, Dir: dir, Pos: Pos{p, 2, 5}},
		},
		{
			name: "strict from a flag",
			opts: Options{Files: []string{p}, Strict: &yes},
			id:   "7",
			err:  `params: stream "7" is not defined and strict mode is on (set by flag --strict); files read: ` + p,
		},
		{
			name: "strict from env, no files",
			opts: Options{Getenv: env(map[string]string{"STREAMTEST_STRICT": "1"})},
			id:   "db",
			err:  `params: stream "db" is not defined and strict mode is on (set by env STREAMTEST_STRICT); no parameters file was read`,
		},
		{
			name: "strict: defined is fine",
			opts: Options{Files: []string{p}, Strict: &yes},
			id:   "1",
			want: Stream{ID: "1", Type: "faketype", Values: stream.Values{"host": "h"}, Dir: dir, Pos: Pos{p, 2, 5}},
		},
		{
			name: "built-in type not linked",
			opts: Options{Files: []string{p}},
			id:   "2",
			err:  p + `:3:5: stream 2: ` + (&stream.UnknownTypeError{Name: "remote"}).Error(),
		},
		{
			name: "default type not linked",
			opts: Options{},
			id:   "1",
			err:  `params: stream "1" gets the default type (set by default): ` + (&stream.UnknownTypeError{Name: "local"}).Error(),
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestResolveUnknownTypeError(t *testing.T) {
	f, err := ParseFile("p.yaml", []byte("streams:\n  - 2: {type: ssh}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := &Config{Streams: f.Streams, Order: f.Order}
	_, err = c.Resolve("2")
	var ute *stream.UnknownTypeError
	if !errors.As(err, &ute) || ute.Name != "ssh" {
		t.Fatalf("error %v does not wrap *stream.UnknownTypeError for ssh", err)
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Pos.String() != "p.yaml:2:5" {
		t.Fatalf("error %v has no position p.yaml:2:5", err)
	}
	var nilConfig *Config
	if _, err := nilConfig.Resolve("1"); !errors.As(err, &ute) {
		t.Fatalf("nil Config: %v", err)
	}
}

func TestTree(t *testing.T) {
	f, err := ParseFile("p.yaml", []byte(`remote_hostname: foo
debug: true
db:
  host: db.example.com
  port: 5432
  opts: {ssl: on, list: [a, b]}
1: one
`))
	if err != nil {
		t.Fatal(err)
	}
	type testCase struct {
		path string
		want any
		ok   bool
		sub  Tree
	}
	run := func(t *testing.T, tc testCase) {
		got, ok := f.Tree.Get(tc.path)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Get(%q) = %#v, %v; want %#v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
		if sub := f.Tree.Sub(tc.path); !reflect.DeepEqual(sub, tc.sub) {
			t.Errorf("Sub(%q) = %#v, want %#v", tc.path, sub, tc.sub)
		}
	}
	opts := map[string]any{"ssl": "on", "list": []any{"a", "b"}}
	db := map[string]any{"host": "db.example.com", "port": 5432, "opts": opts}
	testCases := []testCase{
		{path: "remote_hostname", want: "foo", ok: true},
		{path: "debug", want: true, ok: true},
		{path: "1", want: "one", ok: true},
		{path: "db", want: db, ok: true, sub: Tree(db)},
		{path: "db.port", want: 5432, ok: true},
		{path: "db.opts", want: opts, ok: true, sub: Tree(opts)},
		{path: "db.opts.list", want: []any{"a", "b"}, ok: true},
		{path: "db.opts.ssl.x"},
		{path: "db.nope"},
		{path: "nope"},
		{path: "", want: f.Tree, ok: true, sub: f.Tree},
	}
	for _, tc := range testCases {
		t.Run(tc.path, func(t *testing.T) { run(t, tc) })
	}
	var nilTree Tree
	if v, ok := nilTree.Get("a"); ok || v != nil || nilTree.Sub("a") != nil {
		t.Errorf("nil Tree: Get = %v, %v", v, ok)
	}
}

func TestTreeMergeDoesNotModifySources(t *testing.T) {
	a := map[string]any{"x": map[string]any{"a": 1}}
	b := map[string]any{"x": map[string]any{"b": 2}}
	got := merge(merge(nil, a), b)
	want := map[string]any{"x": map[string]any{"a": 1, "b": 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merge = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(a, map[string]any{"x": map[string]any{"a": 1}}) {
		t.Errorf("merge modified its source: %v", a)
	}
}

func TestPosString(t *testing.T) {
	for _, tc := range []struct {
		pos  Pos
		want string
	}{
		{Pos{"f.yaml", 3, 5}, "f.yaml:3:5"},
		{Pos{"f.yaml", 3, 0}, "f.yaml:3"},
		{Pos{"f.yaml", 0, 0}, "f.yaml"},
	} {
		if got := tc.pos.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.pos, got, tc.want)
		}
	}
}

// A large file with no alias is no alias bomb: its size is its author's.
func TestParseManyPlainStreams(t *testing.T) {
	var b strings.Builder
	b.WriteString("streams:\n")
	const n = 131072
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  - %d: {type: faketype}\n", i)
	}
	f, err := ParseFile("big.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	if len(f.Order) != n {
		t.Errorf("parsed %d streams, want %d", len(f.Order), n)
	}
}
