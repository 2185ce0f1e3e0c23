package container

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/streamtest/streamtest/stream"
)

// benchEngines runs f as a sub-benchmark on each engine of engineSpecs.
func benchEngines(b *testing.B, f func(b *testing.B, eng *testEngine)) {
	for _, spec := range engineSpecs() {
		b.Run(spec.name, func(b *testing.B) { f(b, needEngine(b, spec)) })
	}
}

// BenchmarkFirstResult is the time from a fresh container stream (New) to
// the result of its first block (`true`): engine contact, container create
// and start, one exec. Close is not counted.
func BenchmarkFirstResult(b *testing.B) { benchEngines(b, benchmarkFirstResult) }

func benchmarkFirstResult(b *testing.B, eng *testEngine) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		env, err := New(stream.Config{ID: "bench", Type: TypeName, Params: eng.params(nil), Logf: func(string, ...any) {}})
		if err != nil {
			b.Fatal(err)
		}
		p, err := env.Start(ctx, &stream.Command{Args: []string{"true"}})
		if err != nil {
			b.Fatal(err)
		}
		if exit, err := p.Wait(); err != nil || !exit.Success() {
			b.Fatal(exit, err)
		}
		b.StopTimer()
		if err := env.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkBlock runs `true` on an established container stream (through
// the wrapper: own process group, control lines, exit status), beside a bare
// exec of `true` through the same client (create, attach, read, inspect).
func BenchmarkBlock(b *testing.B) { benchEngines(b, benchmarkBlock) }

func benchmarkBlock(b *testing.B, eng *testEngine) {
	ctx := context.Background()
	env, err := New(stream.Config{ID: "bench", Type: TypeName, Params: eng.params(nil), Logf: func(string, ...any) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	if err := env.Setup(ctx); err != nil {
		b.Fatal(err)
	}
	e := env.(*Env)
	b.Run("stream", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := env.Start(ctx, &stream.Command{Args: []string{"true"}})
			if err != nil {
				b.Fatal(err)
			}
			if exit, err := p.Wait(); err != nil || !exit.Success() {
				b.Fatal(exit, err)
			}
		}
	})
	b.Run("gated", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := env.Start(ctx, &stream.Command{Args: []string{"true"}, Gated: true})
			if err != nil {
				b.Fatal(err)
			}
			if err := p.Release(); err != nil {
				b.Fatal(err)
			}
			if exit, err := p.Wait(); err != nil || !exit.Success() {
				b.Fatal(exit, err)
			}
		}
	})
	b.Run("bare-exec", func(b *testing.B) {
		cli := e.eng.cli
		for i := 0; i < b.N; i++ {
			created, err := cli.ExecCreate(ctx, e.id, client.ExecCreateOptions{AttachStdout: true, AttachStderr: true, Cmd: []string{"true"}})
			if err != nil {
				b.Fatal(err)
			}
			hj, err := cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := stdcopy.StdCopy(io.Discard, io.Discard, hj.Reader); err != nil {
				b.Fatal(err)
			}
			hj.Close()
			ins, err := cli.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
			if err != nil || ins.ExitCode != 0 {
				b.Fatal(ins, err)
			}
		}
	})
}

// BenchmarkSend copies a small file into an established stream.
func BenchmarkSend(b *testing.B) { benchEngines(b, benchmarkSend) }

func benchmarkSend(b *testing.B, eng *testEngine) {
	ctx := context.Background()
	env, err := New(stream.Config{ID: "bench", Type: TypeName, Params: eng.params(nil), Logf: func(string, ...any) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	if err := env.Setup(ctx); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir() + "/f"
	must(b, writeFile(dir, 4096))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := env.Send(ctx, dir, "f"); err != nil {
			b.Fatal(err)
		}
	}
}

func writeFile(name string, size int) error {
	return os.WriteFile(name, make([]byte, size), 0o644)
}
