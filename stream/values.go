package stream

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Values are a stream's parameters after they were checked against its
// type's Params. A value's Go type follows its Kind: string (String, Path,
// Secret), int (Int), bool (Bool), time.Duration (Duration), []string
// (Strings), map[string]string (StringMap).
type Values map[string]any

// String returns the string value of key, or def when it is absent.
func (v Values) String(key, def string) string {
	if s, ok := v[key].(string); ok {
		return s
	}
	return def
}

// Int returns the int value of key, or def when it is absent.
func (v Values) Int(key string, def int) int {
	if i, ok := v[key].(int); ok {
		return i
	}
	return def
}

// Bool returns the bool value of key, or def when it is absent.
func (v Values) Bool(key string, def bool) bool {
	if b, ok := v[key].(bool); ok {
		return b
	}
	return def
}

// Duration returns the duration value of key, or def when it is absent.
func (v Values) Duration(key string, def time.Duration) time.Duration {
	if d, ok := v[key].(time.Duration); ok {
		return d
	}
	return def
}

// Strings returns the list value of key, or nil when it is absent.
func (v Values) Strings(key string) []string {
	l, _ := v[key].([]string)
	return l
}

// StringMap returns the map value of key, or nil when it is absent.
func (v Values) StringMap(key string) map[string]string {
	m, _ := v[key].(map[string]string)
	return m
}

// Environ returns the map value of key as environment entries, "KEY=value",
// sorted by key (nil when the key is absent): the usual "env" parameter,
// ready to append to a process's environment.
func (v Values) Environ(key string) []string {
	m := v.StringMap(key)
	out := make([]string, 0, len(m))
	for k, val := range m {
		out = append(out, k+"="+val)
	}
	if len(out) == 0 {
		return nil
	}
	sort.Strings(out)
	return out
}

// Path returns the path value of key resolved against dir (see Config.Dir),
// with a leading "~/" expanded to the user's home directory, or def when the
// key is absent.
func (v Values) Path(key, dir, def string) string {
	p := v.String(key, def)
	return ResolvePath(p, dir)
}

// ResolvePath expands a leading "~/" and makes a relative p relative to dir.
// An empty p stays empty.
func ResolvePath(p, dir string) string {
	if p == "" {
		return ""
	}
	if p == "~" || len(p) > 1 && p[:2] == "~/" {
		if home, err := userHomeDir(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	return p
}

// Kind is the kind of a parameter's value.
type Kind int

// The kinds of parameter values.
const (
	String    Kind = iota // a string
	Int                   // a whole number
	Bool                  // true or false
	Duration              // a Go duration ("5s", "1m30s") or a number of seconds
	Strings               // a list of strings (a single string is a list of one)
	StringMap             // a mapping of strings to strings
	Path                  // a file path, relative to the defining file's directory
	Secret                // a string that is never logged, printed or reported
)

var kindNames = [...]string{"string", "int", "bool", "duration", "list of strings", "map of strings", "path", "secret"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Param documents one parameter a stream type accepts.
type Param struct {
	Name    string
	Kind    Kind
	Doc     string // one line: what it does
	Default string // the default, as text, for docs ("" for none)
	// Required makes a stream of the type that does not set the parameter
	// an error of the parameters file.
	Required bool
	// Check, when not nil, checks a value of the right kind (its Go type
	// as in Values) and says what is wrong with it. It runs where the file
	// is read and in `streamtest validate`, so that whatever would fail when
	// the stream is set up fails there, at the value's file:line:column.
	// It must be cheap and contact nothing.
	Check func(v any) error
}

// NonEmpty is a Check for a String parameter that must not be "".
func NonEmpty(v any) error {
	if s, _ := v.(string); s == "" {
		return errors.New("must not be empty")
	}
	return nil
}

// OneOf returns a Check for a String parameter that takes one of values.
func OneOf(values ...string) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		for _, ok := range values {
			if s == ok {
				return nil
			}
		}
		quoted := make([]string, len(values))
		for i, ok := range values {
			quoted[i] = strconv.Quote(ok)
		}
		return fmt.Errorf("want %s, got %q", strings.Join(quoted, " or "), s)
	}
}

// PortNumber is a Check for an Int parameter that is a TCP or UDP port.
func PortNumber(v any) error {
	if n, _ := v.(int); n < 1 || n > 65535 {
		return fmt.Errorf("want a port number from 1 to 65535, got %d", n)
	}
	return nil
}
