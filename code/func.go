package code

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path"
	"sync"
	"syscall"

	"github.com/streamtest/streamtest/stream/helper"
)

// RegisterFunc registers a Go function that Func can run on a stream, under
// name. Call it from an init function of the test package:
//
//	func init() { code.RegisterFunc("serve", serve) }
//
// The function runs in a process of its own on the stream: the test binary
// itself, shipped there and started so that it runs just this function and
// exits (status 0 when it returns nil, 1 with the error on stderr
// otherwise). It shares no memory with the test: give it what it needs as
// arguments, or with Params. Its context ends on SIGTERM or SIGINT.
//
// Because it is the test binary that runs, the stream must be able to run
// it: same operating system and architecture, and the C library when the
// binary links it (local streams always can).
func RegisterFunc(name string, f func(ctx context.Context, args []string) error) {
	helper.Register(funcHelperPrefix+name, func(args []string) int {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if err := f(ctx, args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	})
	funcsMu.Lock()
	funcs[name] = true
	funcsMu.Unlock()
}

const funcHelperPrefix = "func:"

var (
	funcsMu sync.Mutex
	funcs   = map[string]bool{}
)

// Func runs the Go function registered as name (see RegisterFunc) on the
// stream, with args.
func Func(name string, args ...string) Block { return funcBlock{name: name, args: args} }

type funcBlock struct {
	name string
	args []string
}

func (b funcBlock) Kind() string   { return "go-func" }
func (b funcBlock) String() string { return summarize(b.name + " " + fmt.Sprint(b.args)) }
func (b funcBlock) Text() string   { return quoteArgs(append([]string{b.name}, b.args...)) }

func (b funcBlock) SendSelf(ctx context.Context, t Target) (*Plan, error) {
	funcsMu.Lock()
	ok := funcs[b.name]
	funcsMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("code.Func: no function registered as %q (call code.RegisterFunc from an init function)", b.name)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("code.Func: %w", err)
	}
	bin := exe
	if t.Type() != "local" {
		remote := path.Join("blocks", "func-"+shortHash(exe), path.Base(exe))
		if err := t.Send(ctx, exe, remote); err != nil {
			return nil, fmt.Errorf("code.Func: sending the test binary: %w", err)
		}
		bin = path.Join(t.WorkDir(), remote)
	}
	return &Plan{
		Args: append([]string{bin}, b.args...),
		Env:  []string{helper.Env + "=" + funcHelperPrefix + b.name},
	}, nil
}
