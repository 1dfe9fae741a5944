package route

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/mxout/mxout/internal/dns"
)

// TestNoMX: -x asks only for the domain's own addresses, never its MX.
func TestNoMX(t *testing.T) {
	f := &fakeDNS{
		mx: map[string]mxAnswer{"example.test": {mxs: []dns.MX{{Host: "mx.example.test", Pref: 10}}}},
		ip: map[string]ipAnswer{"example.test": {addrs: []netip.Addr{netip.MustParseAddr("192.0.2.9")}}},
	}
	p := &Planner{Resolver: f, NoMX: true}
	plan, err := p.Domain(t.Context(), "example.test")
	if err != nil || len(plan.Hops) != 1 || plan.Hops[0].Name != "example.test" || plan.Hops[0].Addrs[0].String() != "192.0.2.9" {
		t.Fatalf("plan %+v, %v", plan, err)
	}
	if slices.Contains(f.calls, "MX example.test") {
		t.Errorf("looked up MX with NoMX: %v", f.calls)
	}
}

// TestInterleave: mxout's default alternates the families; qmail-remote's keeps IPv6 first.
func TestInterleave(t *testing.T) {
	addrs := []netip.Addr{
		netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("192.0.2.3"),
	}
	f := &fakeDNS{ip: map[string]ipAnswer{"relay.test": {addrs: addrs}}}
	for _, tt := range []struct {
		interleave bool
		want       string
	}{
		{false, "[2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2 192.0.2.3]"},
		{true, "[2001:db8::1 192.0.2.1 2001:db8::2 192.0.2.2 192.0.2.3]"},
	} {
		p := &Planner{Resolver: f, Interleave: tt.interleave}
		plan, err := p.Relay(t.Context(), "relay.test", netip.Addr{}, 25)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmtAddrs(plan.Hops[0].Addrs); got != tt.want {
			t.Errorf("interleave %v: %s, want %s", tt.interleave, got, tt.want)
		}
	}
}

func fmtAddrs(a []netip.Addr) string {
	s := "["
	for i, x := range a {
		if i > 0 {
			s += " "
		}
		s += x.String()
	}
	return s + "]"
}
