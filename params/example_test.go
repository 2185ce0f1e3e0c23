package params_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/streamtest/streamtest/params"
	"github.com/streamtest/streamtest/stream"
)

// A stream type registers the parameters it accepts; parameters files are
// checked against them. Real types register themselves from their package's
// init function.
func init() {
	stream.Register("vm", func(stream.Config) (stream.Environment, error) {
		return nil, errors.New("not in this example")
	}, stream.Info{
		Doc:     "a virtual machine",
		Aliases: []string{"qemu"},
		Params: []stream.Param{
			{Name: "host", Kind: stream.String, Doc: "the host name"},
			{Name: "port", Kind: stream.Int, Doc: "the SSH port", Default: "22"},
			{Name: "boot_timeout", Kind: stream.Duration, Doc: "how long booting may take", Default: "1m"},
			{Name: "password", Kind: stream.Secret, Doc: "the password"},
		},
	})
}

func ExampleParseFile() {
	f, err := params.ParseFile("streams.yaml", []byte(`
avocado:
  streams:
    - 1:
        type: vm
        host: foo.example.com
        boot_timeout: 90
    - 2: {type: qemu, host: bar.example.com, port: 2222}
remote_hostname: foo
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, id := range f.Order {
		s := f.Streams[id]
		fmt.Printf("%s: %s at %s: host %s, port %d, boot timeout %v\n", id, s.Type, s.Pos,
			s.Values.String("host", ""), s.Values.Int("port", 22), s.Values.Duration("boot_timeout", 0))
	}
	fmt.Println(f.Tree.Get("remote_hostname"))
	// Output:
	// 1: vm at streams.yaml:4:7: host foo.example.com, port 22, boot timeout 1m30s
	// 2: vm at streams.yaml:8:7: host bar.example.com, port 2222, boot timeout 0s
	// foo true
}

func ExampleParseFile_errors() {
	_, err := params.ParseFile("streams.yaml", []byte(`
streams:
  - 1: {type: vm, hots: foo.example.com}
  - 2: {type: vm, port: ssh, password: [hunter2]}
  - 1: {type: vn}
`))
	fmt.Println(err)
	// Output:
	// streams.yaml:3:19: stream 1: unknown parameter "hots" for type "vm" (did you mean "host"?); known parameters: boot_timeout, host, password, port
	// streams.yaml:4:25: stream 2: port: want int, got "ssh"
	// streams.yaml:4:40: stream 2: password: want secret, got a list
	// streams.yaml:5:5: duplicate stream id "1" (first defined at streams.yaml:3:5)
}

func ExampleLoad() {
	dir, err := os.MkdirTemp("", "params-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	user := filepath.Join(dir, "config.yaml")
	os.WriteFile(user, []byte("streamtest:\n  default_type: vm\ndb: {user: admin}\n"), 0o644)
	lab := filepath.Join(dir, "lab.yaml")
	os.WriteFile(lab, []byte("streams:\n  - 1: {host: h1}\n  - 2: {host: h2}\ndb: {host: db1}\n"), 0o644)

	environ := map[string]string{"STREAMTEST_STRICT": "true"}
	cfg, err := params.Load(params.Options{
		SystemFile: "-",  // none
		UserFile:   user, // instead of ~/.config/streamtest/config.yaml
		Getenv:     func(k string) string { return environ[k] },
		Files:      []string{lab}, // -p lab.yaml
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	short := func(s string) string { return strings.TrimPrefix(s, dir+string(filepath.Separator)) }
	for _, id := range cfg.Order {
		s := cfg.Streams[id]
		fmt.Printf("stream %s: %s, host %s\n", id, s.Type, s.Values.String("host", ""))
	}
	fmt.Println("default type:", cfg.DefaultType.Value, "from", short(cfg.DefaultType.Source))
	fmt.Println("strict:", cfg.Strict.Value, "from", cfg.Strict.Source)
	fmt.Println("db:", cfg.Tree.Sub("db"))
	// Output:
	// stream 1: vm, host h1
	// stream 2: vm, host h2
	// default type: vm from config.yaml:2:17
	// strict: true from env STREAMTEST_STRICT
	// db: map[host:db1 user:admin]
}

func ExampleConfig_Resolve() {
	f, _ := params.ParseFile("lab.yaml", []byte("streams:\n  - 1: {type: vm, host: h1}\n  - 2: {type: remote, host: h2}\n"))
	cfg := &params.Config{
		Streams:     f.Streams,
		Order:       f.Order,
		DefaultType: params.Setting[string]{Value: "vm", Source: "default"},
		Files:       []string{"lab.yaml"},
	}

	s, err := cfg.Resolve("1") // defined
	fmt.Println(s.ID, s.Type, s.Values.String("host", ""), err)

	s, err = cfg.Resolve("9") // not defined: the default type, no values
	fmt.Println(s.ID, s.Type, s.Untyped, len(s.Values), err)

	_, err = cfg.Resolve("2") // a type this program does not link
	var unknown *stream.UnknownTypeError
	fmt.Println(errors.As(err, &unknown), unknown.Name)

	cfg.Strict = params.Setting[bool]{Value: true, Source: "flag --strict"}
	_, err = cfg.Resolve("9")
	fmt.Println(err)
	// Output:
	// 1 vm h1 <nil>
	// 9 vm true 0 <nil>
	// true remote
	// params: stream "9" is not defined and strict mode is on (set by flag --strict); files read: lab.yaml
}
