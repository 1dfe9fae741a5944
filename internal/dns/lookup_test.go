package dns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/mxout/mxout/internal/dns/dnstest"
)

// resolverFor returns a Resolver that asks only srv, quickly.
func resolverFor(srv *dnstest.Server) *Resolver {
	return &Resolver{Servers: []string{srv.Addr()}, Timeout: 2 * time.Second, Attempts: 1}
}

// kind names the class of err for table tests: "ok", "notfound" or "temporary".
func kind(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return "ok"
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *dns.Error", err, err)
	}
	switch {
	case errors.Is(err, ErrNotFound) && !errors.Is(err, ErrTemporary):
		return "notfound"
	case errors.Is(err, ErrTemporary) && !errors.Is(err, ErrNotFound):
		return "temporary"
	}
	t.Fatalf("error %v wraps neither or both sentinels", err)
	return ""
}

// check compares the outcome of one lookup with a table row's expectation.
func check[T any](t *testing.T, call string, got T, res Result, err error, want T, auth bool, result string) {
	t.Helper()
	if k := kind(t, err); k != result {
		t.Fatalf("%s error %v, want %s", call, err, result)
	}
	if !reflect.DeepEqual(got, want) || res.Authentic != auth {
		t.Errorf("%s = %#v, %+v; want %#v, Authentic %v", call, got, res, want, auth)
	}
}

func TestLookupMX(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{
		"signed.test. MX":   {AD: true, Answer: []string{"signed.test. 300 IN MX 10 mx1.signed.test.", "signed.test. 300 IN MX 20 MX2.Signed.Test."}},
		"unsigned.test. MX": {Answer: []string{"unsigned.test. 300 IN MX 5 mx.unsigned.test."}},
		"null.test. MX":     {AD: true, Answer: []string{"null.test. 300 IN MX 0 ."}},
		"nodata.test. MX":   {AD: true},
		"nodata-u.test. MX": {},
		"nx.test. MX":       {Rcode: mdns.RcodeNameError, AD: true},
		"nx-u.test. MX":     {Rcode: mdns.RcodeNameError},
		"fail.test. MX":     {Rcode: mdns.RcodeServerFailure},
		"refused.test. MX":  {Rcode: mdns.RcodeRefused},
		"notimp.test. MX":   {Rcode: mdns.RcodeNotImplemented},
		"other.test. MX":    {Answer: []string{"other.test. 300 IN A 192.0.2.1", "elsewhere.test. 300 IN MX 1 x.test."}},
	})
	r := resolverFor(srv)
	tests := []struct {
		name   string
		want   []MX
		auth   bool
		result string
	}{
		{"signed.test", []MX{{"mx1.signed.test", 10}, {"MX2.Signed.Test", 20}}, true, "ok"},
		{"signed.test.", []MX{{"mx1.signed.test", 10}, {"MX2.Signed.Test", 20}}, true, "ok"},
		{"SIGNED.Test", []MX{{"mx1.signed.test", 10}, {"MX2.Signed.Test", 20}}, true, "ok"},
		{"unsigned.test", []MX{{"mx.unsigned.test", 5}}, false, "ok"},
		{"null.test", []MX{{".", 0}}, true, "ok"},
		{"nodata.test", []MX{}, true, "ok"},
		{"nodata-u.test", []MX{}, false, "ok"},
		{"other.test", []MX{}, false, "ok"}, // records of other types or owners are ignored
		{"nx.test", nil, true, "notfound"},
		{"nx-u.test", nil, false, "notfound"},
		{"fail.test", nil, false, "temporary"},
		{"refused.test", nil, false, "temporary"},
		{"notimp.test", nil, false, "temporary"},
		{"missing.test", nil, false, "temporary"}, // the fake server refuses it
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, res, err := r.LookupMX(context.Background(), tt.name)
			check(t, "LookupMX("+tt.name+")", got, res, err, tt.want, tt.auth, tt.result)
		})
	}
}

