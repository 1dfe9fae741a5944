package route

import (
	"context"
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
		{Name: "mx.example.test", Pref: 10, Addrs: ips("2001:db8::10", "192.0.2.10"), Port: 2525, MXAuthentic: true, AddrAuthentic: true},
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
