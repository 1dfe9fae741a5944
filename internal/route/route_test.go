package route

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/mxout/mxout/internal/dns"
)

type domainCase struct {
	name   string
	domain string
	mx     map[string]mxAnswer
	ip     map[string]ipAnswer
	local  []string
	port   uint16
	want   []Hop     // nil: an error is expected
	kind   ErrorKind // with want == nil
	noDNS  bool      // no lookup may be made
}

func runDomain(t *testing.T, tt domainCase) {
	t.Helper()
	f := &fakeDNS{mx: tt.mx, ip: tt.ip}
	p := &Planner{Resolver: f, Port: tt.port}
	if tt.local != nil {
		p.IsLocal = localSet(tt.local...)
	}
	plan, err := p.Domain(context.Background(), tt.domain)
	if tt.noDNS && len(f.Calls()) > 0 {
		t.Errorf("Domain(%q) made lookups %v; want none", tt.domain, f.Calls())
	}
	if tt.want == nil {
		var e *Error
		if !errors.As(err, &e) || e.Kind != tt.kind || e.Name != tt.domain || e.Temporary() != (tt.kind == KindTemporary) {
			t.Fatalf("Domain(%q) = %+v, %v; want %v about %q", tt.domain, plan, err, tt.kind, tt.domain)
		}
		return
	}
	if err != nil {
		t.Fatalf("Domain(%q) error %v", tt.domain, err)
	}
	if plan.Domain != tt.domain || !reflect.DeepEqual(plan.Hops, tt.want) {
		t.Errorf("Domain(%q) = %q %+v\nwant %+v", tt.domain, plan.Domain, plan.Hops, tt.want)
	}
}

func rec(pref uint16, host string) dns.MX { return dns.MX{Host: host, Pref: pref} }

func TestDomainLiterals(t *testing.T) {
	t.Parallel()
	nx := map[string]mxAnswer{
		"[192.0.2.1":          {err: errNX},
		"[IPv6:192.0.2.1]":    {err: errNX},
		"[fe80::1%eth0]":      {err: errNX},
		"[mail.example.test]": {err: errNX},
		"2001:db8::1":         {err: errNX},
	}
	hop := func(name, addr string, port uint16) []Hop {
		return []Hop{{Name: name, Addrs: ips(addr), Port: port}}
	}
	tests := []domainCase{
		{name: "v4", domain: "[192.0.2.1]", want: hop("[192.0.2.1]", "192.0.2.1", 25), noDNS: true},
		{name: "bare v4", domain: "192.0.2.1", want: hop("192.0.2.1", "192.0.2.1", 25), noDNS: true},
		{name: "tagged v6", domain: "[IPv6:2001:db8::1]", want: hop("[IPv6:2001:db8::1]", "2001:db8::1", 25), noDNS: true},
		{name: "tag case", domain: "[ipv6:2001:DB8::1]", want: hop("[ipv6:2001:DB8::1]", "2001:db8::1", 25), noDNS: true},
		{name: "untagged v6", domain: "[::1]", want: hop("[::1]", "::1", 25), noDNS: true},
		{name: "mapped v4", domain: "[IPv6:::ffff:192.0.2.9]", want: hop("[IPv6:::ffff:192.0.2.9]", "192.0.2.9", 25), noDNS: true},
		{name: "port", domain: "[192.0.2.1]", port: 2525, want: hop("[192.0.2.1]", "192.0.2.1", 2525), noDNS: true},
		{name: "literal is me", domain: "[127.0.0.1]", local: []string{"127.0.0.1"}, kind: KindLoop, noDNS: true},
		{name: "bare literal is me", domain: "0.0.0.0", local: []string{"0.0.0.0"}, kind: KindLoop, noDNS: true},
		{name: "literal not me", domain: "[192.0.2.1]", local: []string{"127.0.0.1"}, want: hop("[192.0.2.1]", "192.0.2.1", 25)},
		// Not literals: they go to DNS as names (and do not exist there).
		{name: "unclosed", domain: "[192.0.2.1", mx: nx, kind: KindNoHost},
		{name: "v4 tagged v6", domain: "[IPv6:192.0.2.1]", mx: nx, kind: KindNoHost},
		{name: "zone", domain: "[fe80::1%eth0]", mx: nx, kind: KindNoHost},
		{name: "name in brackets", domain: "[mail.example.test]", mx: nx, kind: KindNoHost},
		{name: "bare v6", domain: "2001:db8::1", mx: nx, kind: KindNoHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { t.Parallel(); runDomain(t, tt) })
	}
}