func TestQueryFlags(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{"flags.test. MX": {}})
	if _, _, err := resolverFor(srv).LookupMX(context.Background(), "flags.test"); err != nil {
		t.Fatal(err)
	}
	want := []dnstest.Query{{Key: "flags.test. MX", Net: "udp", RD: true, AD: true, DO: true, UDPSize: 1232}}
	if got := srv.Queries(); !reflect.DeepEqual(got, want) {
		t.Errorf("queries = %+v, want %+v", got, want)
	}
}

func TestCNAME(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{
		// The server follows the chain itself.
		"followed.test. A": {AD: true, Answer: []string{
			"followed.test. 60 IN CNAME mid.test.", "mid.test. 60 IN CNAME END.test.", "end.test. 60 IN A 192.0.2.7"}},
		// The server stops at the first CNAME; the rest is asked for.
		"partial.test. A": {AD: true, Answer: []string{"partial.test. 60 IN CNAME hop.test."}},
		"hop.test. A":     {AD: true, Answer: []string{"hop.test. 60 IN A 192.0.2.8"}},
		// Same, but the second answer is not authenticated.
		"mixed.test. A":    {AD: true, Answer: []string{"mixed.test. 60 IN CNAME unsigned.test."}},
		"unsigned.test. A": {Answer: []string{"unsigned.test. 60 IN A 192.0.2.9"}},
		// Records on the chain's start are not the answer when a CNAME is there too.
		"decoy.test. A": {AD: true, Answer: []string{"decoy.test. 60 IN CNAME hop.test.", "other.test. 60 IN A 192.0.2.66"}},
		// A chain that ends in NODATA (asked again) and one that ends in NXDOMAIN.
		"tonodata.test. A": {AD: true, Answer: []string{"tonodata.test. 60 IN CNAME nodata.test."}},
		"nodata.test. A":   {AD: true},
		"tonx.test. A":     {Rcode: mdns.RcodeNameError, AD: true, Answer: []string{"tonx.test. 60 IN CNAME gone.test."}},
		// Loops, inside one answer and across queries.
		"loop1.test. A": {Answer: []string{"loop1.test. 60 IN CNAME loop2.test.", "loop2.test. 60 IN CNAME loop1.test."}},
		"ping.test. A":  {Answer: []string{"ping.test. 60 IN CNAME pong.test."}},
		"pong.test. A":  {Answer: []string{"pong.test. 60 IN CNAME ping.test."}},
		// A gone.test query would be refused, so NXDOMAIN must end the lookup without it.
		"gone.test. A": {Rcode: mdns.RcodeRefused},
	})
	// c0.test -> c1.test -> ... -> c9.test, one link per answer; c8 and c9 hold the address.
	zone9 := dnstest.Zone{}
	for i := range 9 {
		zone9[chainName(i)+" A"] = dnstest.Reply{AD: true, Answer: []string{chainName(i) + " 60 IN CNAME " + chainName(i+1)}}
	}
	zone9[chainName(9)+" A"] = dnstest.Reply{AD: true, Answer: []string{chainName(9) + " 60 IN A 192.0.2.99"}}
	long := dnstest.Start(t, zone9)

	tests := []struct {
		srv     *dnstest.Server
		name    string
		want    []netip.Addr
		auth    bool
		result  string
		queries int
	}{
		{srv, "followed.test", addrs("192.0.2.7"), true, "ok", 1},
		{srv, "partial.test", addrs("192.0.2.8"), true, "ok", 2},
		{srv, "mixed.test", addrs("192.0.2.9"), false, "ok", 2},
		{srv, "decoy.test", addrs("192.0.2.8"), true, "ok", 2},
		{srv, "tonodata.test", []netip.Addr{}, true, "ok", 2},
		{srv, "tonx.test", nil, true, "notfound", 1},
		{srv, "loop1.test", nil, false, "temporary", 1},
		{srv, "ping.test", nil, false, "temporary", 2},
		{long, chainName(1), addrs("192.0.2.99"), true, "ok", 9}, // 8 links: the limit
		{long, chainName(0), nil, false, "temporary", 9},         // 9 links: too long
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.srv.Queries())
			rrs, res, err := resolverFor(tt.srv).resolve(context.Background(), tt.name, mdns.TypeA)
			got := appendAddrs(nil, rrs)
			if rrs != nil && got == nil {
				got = []netip.Addr{} // NODATA
			}
			check(t, "resolve("+tt.name+")", got, res, err, tt.want, tt.auth, tt.result)
			if n := len(tt.srv.Queries()) - before; n != tt.queries {
				t.Errorf("resolve(%q) sent %d queries, want %d", tt.name, n, tt.queries)
			}
		})
	}
}

