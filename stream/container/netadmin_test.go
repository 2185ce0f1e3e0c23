package container

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/streamtest/streamtest/stream"
)

// TestNetAdminHostNetwork: a stream on the test machine's own network is
// refused before anything is made on the engine (none is contacted).
func TestNetAdminHostNetwork(t *testing.T) {
	env, err := New(stream.Config{ID: "h", Type: TypeName, Params: stream.Values{"network": "host", "engine": "unix:///nonexistent/engine.sock"}})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	_, err = env.(stream.NetAdmin).NetAdmin(t.Context(), "true", "")
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), `network "host"`) || !strings.Contains(err.Error(), "test machine's own network") {
		t.Errorf("err = %v, want ErrUnsupported naming the host network", err)
	}
	if id := env.(*Env).ContainerID(); id != "" {
		t.Errorf("a container %s was made", id)
	}
}

func TestQuoteStderr(t *testing.T) {
	long := strings.Repeat("a", netAdminStderrQuote) + strings.Repeat("b", 100) + strings.Repeat("c", netAdminStderrQuote)
	type testCase struct {
		name    string
		in      string
		dropped int
		want    string // the result, or its start and end around "|"
	}
	for _, tc := range []testCase{
		{name: "short", in: "  iptables: Bad rule\n", want: "iptables: Bad rule"},
		{name: "empty", in: "\n", want: ""},
		{name: "dropped", in: "x", dropped: 5, want: "x [... 5 more bytes]"},
		{name: "long", in: long, want: strings.Repeat("a", netAdminStderrQuote/2) + " [... " + strconv.Itoa(len(long)-netAdminStderrQuote) + " bytes ...] " + strings.Repeat("c", netAdminStderrQuote/2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := quoteStderr([]byte(tc.in), tc.dropped); got != tc.want {
				t.Errorf("quoteStderr = %.80q..., want %.80q...", got, tc.want)
			}
		})
	}
}

func TestBoundedBuffer(t *testing.T) {
	b := &boundedBuffer{max: 4}
	for _, s := range []string{"ab", "cde", "fg"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if b.String() != "abcd" || b.over != 3 {
		t.Errorf("kept %q, over %d; want \"abcd\", 3", b.String(), b.over)
	}
}

func TestNetScriptError(t *testing.T) {
	for _, tc := range []struct {
		err  *NetScriptError
		want string
	}{
		{&NetScriptError{Status: 3, Stderr: "iptables: Bad rule"}, "network script exited with status 3: iptables: Bad rule"},
		{&NetScriptError{Status: 1}, "network script exited with status 1 (no standard error)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// TestNetHelpersFirst: Sweep removes the network helpers before the
// containers whose namespace they share (Podman refuses the other order).
func TestNetHelpersFirst(t *testing.T) {
	cs := []container.Summary{
		{ID: "a"},
		{ID: "ha", Labels: map[string]string{LabelNetAdminOf: "a"}},
		{ID: "b"},
		{ID: "hb", Labels: map[string]string{LabelNetAdminOf: "b"}},
	}
	netHelpersFirst(cs)
	var got []string
	for _, c := range cs {
		got = append(got, c.ID)
	}
	if strings.Join(got, " ") != "ha hb a b" {
		t.Errorf("order %v, want [ha hb a b]", got)
	}
}
