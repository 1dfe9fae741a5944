package route_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/route"
)

// staticDNS answers from fixed tables; a real program passes a *dns.Resolver.
type staticDNS struct {
	mx map[string][]dns.MX
	ip map[string][]netip.Addr
}

func (s staticDNS) LookupMX(_ context.Context, name string) ([]dns.MX, dns.Result, error) {
	return s.mx[name], dns.Result{Authentic: true}, nil
}

func (s staticDNS) LookupIP(_ context.Context, name string) ([]netip.Addr, dns.Result, error) {
	return s.ip[name], dns.Result{}, nil
}

func ExamplePlanner_Domain() {
	p := &route.Planner{Resolver: staticDNS{
		mx: map[string][]dns.MX{"example.test": {{Host: "mx2.example.test", Pref: 20}, {Host: "mx1.example.test", Pref: 10}}},
		ip: map[string][]netip.Addr{
			"mx1.example.test": {netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")},
			"mx2.example.test": {netip.MustParseAddr("192.0.2.2")},
		},
	}}
	plan, err := p.Domain(context.Background(), "example.test")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range plan.Hops {
		fmt.Println(h.Pref, h.Name, h.Addrs, h.Port, h.MXAuthentic, h.AddrAuthentic)
	}
	// Output:
	// 10 mx1.example.test [2001:db8::1 192.0.2.1] 25 true false
	// 20 mx2.example.test [192.0.2.2] 25 true false
}
