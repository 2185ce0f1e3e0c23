package params

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// FuzzParse checks that ParseFile never panics, that every error it returns
// has a position in the file, and that it is deterministic. The seed corpus
// is in testdata/fuzz/FuzzParse; run it longer with
//
//	go test -run '^$' -fuzz FuzzParse -fuzzminimizetime 2s ./params
//
// (the default minimisation time of 60s shows as long pauses with no
// executions).
func FuzzParse(f *testing.F) {
	f.Add([]byte("streams:\n  - 1: {type: faketype, port: 22, password: x}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		file, err := ParseFile(name, data)
		if err == nil {
			if len(file.Order) != len(file.Streams) {
				t.Fatalf("Order %v but %d streams", file.Order, len(file.Streams))
			}
			for _, id := range file.Order {
				s, ok := file.Streams[id]
				if !ok || s.ID != id || s.Pos.Line < 1 || s.Pos.Column < 1 || s.Type == "" {
					t.Fatalf("stream %q = %+v", id, s)
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
		if _, err2 := ParseFile(name, data); err2 == nil || err2.Error() != err.Error() {
			t.Fatalf("second parse: %v, first: %v", err2, err)
		}
	})
}