func chainName(i int) string { return "c" + string(rune('0'+i)) + ".test." }

func addrs(ss ...string) []netip.Addr {
	out := []netip.Addr{}
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestLookupIP(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{
		"dual.test. A":        {AD: true, Answer: []string{"dual.test. 60 IN A 192.0.2.1", "dual.test. 60 IN A 192.0.2.2"}},
		"dual.test. AAAA":     {AD: true, Answer: []string{"dual.test. 60 IN AAAA 2001:db8::1"}},
		"halfsig.test. A":     {AD: true, Answer: []string{"halfsig.test. 60 IN A 192.0.2.1"}},
		"halfsig.test. AAAA":  {Answer: []string{"halfsig.test. 60 IN AAAA 2001:db8::1"}},
		"v4.test. A":          {AD: true, Answer: []string{"v4.test. 60 IN A 192.0.2.3"}},
		"v4.test. AAAA":       {AD: true},
		"v6fail.test. A":      {Answer: []string{"v6fail.test. 60 IN A 192.0.2.4"}},
		"v6fail.test. AAAA":   {Rcode: mdns.RcodeServerFailure},
		"none.test. A":        {AD: true},
		"none.test. AAAA":     {AD: true},
		"nx.test. A":          {Rcode: mdns.RcodeNameError, AD: true},
		"nx.test. AAAA":       {Rcode: mdns.RcodeNameError, AD: true},
		"nxfail.test. A":      {Rcode: mdns.RcodeNameError},
		"nxfail.test. AAAA":   {Rcode: mdns.RcodeServerFailure},
		"nxnodata.test. A":    {Rcode: mdns.RcodeNameError},
		"nxnodata.test. AAAA": {},
	})
	r := resolverFor(srv)
	tests := []struct {
		name   string
		want   []netip.Addr
		auth   bool
		result string
	}{
		{"dual.test", addrs("2001:db8::1", "192.0.2.1", "192.0.2.2"), true, "ok"},
		{"halfsig.test", addrs("2001:db8::1", "192.0.2.1"), false, "ok"},
		{"v4.test", addrs("192.0.2.3"), true, "ok"},
		{"v6fail.test", addrs("192.0.2.4"), false, "ok"},
		{"none.test", []netip.Addr{}, true, "ok"},
		{"nx.test", nil, true, "notfound"},
		{"nxfail.test", nil, false, "temporary"},
		{"nxnodata.test", nil, false, "notfound"},
		{"bad..name.test", nil, false, "notfound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, res, err := r.LookupIP(context.Background(), tt.name)
			check(t, "LookupIP("+tt.name+")", got, res, err, tt.want, tt.auth, tt.result)
		})
	}
}

