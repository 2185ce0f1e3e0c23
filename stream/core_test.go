package stream_test

import (
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamtest/streamtest/stream"
)

// fakeProc records the signals it gets; it ends on the first signal in
// endsOn.
type fakeProc struct {
	stream.Ending
	endsOn map[syscall.Signal]bool
	mu     sync.Mutex
	got    []syscall.Signal
}

func (p *fakeProc) Release() error { return errors.New("not gated") }
func (p *fakeProc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	p.got = append(p.got, sig)
	p.mu.Unlock()
	if p.endsOn[sig] {
		p.End(stream.Exit{Code: -1, Signal: sig}, nil)
	}
	return nil
}

func (p *fakeProc) signals() []syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]syscall.Signal(nil), p.got...)
}

func TestStop(t *testing.T) {
	type testCase struct {
		name   string
		endsOn []syscall.Signal
		grace  time.Duration
		want   []syscall.Signal // the signals sent, in order
		ended  syscall.Signal
		err    bool
	}
	run := func(t *testing.T, tc testCase) {
		p := &fakeProc{endsOn: map[syscall.Signal]bool{}}
		for _, s := range tc.endsOn {
			p.endsOn[s] = true
		}
		err := stream.Stop(p, tc.grace)
		if (err != nil) != tc.err {
			t.Fatalf("Stop = %v, want error %v", err, tc.err)
		}
		got := p.signals()
		if len(got) != len(tc.want) {
			t.Fatalf("signals %v, want %v", got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("signals %v, want %v", got, tc.want)
			}
		}
		if tc.ended != 0 {
			x, _ := p.Wait()
			if x.Signal != tc.ended {
				t.Errorf("ended by %v, want %v", x.Signal, tc.ended)
			}
		}
	}
	old := stream.KillWait
	stream.KillWait = 50 * time.Millisecond
	defer func() { stream.KillWait = old }()
	for _, tc := range []testCase{
		// TERM obeyed: KILL still goes to what is left of the tree.
		{name: "term obeyed", endsOn: []syscall.Signal{syscall.SIGTERM}, grace: time.Minute,
			want: []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}, ended: syscall.SIGTERM},
		{name: "term ignored", endsOn: []syscall.Signal{syscall.SIGKILL}, grace: 10 * time.Millisecond,
			want: []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}, ended: syscall.SIGKILL},
		{name: "no grace", endsOn: []syscall.Signal{syscall.SIGKILL}, grace: 0,
			want: []syscall.Signal{syscall.SIGKILL}, ended: syscall.SIGKILL},
		{name: "never ends", grace: 0, want: []syscall.Signal{syscall.SIGKILL}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestStopAfterEnd(t *testing.T) {
	p := &fakeProc{}
	p.End(stream.Exit{Code: 0}, nil)
	if err := stream.Stop(p, time.Minute); err != nil {
		t.Fatalf("Stop of an ended process: %v", err)
	}
	if got := p.signals(); len(got) != 1 || got[0] != syscall.SIGKILL {
		t.Errorf("signals %v, want only SIGKILL (for what the program left in its group)", got)
	}
}

func TestEndingOnce(t *testing.T) {
	var e stream.Ending
	if e.Ended() {
		t.Fatal("Ended before End")
	}
	if !e.End(stream.Exit{Code: 3}, nil) {
		t.Fatal("first End did not count")
	}
	if e.End(stream.Exit{Code: 4}, errors.New("late")) {
		t.Fatal("second End counted")
	}
	x, err := e.Wait()
	if x.Code != 3 || err != nil {
		t.Errorf("Wait = %v, %v; want the first End's", x, err)
	}
}

func TestProcessSet(t *testing.T) {
	var s stream.ProcessSet[*fakeProc]
	a, b := &fakeProc{}, &fakeProc{}
	if err := s.Add(a); err != nil {
		t.Fatal(err)
	}
	s.Add(b)
	s.Remove(b)
	procs, first := s.Close()
	if !first || len(procs) != 1 || procs[0] != a {
		t.Fatalf("Close = %v, %v; want [a], true", procs, first)
	}
	if _, again := s.Close(); again {
		t.Error("second Close reported first")
	}
	if err := s.Add(b); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
}