func TestDomainMX(t *testing.T) {
	t.Parallel()
	mx := func(auth bool, pairs ...any) map[string]mxAnswer {
		var mxs []dns.MX
		for i := 0; i < len(pairs); i += 2 {
			mxs = append(mxs, dns.MX{Pref: uint16(pairs[i].(int)), Host: pairs[i+1].(string)})
		}
		return map[string]mxAnswer{"example.test": {mxs: mxs, auth: auth}}
	}
	addrs := func(auth bool, ss ...string) ipAnswer { return ipAnswer{addrs: ips(ss...), auth: auth} }
	tests := []domainCase{
		{name: "nxdomain", domain: "example.test", mx: map[string]mxAnswer{"example.test": {err: errNX}}, kind: KindNoHost},
		{name: "mx temporary", domain: "example.test", mx: map[string]mxAnswer{"example.test": {err: errTemp}}, kind: KindTemporary},
		{name: "mx unknown error", domain: "example.test", mx: map[string]mxAnswer{}, kind: KindTemporary},
		{name: "null mx", domain: "example.test", mx: mx(true, 0, "."), kind: KindNullMX, noDNS: false},
		{name: "two null mx", domain: "example.test", mx: mx(true, 0, ".", 10, "."), kind: KindNullMX},
		{name: "null mx mixed", domain: "example.test", mx: mx(true, 0, ".", 10, "mx.example.test"),
			ip:   map[string]ipAnswer{"mx.example.test": addrs(true, "192.0.2.1")},
			want: []Hop{{Name: "mx.example.test", Pref: 10, Addrs: ips("192.0.2.1"), Port: 25, MXAuthentic: true, AddrAuthentic: true}}},
		{name: "sorted", domain: "example.test", mx: mx(false, 20, "b.test", 10, "a.test", 30, "c.test"),
			ip: map[string]ipAnswer{"a.test": addrs(true, "192.0.2.1"), "b.test": addrs(false, "192.0.2.2"), "c.test": addrs(true, "192.0.2.3")},
			want: []Hop{
				{Name: "a.test", Pref: 10, Addrs: ips("192.0.2.1"), Port: 25, AddrAuthentic: true},
				{Name: "b.test", Pref: 20, Addrs: ips("192.0.2.2"), Port: 25},
				{Name: "c.test", Pref: 30, Addrs: ips("192.0.2.3"), Port: 25, AddrAuthentic: true}}},
		{name: "ipv6 first and duplicates", domain: "example.test", port: 2525, mx: mx(true, 10, "a.test", 20, "b.test", 30, "c.test"),
			ip: map[string]ipAnswer{
				"a.test": addrs(true, "192.0.2.1", "2001:db8::1", "192.0.2.1", "::ffff:192.0.2.2", "2001:db8::2"),
				"b.test": addrs(true, "192.0.2.2", "192.0.2.3"),
				"c.test": addrs(true, "2001:db8::1")},
			want: []Hop{
				{Name: "a.test", Pref: 10, Addrs: ips("2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2"), Port: 2525, MXAuthentic: true, AddrAuthentic: true},
				{Name: "b.test", Pref: 20, Addrs: ips("192.0.2.3"), Port: 2525, MXAuthentic: true, AddrAuthentic: true}}},
		{name: "same host twice", domain: "example.test", mx: mx(true, 20, "A.test.", 10, "a.test"),
			ip:   map[string]ipAnswer{"a.test": addrs(true, "192.0.2.1")},
			want: []Hop{{Name: "a.test", Pref: 10, Addrs: ips("192.0.2.1"), Port: 25, MXAuthentic: true, AddrAuthentic: true}}},
		{name: "failing hosts skipped", domain: "example.test", mx: mx(true, 10, "a.test", 20, "b.test", 30, "c.test", 40, "d.test"),
			ip:   map[string]ipAnswer{"a.test": {err: errTemp}, "b.test": {err: errNX}, "c.test": addrs(true), "d.test": addrs(true, "192.0.2.4")},
			want: []Hop{{Name: "d.test", Pref: 40, Addrs: ips("192.0.2.4"), Port: 25, MXAuthentic: true, AddrAuthentic: true}}},
		{name: "all temporary", domain: "example.test", mx: mx(true, 10, "a.test", 20, "b.test"),
			ip: map[string]ipAnswer{"a.test": {err: errTemp}, "b.test": {err: errTemp}}, kind: KindTemporary},
		{name: "temporary and missing", domain: "example.test", mx: mx(true, 10, "a.test", 20, "b.test"),
			ip: map[string]ipAnswer{"a.test": {err: errNX}, "b.test": {err: errTemp}}, kind: KindTemporary},
		{name: "no address anywhere", domain: "example.test", mx: mx(true, 10, "a.test", 20, "b.test"),
			ip: map[string]ipAnswer{"a.test": {err: errNX}, "b.test": addrs(true)}, kind: KindNoAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { t.Parallel(); runDomain(t, tt) })
	}
}

