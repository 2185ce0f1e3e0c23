package netns

import (
	"io"
	"testing"
)

func TestPlanNetworks(t *testing.T) {
	type want struct {
		bridge string
		addrs  []string
		ns     []string
		iso    bool
	}
	type testCase struct {
		name string
		o    Options
		want []want
	}
	for _, tc := range []testCase{
		{name: "one subnet", o: Options{Hosts: 2}, want: []want{
			{bridge: "stlab-br1", addrs: []string{"10.199.1.11", "10.199.1.12"}, ns: []string{"stlab1", "stlab2"}},
		}},
		{name: "isolated hosts numbered after", o: Options{Hosts: 1, Isolated: 2}, want: []want{
			{bridge: "stlab-br1", addrs: []string{"10.199.1.11"}, ns: []string{"stlab1"}},
			{bridge: "stlab-br2", addrs: []string{"10.199.2.12", "10.199.2.13"}, ns: []string{"stlab2", "stlab3"}, iso: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planNetworks(tc.o)
			if len(got) != len(tc.want) {
				t.Fatalf("%d networks, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.bridge != w.bridge || len(g.hosts) != len(w.addrs) {
					t.Fatalf("network %d: %+v, want bridge %s with %d hosts", i, g, w.bridge, len(w.addrs))
				}
				for j, h := range g.hosts {
					if h.Addr != w.addrs[j] || h.Namespace != w.ns[j] || h.Bridge != w.bridge || h.Isolated != w.iso {
						t.Errorf("network %d host %d: %+v, want %s in %s", i, j, h, w.addrs[j], w.ns[j])
					}
				}
			}
		})
	}
}

func TestOptionsWithDefaults(t *testing.T) {
	o, err := Options{Hosts: 1}.withDefaults()
	if err != nil || o.Dir != ".lab" || o.Stdout != io.Discard {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	for _, bad := range []Options{{}, {Hosts: 1, Isolated: -1}, {Hosts: 150, Isolated: 51}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
