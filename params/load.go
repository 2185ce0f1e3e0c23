package params

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/streamtest/streamtest/stream"
)

// Options say where parameters and settings come from. Sources are read
// lowest precedence first: the system file, the user file, the files named
// by STREAMTEST_PARAMS (or else Fallback), the environment's settings, the
// files named by flags, then the settings given as flags.
type Options struct {
	// SystemFile is the system-wide configuration file; "" means
	// /etc/streamtest/config.yaml and "-" means none. A missing file is not
	// an error.
	SystemFile string
	// UserFile is the user's configuration file; "" means
	// $XDG_CONFIG_HOME/streamtest/config.yaml, else
	// ~/.config/streamtest/config.yaml, and "-" means none. A missing file
	// is not an error.
	UserFile string
	// Getenv reads the environment; nil means os.Getenv. Load reads
	// STREAMTEST_PARAMS (files, separated by os.PathListSeparator),
	// STREAMTEST_STRICT (a bool as strconv.ParseBool reads it),
	// STREAMTEST_DEFAULT_TYPE, and XDG_CONFIG_HOME and HOME for UserFile.
	Getenv func(string) string
	// Files are the parameters files given as flags (-p, --params), read
	// last. Relative names are relative to the working directory.
	Files []string
	// Inventories are the Ansible inventories given as flags
	// (--inventory), read right after Files. Load also reads those named
	// by STREAMTEST_INVENTORY (separated like STREAMTEST_PARAMS) right
	// after the files of STREAMTEST_PARAMS.
	Inventories []string
	// Strict is the --strict flag; nil means not given.
	Strict *bool
	// DefaultType is the --default-type flag; "" means not given.
	DefaultType string
	// StrictSource and DefaultTypeSource say where Strict and DefaultType
	// were given, for messages; "" means the command line ("flag
	// --strict", "flag --default-type"). A test's own options say
	// "streamtest.Strict() in the test".
	StrictSource, DefaultTypeSource string
	// Fallback are files read only when neither STREAMTEST_PARAMS,
	// STREAMTEST_INVENTORY, Files nor Inventories name any, such as an example's own parameters file. They take the
	// place of the files STREAMTEST_PARAMS would name.
	Fallback []string
}

// SystemFile is the system-wide configuration file read when
// Options.SystemFile is "".
const SystemFile = "/etc/streamtest/config.yaml"

// Load reads every source that o names and merges them into a Config. A
// missing system or user file is skipped; a missing file named by the
// environment, a flag or Fallback is an error. All the problems found are
// returned together, joined with errors.Join; each problem in a file is an
// *Error with its position.
func Load(o Options) (*Config, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	l := &loader{c: &Config{
		Streams:     map[string]Stream{},
		DefaultType: Setting[string]{Value: defaultType, Source: "default"},
		Strict:      Setting[bool]{Value: false, Source: "default"},
		Tree:        Tree{},
	}, raw: map[string]rawDef{}}

	switch o.SystemFile {
	case "-":
	case "":
		l.read(SystemFile, true)
	default:
		l.read(o.SystemFile, true)
	}
	switch o.UserFile {
	case "-":
	case "":
		if name := DefaultUserFile(o.Getenv); name != "" {
			l.read(name, true)
		}
	default:
		l.read(o.UserFile, true)
	}

	envFiles := pathList(getenv("STREAMTEST_PARAMS"))
	envInventories := pathList(getenv("STREAMTEST_INVENTORY"))
	files := envFiles
	if len(envFiles) == 0 && len(envInventories) == 0 && len(o.Files) == 0 && len(o.Inventories) == 0 {
		files = o.Fallback
	}
	for _, name := range files {
		l.read(name, false)
	}
	for _, name := range envInventories {
		l.readInventory(name)
	}

	if v := getenv("STREAMTEST_STRICT"); v != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			l.errs = append(l.errs, fmt.Errorf("params: env STREAMTEST_STRICT: want bool, got %q", v))
		} else {
			l.c.Strict = Setting[bool]{Value: b, Source: "env STREAMTEST_STRICT"}
		}
	}
	if v := strings.TrimSpace(getenv("STREAMTEST_DEFAULT_TYPE")); v != "" {
		l.defaultType(v, "env STREAMTEST_DEFAULT_TYPE")
	}

	for _, name := range o.Files {
		l.read(name, false)
	}
	for _, name := range o.Inventories {
		l.readInventory(name)
	}
	if o.Strict != nil {
		l.c.Strict = Setting[bool]{Value: *o.Strict, Source: cmp.Or(o.StrictSource, "flag --strict")}
	}
	if o.DefaultType != "" {
		l.defaultType(o.DefaultType, cmp.Or(o.DefaultTypeSource, "flag --default-type"))
	}

	// Streams without a type get the default type now that it is known.
	for _, id := range l.c.Order {
		r, ok := l.raw[id]
		if !ok {
			continue
		}
		s, errs := settleStream(r.file, l.c.Streams[id], r.entries, l.c.DefaultType, r.b)
		l.errs = append(l.errs, errs...)
		l.c.Streams[id] = s
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	l.c.Groups = map[string]Group{}
	for _, g := range l.groups {
		l.c.Groups[g.Name] = g
		l.c.GroupOrder = append(l.c.GroupOrder, g.Name)
	}
	for _, id := range l.c.Order {
		for _, name := range l.c.Streams[id].Groups {
			g := l.c.Groups[name]
			g.Members = append(g.Members, id)
			l.c.Groups[name] = g
		}
	}
	return l.c, nil
}