func TestImplicitMX(t *testing.T) {
	t.Parallel()
	nodata := func(auth bool) map[string]mxAnswer { return map[string]mxAnswer{"example.test": {auth: auth}} }
	tests := []domainCase{
		{name: "authenticated", domain: "example.test", mx: nodata(true),
			ip:   map[string]ipAnswer{"example.test": {addrs: ips("192.0.2.1", "2001:db8::1"), auth: true}},
			want: []Hop{{Name: "example.test", Addrs: ips("2001:db8::1", "192.0.2.1"), Port: 25, MXAuthentic: true, AddrAuthentic: true}}},
		{name: "unauthenticated denial", domain: "example.test", mx: nodata(false),
			ip:   map[string]ipAnswer{"example.test": {addrs: ips("192.0.2.1"), auth: true}},
			want: []Hop{{Name: "example.test", Addrs: ips("192.0.2.1"), Port: 25, AddrAuthentic: true}}},
		{name: "nxdomain", domain: "example.test", mx: nodata(true), ip: map[string]ipAnswer{"example.test": {err: errNX}}, kind: KindNoHost},
		{name: "temporary", domain: "example.test", mx: nodata(true), ip: map[string]ipAnswer{"example.test": {err: errTemp}}, kind: KindTemporary},
		{name: "no address", domain: "example.test", mx: nodata(true), ip: map[string]ipAnswer{"example.test": {}}, kind: KindNoAddress},
		{name: "is me", domain: "example.test", mx: nodata(true), local: []string{"192.0.2.1"},
			ip: map[string]ipAnswer{"example.test": {addrs: ips("2001:db8::1", "192.0.2.1")}}, kind: KindLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { t.Parallel(); runDomain(t, tt) })
	}
}

