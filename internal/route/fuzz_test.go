package route

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

// FuzzDomainLiteral feeds destinations (from argv or smtproutes) through literal parsing and
// the planner: a literal plans one hop without DNS; anything else goes to DNS, here a fake
// where nothing exists.
func FuzzDomainLiteral(f *testing.F) {
	for _, s := range []string{"[192.0.2.1]", "192.0.2.1", "[IPv6:2001:db8::1]", "[::1]", "[ipv6:::ffff:1.2.3.4]", "[1.2.3.4", "[fe80::1%lo]", "example.test", "[]", "[IPv6:]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := parseLiteral(s)
		if ok && (!a.IsValid() || a.Zone() != "" || a.Is4In6()) {
			t.Fatalf("parseLiteral(%q) = %v", s, a)
		}
		f := &fakeDNS{mx: map[string]mxAnswer{s: {err: errNX}}}
		p := &Planner{Resolver: f, IsLocal: func(netip.Addr) bool { return false }}
		plan, err := p.Domain(context.Background(), s)
		switch {
		case ok && (err != nil || len(plan.Hops) != 1 || plan.Hops[0].Addrs[0] != a || len(f.Calls()) != 0):
			t.Fatalf("literal %q: plan %+v, %v, lookups %v", s, plan, err, f.Calls())
		case !ok:
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindNoHost {
				t.Fatalf("name %q: %+v, %v; want KindNoHost", s, plan, err)
			}
		}
	})
}