func pathList(v string) []string {
	var out []string
	for _, name := range filepath.SplitList(v) {
		if strings.TrimSpace(name) != "" {
			out = append(out, name)
		}
	}
	return out
}

type rawDef struct {
	file    string
	entries []pair
	b       *budget
}

type loader struct {
	c      *Config
	raw    map[string]rawDef // the streams without a type, by id
	errs   []error
	groups []Group // the groups declared, in order, without members
}

// DefaultUserFile returns the user file Load reads when Options.UserFile is
// "": $XDG_CONFIG_HOME/streamtest/config.yaml when XDG_CONFIG_HOME is an
// absolute path, else $HOME/.config/streamtest/config.yaml, else "". A nil
// getenv means os.Getenv, and then the home directory is
// os.UserHomeDir's.
func DefaultUserFile(getenv func(string) string) string {
	useOS := getenv == nil
	if getenv == nil {
		getenv = os.Getenv
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "streamtest", "config.yaml")
	}
	home := getenv("HOME")
	if home == "" && useOS {
		home, _ = os.UserHomeDir()
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".config", "streamtest", "config.yaml")
}

func (l *loader) defaultType(v, source string) {
	if msg, ok := checkTypeName(v); !ok {
		l.errs = append(l.errs, fmt.Errorf("params: %s: %s", source, msg))
		return
	}
	l.c.DefaultType = Setting[string]{Value: v, Source: source}
}

// read parses one file and merges it into the Config.
func (l *loader) read(name string, optional bool) {
	l.readWith(name, optional, parse)
}

// readInventory parses one Ansible inventory and merges it into the
// Config.
func (l *loader) readInventory(name string) {
	l.readWith(name, false, parseInventory)
}

func (l *loader) readWith(name string, optional bool, parse func(string, []byte) (*File, []error)) {
	abs, err := filepath.Abs(name)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("params: %w", err))
		return
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return
		}
		l.errs = append(l.errs, fmt.Errorf("params: %w", err))
		return
	}
	l.c.Files = append(l.c.Files, abs)
	f, errs := parse(abs, data)
	if len(errs) > 0 {
		l.errs = append(l.errs, joinSorted(errs))
		return
	}
	for _, name := range f.GroupOrder {
		declared := false
		for _, g := range l.groups {
			declared = declared || g.Name == name
		}
		if !declared {
			l.groups = append(l.groups, Group{Name: name, Pos: f.Groups[name].Pos})
		}
	}
	c := l.c
	for _, id := range f.Order {
		if _, ok := c.Streams[id]; !ok {
			c.Order = append(c.Order, id)
		}
		s := f.Streams[id]
		c.Streams[id] = s
		if s.Untyped {
			l.raw[id] = rawDef{abs, f.raw[id], f.b}
		} else {
			delete(l.raw, id)
		}
	}
	if f.DefaultType != nil {
		c.DefaultType = *f.DefaultType
	}
	if f.Strict != nil {
		c.Strict = *f.Strict
	}
	c.Tree = Tree(merge(c.Tree, f.Tree))
}

// Resolve returns the stream to use for id: its definition if the files
// have one; else, in strict mode, an error that names id, says where strict
// mode was set and lists the files read; else a Stream of the default type
// with no values. It also fails, with an error that wraps a
// *stream.UnknownTypeError, when the stream's type is not registered in
// this program.
func (c *Config) Resolve(id string) (Stream, error) {
	if c == nil {
		c = &Config{}
	}
	if isDigits(id) {
		if i, err := strconv.Atoi(id); err == nil {
			id = strconv.Itoa(i) // "01" is stream 1
		}
	}
	if s, ok := c.Streams[id]; ok {
		if _, ok := stream.Lookup(s.Type); !ok {
			ute := &stream.UnknownTypeError{Name: s.Type}
			return Stream{}, &Error{Pos: s.Pos, Msg: fmt.Sprintf("stream %s: %v", id, ute), Err: ute}
		}
		return s, nil
	}
	if c.Strict.Value {
		files := "no parameters file was read"
		if len(c.Files) > 0 {
			files = "files read: " + strings.Join(c.Files, ", ")
		}
		return Stream{}, fmt.Errorf("params: stream %q is not defined and strict mode is on (set by %s); %s",
			id, c.Strict.Source, files)
	}
	dt := c.DefaultType
	if dt.Value == "" {
		dt = Setting[string]{Value: defaultType, Source: "default"}
	}
	r, ok := stream.Lookup(dt.Value)
	if !ok {
		ute := &stream.UnknownTypeError{Name: dt.Value}
		return Stream{}, fmt.Errorf("params: stream %q gets the default type (set by %s): %w", id, dt.Source, ute)
	}
	dir, _ := os.Getwd()
	return Stream{ID: id, Type: r.Name, Untyped: true, Values: stream.Values{}, Dir: dir}, nil
}
