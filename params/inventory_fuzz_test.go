package params

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// FuzzParseInventory checks that the INI inventory reader never panics,
// that every error it returns has a position in the file, that every host
// it defines is a stream with a position, and that it is deterministic.
// Run it longer with
//
//	go test -run '^$' -fuzz FuzzParseInventory -fuzzminimizetime 2s ./params
func FuzzParseInventory(f *testing.F) {
	f.Add([]byte(iniInventory))
	f.Add([]byte("[a:children]\nb\n[b:children]\na\n"))
	f.Add([]byte("w[01:03]:22 ansible_password=\"x\\\"y\" k='v' # c\n[g:vars]\nx = 'y'\n"))
	f.Add([]byte("[g]\nh ansible_ssh_common_args='-o UserKnownHostsFile=\"/a b\"'\n[bad\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "hosts"
		file, err := ParseInventory(name, data)
		if err == nil {
			if len(file.Order) != len(file.Streams) {
				t.Fatalf("Order %v but %d streams", file.Order, len(file.Streams))
			}
			for _, id := range file.Order {
				s, ok := file.Streams[id]
				if !ok || s.ID != id || s.Pos.Line < 1 || s.Pos.Column < 1 || s.Type == "" {
					t.Fatalf("stream %q = %+v", id, s)
				}
				for _, g := range s.Groups {
					if _, ok := file.Groups[g]; !ok {
						t.Fatalf("stream %q in group %q, which is not declared", id, g)
					}
				}
			}
			return
		}
		for _, e := range unwrapAll(err) {
			var pe *Error
			if !errors.As(e, &pe) {
				t.Fatalf("error %q (%T) is not an *Error", e, e)
			}
			if pe.Pos.File != name || pe.Pos.Line < 1 || pe.Pos.Column < 1 {
				t.Fatalf("error %q has position %#v", e, pe.Pos)
			}
			prefix := fmt.Sprintf("%s:%d:%d: ", name, pe.Pos.Line, pe.Pos.Column)
			if !strings.HasPrefix(e.Error(), prefix) || len(e.Error()) == len(prefix) {
				t.Fatalf("error %q does not start with %q", e, prefix)
			}
		}
		if _, err2 := ParseInventory(name, data); err2 == nil || err2.Error() != err.Error() {
			t.Fatalf("second parse: %v, first: %v", err2, err)
		}
	})
}

// FuzzParseInventoryYAML is FuzzParseInventory for the YAML format.
func FuzzParseInventoryYAML(f *testing.F) {
	f.Add([]byte(yamlInventory))
	f.Add([]byte("all: &a\n  children:\n    g: *a\n"))
	f.Add([]byte("x: &x {hosts: {h[1:3]:22: {ansible_port: 1}}}\ny: {children: {a: *x, b: *x}, vars: {<<: {ansible_user: u}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "inv.yaml"
		file, err := ParseInventory(name, data)
		if err == nil {
			for _, id := range file.Order {
				if s, ok := file.Streams[id]; !ok || s.ID != id || s.Pos.Line < 1 || s.Pos.Column < 1 {
					t.Fatalf("stream %q = %+v", id, s)
				}
			}
			return
		}
		for _, e := range unwrapAll(err) {
			var pe *Error
			if !errors.As(e, &pe) || pe.Pos.File != name || pe.Pos.Line < 1 || pe.Pos.Column < 1 {
				t.Fatalf("error %q (%T) has no position in the file", e, e)
			}
		}
		if _, err2 := ParseInventory(name, data); err2 == nil || err2.Error() != err.Error() {
			t.Fatalf("second parse: %v, first: %v", err2, err)
		}
	})
}
