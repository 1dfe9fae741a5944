package route

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/dns/dnstest"
)

// TestPlannerOverResolver runs a Planner over the real dns.Resolver and an in-process server:
// an MX host reached through a CNAME that the server does not follow, and the AD bits of each
// answer carried into the hops.
func TestPlannerOverResolver(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{
		"example.test. MX": {AD: true, Answer: []string{
			"example.test. 300 IN MX 20 backup.example.test.",
			"example.test. 300 IN MX 10 mx.example.test."}},
		"mx.example.test. A":        {AD: true, Answer: []string{"mx.example.test. 300 IN CNAME real.example.test."}},
		"mx.example.test. AAAA":     {AD: true, Answer: []string{"mx.example.test. 300 IN CNAME real.example.test."}},
		"real.example.test. A":      {AD: true, Answer: []string{"real.example.test. 300 IN A 192.0.2.10"}},
		"real.example.test. AAAA":   {AD: true, Answer: []string{"real.example.test. 300 IN AAAA 2001:db8::10"}},
		"backup.example.test. A":    {Answer: []string{"backup.example.test. 300 IN A 192.0.2.20"}},
		"backup.example.test. AAAA": {AD: true},
		"nx.test. MX":               {Rcode: 3},
		"implicit.test. MX":         {},
		"implicit.test. A":          {Answer: []string{"implicit.test. 300 IN A 192.0.2.30"}},
		"implicit.test. AAAA":       {},
	})
	r := &dns.Resolver{Servers: []string{srv.Addr()}, Timeout: 2 * time.Second, Attempts: 1}
	p := &Planner{Resolver: r, Port: 2525}
	plan, err := p.Domain(context.Background(), "example.test")
	if err != nil {
		t.Fatal(err)
	}
	want := []Hop{
		{Name: "mx.example.test", Pref: 10, Addrs: ips("2001:db8::10", "192.0.2.10"), Port: 2525, Canonical: "real.example.test", MXAuthentic: true, AddrAuthentic: true},
		{Name: "backup.example.test", Pref: 20, Addrs: ips("192.0.2.20"), Port: 2525, MXAuthentic: true, AddrAuthentic: false},
	}
	if !reflect.DeepEqual(plan.Hops, want) {
		t.Errorf("hops = %+v\nwant %+v", plan.Hops, want)
	}

	plan, err = p.Domain(context.Background(), "implicit.test")
	want = []Hop{{Name: "implicit.test", Addrs: ips("192.0.2.30"), Port: 2525}}
	if err != nil || !reflect.DeepEqual(plan.Hops, want) {
		t.Errorf("implicit MX: %+v, %v; want %+v", plan, err, want)
	}

	_, err = p.Domain(context.Background(), "nx.test")
	if e, ok := err.(*Error); !ok || e.Kind != KindNoHost || e.Name != "nx.test" {
		t.Errorf("nx.test: %v; want KindNoHost", err)
	}
}

// TestAddressCapOverResolver: a host with 2,000 A records (a 32 KB answer, fetched over TCP)
// gets 5 addresses in the plan, not 2,000 connection attempts; the loop check still sees them
// all, so this machine's address at the end of the answer makes the delivery fail (#5.4.6).
func TestAddressCapOverResolver(t *testing.T) {
	t.Parallel()
	var many []string
	for i := range 2000 {
		many = append(many, fmt.Sprintf("mx.many.test. 300 IN A 10.%d.%d.1", i/250, i%250))
	}
	zone := dnstest.Zone{
		"many.test. MX":      {AD: true, Answer: []string{"many.test. 300 IN MX 10 mx.many.test."}},
		"mx.many.test. A":    {AD: true, Answer: many},
		"mx.many.test. AAAA": {AD: true},
	}
	r := &dns.Resolver{Servers: []string{dnstest.Start(t, zone).Addr()}, Timeout: 5 * time.Second, Attempts: 1}
	plan, err := (&Planner{Resolver: r}).Domain(context.Background(), "many.test")
	if err != nil {
		t.Fatal(err)
	}
	want := ips("10.0.0.1", "10.0.1.1", "10.0.2.1", "10.0.3.1", "10.0.4.1")
	if len(plan.Hops) != 1 || !reflect.DeepEqual(plan.Hops[0].Addrs, want) {
		t.Errorf("%d hops, the first with %d addresses; want one hop with addresses %v", len(plan.Hops), len(plan.Hops[0].Addrs), want)
	}
	last := netip.MustParseAddr("10.7.249.1") // the 2,000th record
	_, err = (&Planner{Resolver: r, IsLocal: func(a netip.Addr) bool { return a == last }}).Domain(context.Background(), "many.test")
	if e, ok := err.(*Error); !ok || e.Kind != KindLoop {
		t.Errorf("this machine as the last of 2,000 addresses: %v; want KindLoop", err)
	}
}

// TestLoopBeforeHostCapOverResolver: 20 MX of equal preference, one of them this machine. The
// loop check must see all 20 before the plan is cut to 16, or a shuffle that leaves this
// machine out delivers to a peer (before the fix: about 6 runs in 20).
func TestLoopBeforeHostCapOverResolver(t *testing.T) {
	t.Parallel()
	zone := dnstest.Zone{"equal.test. MX": {AD: true}}
	mx := zone["equal.test. MX"]
	for i := range 20 {
		host := fmt.Sprintf("mx%d.equal.test.", i)
		mx.Answer = append(mx.Answer, "equal.test. 300 IN MX 10 "+host)
		zone[host+" A"] = dnstest.Reply{AD: true, Answer: []string{fmt.Sprintf("%s 300 IN A 192.0.2.%d", host, i+1)}}
		zone[host+" AAAA"] = dnstest.Reply{AD: true}
	}
	zone["equal.test. MX"] = mx
	r := &dns.Resolver{Servers: []string{dnstest.Start(t, zone).Addr()}, Timeout: 5 * time.Second, Attempts: 1}
	p := &Planner{Resolver: r, IsLocal: localSet("192.0.2.20")}
	for run := range 40 {
		plan, err := p.Domain(context.Background(), "equal.test")
		if e, ok := err.(*Error); !ok || e.Kind != KindLoop {
			t.Fatalf("run %d: %+v, %v; want KindLoop", run, plan, err)
		}
	}
}
