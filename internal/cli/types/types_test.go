package types

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/streamtest/streamtest/stream"
	_ "github.com/streamtest/streamtest/stream/local"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"local (alias process)", "PARAMETER", "work_root", "path", "shell", "python-module", "script"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
}

func TestWrite(t *testing.T) {
	var out bytes.Buffer
	types := []stream.Registered{{Name: "x", Info: stream.Info{Doc: "an x", Aliases: []string{"y"},
		Params: []stream.Param{{Name: "size", Kind: stream.Int, Doc: "how big", Default: "3"}}}}}
	if err := Write(&out, types, []BlockKind{{"shell", "a shell"}}); err != nil {
		t.Fatal(err)
	}
	want := `Stream types:

  x (alias y): an x
    PARAMETER  KIND  DEFAULT  DESCRIPTION
    size       int   3        how big

Block kinds:
  shell  a shell
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", &out, want)
	}
}