func TestLookupTLSA(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{
		"_25._tcp.mx.example.test. TLSA": {AD: true, Answer: []string{
			"_25._tcp.mx.example.test. 60 IN TLSA 3 1 1 0A0b0c0d",
			"_25._tcp.mx.example.test. 60 IN TLSA 2 0 0 ff"}},
		"_465._tcp.mx.example.test. TLSA": {Rcode: mdns.RcodeNameError, AD: true},
	})
	r := resolverFor(srv)
	got, res, err := r.LookupTLSA(context.Background(), 25, "mx.example.test.")
	want := []TLSA{{3, 1, 1, []byte{10, 11, 12, 13}}, {2, 0, 0, []byte{0xff}}}
	if err != nil || !res.Authentic || !reflect.DeepEqual(got, want) {
		t.Errorf("LookupTLSA(25) = %v, %+v, %v; want %v, authentic", got, res, err, want)
	}
	// An authenticated NXDOMAIN: DANE needs to know the denial was secure.
	_, res, err = r.LookupTLSA(context.Background(), 465, "mx.example.test")
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrNotFound) || !res.Authentic || e.Type != "TLSA" || e.Name != "_465._tcp.mx.example.test" {
		t.Errorf("LookupTLSA(465) = %+v, %v; want an authenticated ErrNotFound for _465._tcp.mx.example.test TLSA", res, err)
	}
}

// TestCanonicalName: LookupIP says where an alias leads (the expanded name DANE looks TLSA up
// at first, RFC 7672 §2.2.2), whether the server followed the chain or we did, and nothing for a
// name that is not an alias.
func TestCanonicalName(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{
		"alias.test. A":    {AD: true, Answer: []string{"alias.test. 60 IN CNAME mid.test.", "mid.test. 60 IN CNAME Real.Test.", "real.test. 60 IN A 192.0.2.7"}},
		"alias.test. AAAA": {AD: true, Answer: []string{"alias.test. 60 IN CNAME mid.test."}},
		"mid.test. AAAA":   {AD: true, Answer: []string{"mid.test. 60 IN CNAME real.test."}},
		"real.test. AAAA":  {AD: true},
		"plain.test. A":    {AD: true, Answer: []string{"plain.test. 60 IN A 192.0.2.8"}},
		"plain.test. AAAA": {AD: true},
		"split.test. A":    {AD: true, Answer: []string{"split.test. 60 IN CNAME one.test.", "one.test. 60 IN A 192.0.2.9"}},
		"split.test. AAAA": {AD: true, Answer: []string{"split.test. 60 IN CNAME two.test.", "two.test. 60 IN AAAA 2001:db8::9"}},
	})
	r := resolverFor(srv)
	for name, want := range map[string]string{"alias.test": "real.test", "plain.test": "", "split.test": ""} {
		_, res, err := r.LookupIP(context.Background(), name)
		if err != nil || res.Canonical != want || !res.Authentic {
			t.Errorf("LookupIP(%q) = %+v, %v; want Canonical %q, authentic", name, res, err, want)
		}
	}
}

// TestLookupTLSAInternationalName: the owner of an IDN host is built from its A-labels. IDNA
// refuses the '_' of "_25._tcp", so converting the whole owner failed, and that failure was an
// ErrNotFound that callers read as "no TLSA records": mail went out in clear.
func TestLookupTLSAInternationalName(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{
		"_25._tcp.mx.xn--bcher-kva.example. TLSA": {AD: true, Answer: []string{
			"_25._tcp.mx.xn--bcher-kva.example. 60 IN TLSA 3 1 1 0a0b"}},
	})
	r := resolverFor(srv)
	for _, host := range []string{"mx.bücher.example", "MX.BÜCHER.example.", "mx.xn--bcher-kva.example"} {
		got, res, err := r.LookupTLSA(context.Background(), 25, host)
		want := []TLSA{{3, 1, 1, []byte{10, 11}}}
		if err != nil || !res.Authentic || !reflect.DeepEqual(got, want) {
			t.Errorf("LookupTLSA(25, %q) = %v, %+v, %v; want %v, authentic", host, got, res, err, want)
		}
	}
	_, _, err := r.LookupTLSA(context.Background(), 25, "-bücher.example")
	if !errors.Is(err, ErrTemporary) || errors.Is(err, ErrNotFound) {
		t.Errorf("LookupTLSA of an IDN that IDNA refuses: %v; want ErrTemporary", err)
	}
}

