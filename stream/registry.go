package stream

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

// Factory creates an Environment from its configuration. It must be cheap:
// no connection, process or container is created before Setup.
type Factory func(cfg Config) (Environment, error)

// Info describes a registered stream type for parameter checking, for
// `streamtest types` and for error messages.
type Info struct {
	Doc     string   // one line: what the type is
	Aliases []string // other names that select this type
	Params  []Param  // every parameter the type accepts, besides "type"
}

// Registered is a stream type as the registry holds it.
type Registered struct {
	Name string
	Info
	New Factory
}

// Param returns the parameter named name.
func (r Registered) Param(name string) (Param, bool) {
	for _, p := range r.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

var (
	mu       sync.RWMutex
	registry = map[string]*Registered{} // by name and by alias
)

// BuiltIn maps the types this module ships to the package that registers
// them, so that an error can say which import is missing.
var BuiltIn = map[string]string{
	"local":     "github.com/streamtest/streamtest/stream/local",
	"process":   "github.com/streamtest/streamtest/stream/local",
	"remote":    "github.com/streamtest/streamtest/stream/remote",
	"ssh":       "github.com/streamtest/streamtest/stream/remote",
	"container": "github.com/streamtest/streamtest/stream/container",
	"docker":    "github.com/streamtest/streamtest/stream/container",
	"sandbox":   "github.com/streamtest/streamtest/stream/sandbox",
	"bwrap":     "github.com/streamtest/streamtest/stream/sandbox",
}

// Register makes a stream type available under name and its aliases. It
// panics if a name is taken or f is nil, like database/sql.Register.
func Register(name string, f Factory, info Info) {
	mu.Lock()
	defer mu.Unlock()
	if f == nil {
		panic("stream: Register of type " + name + " with a nil factory")
	}
	r := &Registered{Name: name, Info: info, New: f}
	for _, n := range append([]string{name}, info.Aliases...) {
		if _, dup := registry[n]; dup {
			panic("stream: Register called twice for type " + n)
		}
		registry[n] = r
	}
}

// Implementation returns the factory registered under name or an alias of
// it; ok is false when there is none. It is the RFC's get_implementation.
func Implementation(name string) (f Factory, ok bool) {
	r, ok := Lookup(name)
	if !ok {
		return nil, false
	}
	return r.New, true
}

// Lookup returns the registered type for name or an alias of it.
func Lookup(name string) (Registered, bool) {
	mu.RLock()
	defer mu.RUnlock()
	r, ok := registry[name]
	if !ok {
		return Registered{}, false
	}
	return *r, true
}

// Types returns every registered type, sorted by name, each once.
func Types() []Registered {
	mu.RLock()
	defer mu.RUnlock()
	seen := map[string]bool{}
	var out []Registered
	for _, r := range registry {
		if !seen[r.Name] {
			seen[r.Name] = true
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// UnknownTypeError says that no stream type of that name is registered. Its
// message lists the known types and, for a built-in type that this binary
// does not link, the import that registers it.
type UnknownTypeError struct {
	Name string
}

func (e *UnknownTypeError) Error() string {
	var names []string
	for _, r := range Types() {
		n := r.Name
		if len(r.Aliases) > 0 {
			n += " (" + strings.Join(r.Aliases, ", ") + ")"
		}
		names = append(names, n)
	}
	msg := fmt.Sprintf("unknown stream type %q; known types: %s", e.Name, strings.Join(names, ", "))
	if pkg, ok := BuiltIn[e.Name]; ok {
		msg = fmt.Sprintf("stream type %q is not linked into this program; add the import _ %q (known types: %s)",
			e.Name, pkg, strings.Join(names, ", "))
	}
	return msg
}

var userHomeDir = os.UserHomeDir