func TestLoopCheck(t *testing.T) {
	t.Parallel()
	mxs := map[string]mxAnswer{"example.test": {mxs: []dns.MX{rec(10, "a.test"), rec(20, "b.test"), rec(30, "c.test")}}}
	ip := map[string]ipAnswer{
		"a.test": {addrs: ips("192.0.2.1")},
		"b.test": {addrs: ips("192.0.2.2", "2001:db8::2")},
		"c.test": {addrs: ips("192.0.2.3")},
	}
	onlyA := []Hop{{Name: "a.test", Pref: 10, Addrs: ips("192.0.2.1"), Port: 25}}
	aFails := map[string]ipAnswer{"a.test": {err: errTemp}, "b.test": ip["b.test"], "c.test": ip["c.test"]}
	cFails := map[string]ipAnswer{"a.test": ip["a.test"], "b.test": ip["b.test"], "c.test": {err: errTemp}}
	equal := map[string]mxAnswer{"example.test": {mxs: []dns.MX{rec(10, "a.test"), rec(10, "b.test"), rec(30, "c.test")}}}
	tests := []domainCase{
		{name: "second is me", domain: "example.test", mx: mxs, ip: ip, local: []string{"2001:db8::2"}, want: onlyA},
		{name: "best is me", domain: "example.test", mx: mxs, ip: ip, local: []string{"192.0.2.1"}, kind: KindLoop},
		{name: "last is me", domain: "example.test", mx: mxs, ip: ip, local: []string{"192.0.2.3"},
			want: []Hop{onlyA[0], {Name: "b.test", Pref: 20, Addrs: ips("2001:db8::2", "192.0.2.2"), Port: 25}}},
		{name: "not me", domain: "example.test", mx: mxs, ip: ip, local: []string{"192.0.2.99"},
			want: []Hop{onlyA[0], {Name: "b.test", Pref: 20, Addrs: ips("2001:db8::2", "192.0.2.2"), Port: 25}, {Name: "c.test", Pref: 30, Addrs: ips("192.0.2.3"), Port: 25}}},
		{name: "equal to me is dropped", domain: "example.test", mx: equal, ip: ip, local: []string{"192.0.2.2"}, kind: KindLoop},
		{name: "better host failed", domain: "example.test", mx: mxs, ip: aFails, local: []string{"192.0.2.2"}, kind: KindTemporary},
		{name: "worse host failed", domain: "example.test", mx: mxs, ip: cFails, local: []string{"192.0.2.1"}, kind: KindLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { t.Parallel(); runDomain(t, tt) })
	}
}

func TestHostCap(t *testing.T) {
	t.Parallel()
	f := &fakeDNS{mx: map[string]mxAnswer{}, ip: map[string]ipAnswer{}}
	var mxs []dns.MX
	for i := 20; i >= 1; i-- {
		host := fmt.Sprintf("mx%d.example.test", i)
		mxs = append(mxs, dns.MX{Host: host, Pref: uint16(i)})
		f.ip[host] = ipAnswer{addrs: ips(fmt.Sprintf("192.0.2.%d", i))}
	}
	f.mx["example.test"] = mxAnswer{mxs: mxs}
	plan, err := (&Planner{Resolver: f}).Domain(context.Background(), "example.test")
	if err != nil {
		t.Fatal(err)
	}
	var prefs []int
	for _, h := range plan.Hops {
		prefs = append(prefs, h.Pref)
	}
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}; !slices.Equal(prefs, want) {
		t.Errorf("preferences = %v, want %v", prefs, want)
	}
	if n := len(f.Calls()); n != 1+16 {
		t.Errorf("%d lookups, want 17 (MX and 16 hosts): %v", n, f.Calls())
	}
}

