package sandbox_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The sandbox type proves that a stream type can be written from outside
// the module: its code imports only public packages of it, and nothing of
// another stream type.
func TestImportsOnlyPublicPackages(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(path, "github.com/streamtest/streamtest") {
				continue
			}
			if strings.Contains(path, "/internal") || strings.HasPrefix(path, "github.com/streamtest/streamtest/stream/local") {
				t.Errorf("%s imports %s: a type outside the module could not", f, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source file checked")
	}
}