func TestTruncatedAnswerUsesTCP(t *testing.T) {
	t.Parallel()
	var big []string
	for i := range 120 { // about 120*16 bytes: more than 1232
		big = append(big, "big.test. 60 IN A 192.0.2."+itoa(i+1))
	}
	srv := dnstest.Start(t, dnstest.Zone{
		"flag.test. MX": {AD: true, Truncate: true, Answer: []string{"flag.test. 60 IN MX 1 mx.flag.test."}},
		"big.test. A":   {AD: true, Answer: big},
	})
	r := resolverFor(srv)
	mxs, res, err := r.LookupMX(context.Background(), "flag.test")
	if err != nil || !res.Authentic || !reflect.DeepEqual(mxs, []MX{{"mx.flag.test", 1}}) {
		t.Errorf("LookupMX(flag.test) = %v, %+v, %v", mxs, res, err)
	}
	rrs, _, err := r.resolve(context.Background(), "big.test", mdns.TypeA)
	if err != nil || len(rrs) != 120 {
		t.Errorf("resolve(big.test) = %d records, %v; want 120", len(rrs), err)
	}
	var nets []string
	for _, q := range srv.Queries() {
		nets = append(nets, q.Net)
	}
	if want := []string{"udp", "tcp", "udp", "tcp"}; !slices.Equal(nets, want) {
		t.Errorf("transports = %v, want %v", nets, want)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// deadAddr returns a loopback UDP address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func TestServerFailover(t *testing.T) {
	t.Parallel()
	good := dnstest.Start(t, dnstest.Zone{"a.test. MX": {AD: true, Answer: []string{"a.test. 60 IN MX 1 mx.a.test."}}})
	failing := dnstest.Start(t, dnstest.Zone{"a.test. MX": {Rcode: mdns.RcodeServerFailure}})
	silent := dnstest.Start(t, dnstest.Zone{"a.test. MX": {Drop: true}})
	tests := []struct {
		name    string
		servers []string
	}{
		{"dead first", []string{deadAddr(t), good.Addr()}},
		{"servfail first", []string{failing.Addr(), good.Addr()}},
		{"silent first", []string{silent.Addr(), good.Addr()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &Resolver{Servers: tt.servers, Timeout: 200 * time.Millisecond, Attempts: 1}
			mxs, res, err := r.LookupMX(context.Background(), "a.test")
			if err != nil || !res.Authentic || len(mxs) != 1 {
				t.Errorf("LookupMX = %v, %+v, %v; want the second server's answer", mxs, res, err)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	silent := dnstest.Start(t, dnstest.Zone{"slow.test. MX": {Drop: true}})
	t.Run("attempts", func(t *testing.T) {
		t.Parallel()
		r := &Resolver{Servers: []string{silent.Addr(), silent.Addr()}, Timeout: 100 * time.Millisecond, Attempts: 2}
		start := time.Now()
		_, res, err := r.LookupMX(context.Background(), "slow.test")
		if kind(t, err) != "temporary" || res.Authentic {
			t.Errorf("LookupMX = %+v, %v; want a temporary failure", res, err)
		}
		if d := time.Since(start); d < 350*time.Millisecond || d > 3*time.Second {
			t.Errorf("took %v; want about 4 attempts of 100ms", d)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		r := &Resolver{Servers: []string{silent.Addr()}, Timeout: 10 * time.Second, Attempts: 3}
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := r.LookupMX(ctx, "slow.test")
		if kind(t, err) != "temporary" {
			t.Errorf("LookupMX = %v; want a temporary failure", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v; the context allowed 150ms", d)
		}
	})
	t.Run("no servers", func(t *testing.T) {
		t.Parallel()
		_, _, err := (&Resolver{}).LookupMX(context.Background(), "slow.test")
		if kind(t, err) != "temporary" {
			t.Errorf("LookupMX = %v; want a temporary failure", err)
		}
	})
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{"fail.test. MX": {Rcode: mdns.RcodeServerFailure}})
	_, _, err := resolverFor(srv).LookupMX(context.Background(), "fail.test")
	want := "dns: lookup fail.test MX: temporary failure: " + srv.Addr() + ": server answered SERVFAIL"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}