// TestEqualPreferenceIsRandom checks that hosts of equal preference come in random order, and
// that order among preferences is kept. Each of 4 hosts is first with probability 1/4; being
// first fewer than 50 times in 400 runs has a probability below 1e-9.
func TestEqualPreferenceIsRandom(t *testing.T) {
	t.Parallel()
	f := &fakeDNS{
		mx: map[string]mxAnswer{"example.test": {mxs: []dns.MX{rec(10, "w.test"), rec(10, "x.test"), rec(20, "last.test"), rec(10, "y.test"), rec(10, "z.test")}}},
		ip: map[string]ipAnswer{
			"w.test": {addrs: ips("192.0.2.1")}, "x.test": {addrs: ips("192.0.2.2")}, "y.test": {addrs: ips("192.0.2.3")},
			"z.test": {addrs: ips("192.0.2.4")}, "last.test": {addrs: ips("192.0.2.5")},
		},
	}
	p := &Planner{Resolver: f}
	first := map[string]int{}
	for range 400 {
		plan, err := p.Domain(context.Background(), "example.test")
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Hops) != 5 || plan.Hops[4].Name != "last.test" {
			t.Fatalf("hops %+v; want 5 with last.test last", plan.Hops)
		}
		first[plan.Hops[0].Name]++
	}
	for _, h := range []string{"w.test", "x.test", "y.test", "z.test"} {
		if first[h] < 50 {
			t.Errorf("%s came first %d times in 400: %v", h, first[h], first)
		}
	}
}

func TestRelay(t *testing.T) {
	t.Parallel()
	f := &fakeDNS{ip: map[string]ipAnswer{
		"relay.test": {addrs: ips("192.0.2.1", "2001:db8::1"), auth: true},
		"gone.test":  {err: errNX},
		"flaky.test": {err: errTemp},
		"empty.test": {auth: true},
		"local.test": {addrs: ips("127.0.0.1")},
	}}
	p := &Planner{Resolver: f, Port: 2525, IsLocal: localSet("127.0.0.1", "192.0.2.7")}
	tests := []struct {
		relay string
		addr  string
		port  uint16
		want  *Hop      // nil: error
		kind  ErrorKind // with want == nil
	}{
		{"smtp.test", "192.0.2.7", 26, &Hop{Name: "smtp.test", Addrs: ips("192.0.2.7"), Port: 26}, 0},
		{"[192.0.2.8]", "", 25, &Hop{Name: "[192.0.2.8]", Addrs: ips("192.0.2.8"), Port: 25}, 0},
		{"192.0.2.8", "", 0, &Hop{Name: "192.0.2.8", Addrs: ips("192.0.2.8"), Port: 0}, 0},
		{"relay.test", "", 587, &Hop{Name: "relay.test", Addrs: ips("2001:db8::1", "192.0.2.1"), Port: 587, AddrAuthentic: true}, 0},
		{"local.test", "", 25, &Hop{Name: "local.test", Addrs: ips("127.0.0.1"), Port: 25}, 0}, // no loop check
		{"gone.test", "", 25, nil, KindNoHost},
		{"flaky.test", "", 25, nil, KindTemporary},
		{"empty.test", "", 25, nil, KindNoAddress},
	}
	for _, tt := range tests {
		var addr netip.Addr
		if tt.addr != "" {
			addr = netip.MustParseAddr(tt.addr)
		}
		plan, err := p.Relay(context.Background(), tt.relay, addr, tt.port)
		if tt.want == nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != tt.kind || e.Name != tt.relay {
				t.Errorf("Relay(%q) = %+v, %v; want %v about %q", tt.relay, plan, err, tt.kind, tt.relay)
			}
			continue
		}
		if err != nil || plan.Domain != tt.relay || !reflect.DeepEqual(plan.Hops, []Hop{*tt.want}) {
			t.Errorf("Relay(%q) = %+v, %v; want hop %+v", tt.relay, plan, err, *tt.want)
		}
	}
	if calls := f.Calls(); len(calls) != 5 || slices.ContainsFunc(calls, func(c string) bool { return c[:2] == "MX" }) {
		t.Errorf("lookups %v; want one address lookup per relay name and no MX", calls)
	}
}

func TestNoResolver(t *testing.T) {
	t.Parallel()
	p := &Planner{}
	if plan, err := p.Domain(context.Background(), "[192.0.2.1]"); err != nil || len(plan.Hops) != 1 {
		t.Errorf("literal without a resolver: %+v, %v", plan, err)
	}
	_, err := p.Domain(context.Background(), "example.test")
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindTemporary {
		t.Errorf("Domain without a resolver: %v; want KindTemporary", err)
	}
	if _, err := p.Relay(context.Background(), "relay.test", netip.Addr{}, 25); !errors.As(err, &e) || e.Kind != KindTemporary {
		t.Errorf("Relay without a resolver: %v; want KindTemporary", err)
	}
}

func TestError(t *testing.T) {
	t.Parallel()
	kinds := []struct {
		kind ErrorKind
		temp bool
		text string
	}{
		{KindTemporary, true, "temporary lookup failure"},
		{KindNoHost, false, "no such host"},
		{KindNoAddress, false, "no mail exchanger or address"},
		{KindLoop, false, "this machine is the best mail exchanger"},
		{KindNullMX, false, "null mx: the domain accepts no mail"},
		{ErrorKind(99), false, "unknown routing failure"},
	}
	for _, k := range kinds {
		e := &Error{Kind: k.kind, Name: "example.test"}
		if e.Temporary() != k.temp || k.kind.String() != k.text || e.Error() != "route: example.test: "+k.text {
			t.Errorf("kind %d: Temporary %v, String %q, Error %q", k.kind, e.Temporary(), k.kind.String(), e.Error())
		}
	}
	e := &Error{Kind: KindNoHost, Name: "example.test", Err: errNX}
	if !errors.Is(e, dns.ErrNotFound) || e.Error() != "route: example.test: no such host: fake: dns: no such domain" {
		t.Errorf("Error with cause: %q, unwraps to ErrNotFound: %v", e.Error(), errors.Is(e, dns.ErrNotFound))
	}
}

func TestCapAddrs(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want []netip.Addr }{
		{ips("2001:db8::1", "192.0.2.1"), ips("2001:db8::1", "192.0.2.1")},
		{ips("2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5", "2001:db8::6"),
			ips("2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5")},
		// Both families: IPv6 first, but one IPv4 address keeps its place.
		{ips("2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5", "192.0.2.1", "192.0.2.2"),
			ips("2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "192.0.2.1")},
		{ips("2001:db8::1", "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"),
			ips("2001:db8::1", "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4")},
		{ips("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"),
			ips("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5")},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.in)
		if got := capAddrs(in); !slices.Equal(got, tt.want) || !slices.Equal(in, tt.in) {
			t.Errorf("capAddrs(%v) = %v (input now %v); want %v", tt.in, got, in, tt.want)
		}
	}
}

// TestIgnoreMXLookupError: a temporary MX failure falls back to the domain's own addresses only
// when asked; NXDOMAIN stays a permanent "no such host" either way.
func TestIgnoreMXLookupError(t *testing.T) {
	t.Parallel()
	f := &fakeDNS{
		mx: map[string]mxAnswer{"example.test": {err: errTemp}, "nx.test": {err: errNX}},
		ip: map[string]ipAnswer{"example.test": {addrs: ips("192.0.2.1")}},
	}
	strict := &Planner{Resolver: f}
	if _, err := strict.Domain(context.Background(), "example.test"); !isKind(err, KindTemporary) {
		t.Errorf("without the option: %v; want a temporary failure", err)
	}
	lax := &Planner{Resolver: f, IgnoreMXLookupError: true}
	plan, err := lax.Domain(context.Background(), "example.test")
	if err != nil || len(plan.Hops) != 1 || plan.Hops[0].Name != "example.test" || plan.Hops[0].MXAuthentic {
		t.Errorf("with the option: %+v, %v; want the implicit MX example.test, not authenticated", plan, err)
	}
	if _, err := lax.Domain(context.Background(), "nx.test"); !isKind(err, KindNoHost) {
		t.Errorf("NXDOMAIN with the option: %v; want no such host", err)
	}
}

func isKind(err error, k ErrorKind) bool {
	var re *Error
	return errors.As(err, &re) && re.Kind == k
}
