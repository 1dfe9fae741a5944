package check

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/mtasts"
	"github.com/mxout/mxout/internal/smtptest"
)

// TestDANEValid: the first MX refuses connections, the second presents a certificate its
// DANE-EE record matches; check says so for each, and that the delivery would go to the second.
func TestDANEValid(t *testing.T) {
	t.Parallel()
	cert := smtptest.NewCert(t, "mx2.example.test")
	srv := smtptest.StartOpts(t, smtptest.Options{TLS: serverTLS(cert)}, tlsSession, tlsSession)
	f := &fakeDNS{
		mx: map[string][]dns.MX{"example.test": {{Host: "mx2.example.test", Pref: 20}, {Host: "mx1.example.test", Pref: 10}}},
		ip: map[string][]netip.Addr{"mx1.example.test": addrs("192.0.2.1"), "mx2.example.test": addrs("192.0.2.2")},
		tlsa: map[string][]dns.TLSA{
			"_25._tcp.mx1.example.test": {leafTLSA(cert)},
			"_25._tcp.mx2.example.test": {leafTLSA(cert), {Usage: 0, Selector: 0, MatchingType: 1, Data: []byte{1}}},
		},
	}
	d := &dialer{to: map[string]string{"192.0.2.2:25": srv.Addr()}}
	rep := Run(context.Background(), "example.test", options(f, d, cert))

	if rep.Domain != "example.test" || rep.Port != 25 || rep.CheckedAt.IsZero() || rep.MTASTS != nil {
		t.Errorf("header: domain %q port %d at %v mta_sts %v", rep.Domain, rep.Port, rep.CheckedAt, rep.MTASTS)
	}
	if rep.MX.DNSSEC != Secure || rep.MX.NullMX || rep.MX.ImplicitMX || len(rep.MX.Records) != 2 || rep.MX.Error != "" {
		t.Errorf("mx = %+v; want two secure records", rep.MX)
	}
	if len(rep.Hosts) != 2 || rep.Hosts[0].Name != "mx1.example.test" || rep.Hosts[1].Name != "mx2.example.test" {
		t.Fatalf("hosts = %+v; want mx1 then mx2", rep.Hosts)
	}
	h1, h2 := rep.Hosts[0], rep.Hosts[1]
	if !h1.Planned || h1.DNSSEC != Secure || h1.Policy.Name != "dane" || h1.Policy.Port != 25 {
		t.Errorf("mx1 = %+v, policy %+v", h1, h1.Policy)
	}
	a1 := h1.Addresses[0]
	if a1.Address != "192.0.2.1" || !strings.HasPrefix(a1.Error, "connect: ") || a1.STARTTLS != nil ||
		a1.Verdict.Action != Defer || a1.Verdict.DSN == "" || a1.Verdict.Reason == "" {
		t.Errorf("mx1 address = %+v; want a refused connection and a deferral", a1)
	}

	if h2.TLSA == nil || !h2.TLSA.Used || h2.TLSA.DNSSEC != Secure || h2.TLSA.Name != "_25._tcp.mx2.example.test" ||
		len(h2.TLSA.Records) != 2 || !h2.TLSA.Records[0].Usable || h2.TLSA.Records[1].Usable || h2.TLSA.Note != "" {
		t.Errorf("mx2 tlsa = %+v", h2.TLSA)
	}
	if p := h2.Policy; p.Name != "dane" || p.Require != "dane-ee" || p.Rule != "tlsa" || p.Error != "" {
		t.Errorf("mx2 policy = %+v", p)
	}
	a := h2.Addresses[0]
	if a.Greeting != "220 mx.example.test ESMTP" || !slices.Equal(a.Extensions, []string{"PIPELINING", "SIZE 1000000", "STARTTLS"}) ||
		!slices.Equal(a.TLSExts, []string{"PIPELINING", "SIZE 1000000"}) || a.Error != "" {
		t.Errorf("mx2 session facts = %+v", a)
	}
	tl := a.STARTTLS
	if tl == nil || !tl.Offered || tl.Version == "" || tl.Cipher == "" || len(tl.Chain) != 2 || !tl.NameMatches || !tl.CATrusted {
		t.Fatalf("mx2 starttls = %+v", tl)
	}
	leaf := tl.Chain[0]
	if leaf.Subject != "CN=mx2.example.test" || !slices.Equal(leaf.DNSNames, []string{"mx2.example.test"}) ||
		leaf.DaysLeft < 0 || leaf.DaysLeft > 1 || len(leaf.SPKISHA256) != 64 || leaf.NotAfter.Before(leaf.NotBefore) {
		t.Errorf("leaf = %+v", leaf)
	}
	if tl.DANE == nil || !tl.DANE.Matched || tl.DANE.Method != "DANE-EE" || tl.DANE.Depth != 0 ||
		!strings.HasPrefix(tl.DANE.Record, "3 1 1 "+leaf.SPKISHA256[:8]) {
		t.Errorf("dane = %+v", tl.DANE)
	}
	if v := a.Verdict; v.Action != Deliver || v.TLS != "dane-ee" || v.Version == "" || v.Reason != "" {
		t.Errorf("mx2 verdict = %+v", v)
	}
	v := rep.Verdict
	if v.Action != Deliver || v.Host != "mx2.example.test" || v.Address != "[192.0.2.2]:25" || v.Policy != "dane" ||
		!strings.Contains(v.Text, "DANE-verified TLS") {
		t.Errorf("verdict = %+v", v)
	}
	if got := d.attempts(); !slices.Equal(got, []string{"192.0.2.1:25", "192.0.2.1:25", "192.0.2.2:25", "192.0.2.2:25"}) {
		t.Errorf("dialled %v; want each address twice (probe, engine), in MX order", got)
	}
}

// TestDANEMismatch: usable TLSA records that match nothing. The probe still shows the
// certificate; the engine refuses it, and check says why.
func TestDANEMismatch(t *testing.T) {
	t.Parallel()
	cert := smtptest.NewCert(t, "mx-bad.example.test")
	srv := smtptest.StartOpts(t, smtptest.Options{TLS: serverTLS(cert)}, tlsSession, tlsRefusedByClient)
	f := &fakeDNS{
		mx:   map[string][]dns.MX{"dane-bad.example.test": {{Host: "mx-bad.example.test", Pref: 10}}},
		ip:   map[string][]netip.Addr{"mx-bad.example.test": addrs("192.0.2.3")},
		tlsa: map[string][]dns.TLSA{"_25._tcp.mx-bad.example.test": {{Usage: 3, Selector: 1, MatchingType: 1, Data: make([]byte, 32)}}},
	}
	d := &dialer{to: map[string]string{"192.0.2.3:25": srv.Addr()}}
	rep := Run(context.Background(), "dane-bad.example.test", options(f, d, cert))

	if len(rep.Hosts) != 1 || len(rep.Hosts[0].Addresses) != 1 {
		t.Fatalf("hosts = %+v", rep.Hosts)
	}
	a := rep.Hosts[0].Addresses[0]
	if a.STARTTLS == nil || len(a.STARTTLS.Chain) != 2 || a.STARTTLS.DANE == nil || a.STARTTLS.DANE.Matched ||
		a.STARTTLS.DANE.Error == "" || !a.STARTTLS.CATrusted {
		t.Errorf("starttls = %+v", a.STARTTLS)
	}
	want := "would not deliver to this host: certificate does not match TLSA"
	if v := a.Verdict; v.Action != Defer || v.Text != want || v.DSN != "4.7.5" || v.TLS != "" {
		t.Errorf("address verdict = %+v; want defer, %q", v, want)
	}
	if v := rep.Verdict; v.Action != Defer || v.Host != "" || !strings.Contains(v.Text, "certificate does not match TLSA") {
		t.Errorf("verdict = %+v", v)
	}
}

// TestInsecureNoDANE: an unsigned zone publishes TLSA records; they are shown but not used,
// the policy is opportunistic, and a server without STARTTLS gets the mail in clear.
func TestInsecureNoDANE(t *testing.T) {
	t.Parallel()
	cert := smtptest.NewCert(t, "mx1.insecure.test")
	srv := smtptest.StartOpts(t, smtptest.Options{}, clearSession, clearSession)
	f := &fakeDNS{
		mx:       map[string][]dns.MX{"insecure.test": {{Host: "mx1.insecure.test", Pref: 10}}},
		ip:       map[string][]netip.Addr{"mx1.insecure.test": addrs("192.0.2.4")},
		tlsa:     map[string][]dns.TLSA{"_25._tcp.mx1.insecure.test": {leafTLSA(cert)}},
		insecure: map[string]bool{"insecure.test": true, "mx1.insecure.test": true, "_25._tcp.mx1.insecure.test": true},
	}
	d := &dialer{to: map[string]string{"192.0.2.4:25": srv.Addr()}}
	rep := Run(context.Background(), "insecure.test", options(f, d, cert))

	if rep.MX.DNSSEC != Insecure {
		t.Errorf("mx dnssec = %q", rep.MX.DNSSEC)
	}
	h := rep.Hosts[0]
	if h.DNSSEC != Insecure || h.Policy.Name != "opportunistic" || h.Policy.Require != "none" || h.Policy.Rule != "" {
		t.Errorf("host = %+v, policy %+v", h, h.Policy)
	}
	if h.TLSA == nil || h.TLSA.Used || h.TLSA.DNSSEC != Insecure || len(h.TLSA.Records) != 1 || !strings.Contains(h.TLSA.Note, "not DNSSEC-secure") {
		t.Errorf("tlsa = %+v", h.TLSA)
	}
	a := h.Addresses[0]
	if a.STARTTLS == nil || a.STARTTLS.Offered || a.STARTTLS.DANE != nil || len(a.TLSExts) != 0 {
		t.Errorf("starttls = %+v", a.STARTTLS)
	}
	if v := rep.Verdict; v.Action != Deliver || v.TLS != "" || v.Policy != "opportunistic" || !strings.Contains(v.Text, "in clear") {
		t.Errorf("verdict = %+v", v)
	}
}

// TestNullMX: no host, no connection, a bounce with 5.1.10.
func TestNullMX(t *testing.T) {
	t.Parallel()
	f := &fakeDNS{mx: map[string][]dns.MX{"nullmx.example.test": {{Host: ".", Pref: 0}}}}
	d := &dialer{}
	rep := Run(context.Background(), "nullmx.example.test", Options{Resolver: f, Dial: d.dial})
	if !rep.MX.NullMX || rep.MX.DNSSEC != Secure || len(rep.MX.Records) != 1 || rep.MX.Records[0].Host != "." {
		t.Errorf("mx = %+v", rep.MX)
	}
	if len(rep.Hosts) != 0 || rep.Hosts == nil {
		t.Errorf("hosts = %#v; want empty, not nil", rep.Hosts)
	}
	v := rep.Verdict
	if v.Action != Bounce || v.DSN != "5.1.10" || v.Text != "null MX: would bounce 5.1.10" {
		t.Errorf("verdict = %+v", v)
	}
	if got := d.attempts(); len(got) != 0 {
		t.Errorf("dialled %v; want nothing", got)
	}
}

// TestTLSALookupFails: a secure host whose TLSA lookup fails is not tried by the engine; the
// probe still looks (one session), and check says the host would not be used.
func TestTLSALookupFails(t *testing.T) {
	t.Parallel()
	cert := smtptest.NewCert(t, "mx-bogus.example.test")
	srv := smtptest.StartOpts(t, smtptest.Options{TLS: serverTLS(cert)}, tlsSession)
	f := &fakeDNS{
		mx:   map[string][]dns.MX{"dane-bogus.example.test": {{Host: "mx-bogus.example.test", Pref: 10}}},
		ip:   map[string][]netip.Addr{"mx-bogus.example.test": addrs("192.0.2.5")},
		fail: map[string]bool{"_25._tcp.mx-bogus.example.test": true},
	}
	d := &dialer{to: map[string]string{"192.0.2.5:25": srv.Addr()}}
	rep := Run(context.Background(), "dane-bogus.example.test", options(f, d, cert))
	h := rep.Hosts[0]
	if h.Policy.Error == "" || h.Policy.Name != "" || h.TLSA == nil || !h.TLSA.Used || h.TLSA.Error == "" {
		t.Errorf("policy %+v, tlsa %+v", h.Policy, h.TLSA)
	}
	if v := h.Addresses[0].Verdict; v.Action != Defer || v.DSN != "4.4.3" || v.Reason != "the TLSA lookup failed" {
		t.Errorf("address verdict = %+v", v)
	}
	if got := d.attempts(); len(got) != 1 {
		t.Errorf("dialled %v; want the probe only", got)
	}
}

// TestMandatoryWithoutSTARTTLS: DANE makes TLS mandatory and the server offers no STARTTLS:
// the engine sends nothing but EHLO and QUIT, and check says it would not deliver.
func TestMandatoryWithoutSTARTTLS(t *testing.T) {
	t.Parallel()
	cert := smtptest.NewCert(t, "mx1.example.test")
	srv := smtptest.StartOpts(t, smtptest.Options{}, clearSession, clearSession)
	f := &fakeDNS{
		mx:   map[string][]dns.MX{"example.test": {{Host: "mx1.example.test", Pref: 10}}},
		ip:   map[string][]netip.Addr{"mx1.example.test": addrs("192.0.2.6")},
		tlsa: map[string][]dns.TLSA{"_25._tcp.mx1.example.test": {leafTLSA(cert)}},
	}
	d := &dialer{to: map[string]string{"192.0.2.6:25": srv.Addr()}}
	rep := Run(context.Background(), "example.test", options(f, d, cert))
	a := rep.Hosts[0].Addresses[0]
	if a.STARTTLS == nil || a.STARTTLS.Offered {
		t.Errorf("starttls = %+v", a.STARTTLS)
	}
	if v := a.Verdict; v.Action != Defer || !strings.Contains(v.Reason, "STARTTLS") {
		t.Errorf("verdict = %+v; want a deferral naming STARTTLS", v)
	}
}

// TestUnplannedHost: an MX host without an address is listed, not tried, with the reason; an
// implicit MX is reported as such.
func TestUnplannedHost(t *testing.T) {
	t.Parallel()
	srv := smtptest.StartOpts(t, smtptest.Options{}, clearSession, clearSession)
	f := &fakeDNS{
		mx: map[string][]dns.MX{"example.test": {{Host: "gone.example.test", Pref: 5}, {Host: "mx1.example.test", Pref: 10}}},
		ip: map[string][]netip.Addr{"mx1.example.test": addrs("192.0.2.7")},
	}
	d := &dialer{to: map[string]string{"192.0.2.7:25": srv.Addr()}}
	rep := Run(context.Background(), "example.test", Options{Resolver: f, Dial: d.dial, HeloHost: "client.example.test"})
	if len(rep.Hosts) != 2 {
		t.Fatalf("hosts = %+v", rep.Hosts)
	}
	gone := rep.Hosts[1]
	if gone.Name != "gone.example.test" || gone.Planned || gone.Pref != 5 || !strings.Contains(gone.AddressError, "no such domain") ||
		gone.Policy != nil || gone.TLSA != nil || len(gone.Addresses) != 0 {
		t.Errorf("unplanned host = %+v", gone)
	}
	if rep.Verdict.Action != Deliver || rep.Verdict.Host != "mx1.example.test" {
		t.Errorf("verdict = %+v", rep.Verdict)
	}

	f2 := &fakeDNS{mx: map[string][]dns.MX{"nomx.example.test": {}}, ip: map[string][]netip.Addr{}}
	rep = Run(context.Background(), "nomx.example.test", Options{Resolver: f2, Dial: (&dialer{}).dial})
	if !rep.MX.ImplicitMX || rep.Verdict.Action != Bounce || rep.Verdict.DSN == "" {
		t.Errorf("implicit MX without address: mx %+v, verdict %+v", rep.MX, rep.Verdict)
	}
}

func TestDaysLeft(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		after time.Duration
		want  int
	}{
		{48 * time.Hour, 2},
		{47 * time.Hour, 1},
		{24 * time.Hour, 1},
		{23 * time.Hour, 0},
		{0, 0},
		{-time.Hour, -1},
		{-24 * time.Hour, -1},
		{-25 * time.Hour, -2},
	} {
		if got := daysLeft(now, now.Add(tt.after)); got != tt.want {
			t.Errorf("daysLeft(+%v) = %d; want %d", tt.after, got, tt.want)
		}
	}
}

// TestAddressLiteral: no MX and no TLSA lookup for an address literal; the certificate's name
// is checked against the address.
func TestAddressLiteral(t *testing.T) {
	t.Parallel()
	cert := smtptest.NewCert(t, "2001:db8::9")
	srv := smtptest.StartOpts(t, smtptest.Options{TLS: serverTLS(cert)}, tlsSession, tlsSession)
	f := &fakeDNS{} // any lookup fails: none may be needed
	d := &dialer{to: map[string]string{"[2001:db8::9]:25": srv.Addr()}}
	rep := Run(context.Background(), "[IPv6:2001:db8::9]", options(f, d, cert))
	if rep.MX.DNSSEC != "" || len(rep.MX.Records) != 0 || rep.MX.Error != "" || len(rep.Hosts) != 1 {
		t.Fatalf("mx %+v, hosts %+v", rep.MX, rep.Hosts)
	}
	h := rep.Hosts[0]
	if h.Name != "[IPv6:2001:db8::9]" || h.TLSA != nil || h.Policy.Name != "opportunistic" {
		t.Errorf("host %+v", h)
	}
	a := h.Addresses[0]
	if a.Address != "2001:db8::9" || a.STARTTLS == nil || !a.STARTTLS.NameMatches || a.Verdict.Action != Deliver || a.Verdict.TLS != "none" {
		t.Errorf("address %+v, starttls %+v", a, a.STARTTLS)
	}
}

// TestMTASTSEnforce: an enforce policy that lists mx2 only. check shows the record and the
// policy, that mx1 does not match and is not tried by the engine (the probe still looks), and
// that the delivery would go to mx2 over TLS verified as MTA-STS asks.
func TestMTASTSEnforce(t *testing.T) {
	t.Parallel()
	cert := smtptest.NewCert(t, "mx2.sts.test")
	mx1 := smtptest.StartOpts(t, smtptest.Options{TLS: serverTLS(cert)}, tlsSession)
	mx2 := smtptest.StartOpts(t, smtptest.Options{TLS: serverTLS(cert)}, tlsSession, tlsSession)
	f := &fakeDNS{
		mx:       map[string][]dns.MX{"sts.test": {{Host: "mx1.sts.test", Pref: 10}, {Host: "mx2.sts.test", Pref: 20}}},
		ip:       map[string][]netip.Addr{"mx1.sts.test": addrs("192.0.2.1"), "mx2.sts.test": addrs("192.0.2.2")},
		insecure: map[string]bool{"sts.test": true, "mx1.sts.test": true, "mx2.sts.test": true, "_mta-sts.sts.test": true},
		txt:      map[string][]string{"_mta-sts.sts.test": {"v=spf1 -all", "v=STSv1; id=20261130"}},
	}
	p, err := mtasts.ParsePolicy([]byte("version: STSv1\nmode: enforce\nmx: mx2.sts.test\nmax_age: 86400\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := &dialer{to: map[string]string{"192.0.2.1:25": mx1.Addr(), "192.0.2.2:25": mx2.Addr()}}
	o := options(f, d, cert)
	o.MTASTS = fakeSTS{p}
	rep := Run(context.Background(), "sts.test", o)

	m := rep.MTASTS
	if m == nil || m.Record == nil || m.Record.ID != "20261130" || m.Record.Text != "v=STSv1; id=20261130" || m.DNSSEC != Insecure ||
		m.Policy == nil || m.Policy.Mode != "enforce" || m.Policy.MaxAge != 86400 || m.Policy.Source != "fetch" ||
		!slices.Equal(m.Policy.MX, []string{"mx2.sts.test"}) || m.Error != "" {
		t.Fatalf("mta_sts = %+v (policy %+v)", m, m.Policy)
	}
	h1, h2 := rep.Hosts[0], rep.Hosts[1]
	if h1.MTASTSMatch == nil || *h1.MTASTSMatch || h2.MTASTSMatch == nil || !*h2.MTASTSMatch {
		t.Errorf("matches: mx1 %v, mx2 %v", h1.MTASTSMatch, h2.MTASTSMatch)
	}
	if h1.Policy.Error == "" || h1.Addresses[0].Verdict.Reason != "the MTA-STS policy does not allow this MX host" {
		t.Errorf("mx1: policy %+v, verdict %+v", h1.Policy, h1.Addresses[0].Verdict)
	}
	if h2.Policy.Name != "mta-sts" || h2.Policy.Require != "mta-sts" {
		t.Errorf("mx2 policy %+v", h2.Policy)
	}
	if v := rep.Verdict; v.Action != Deliver || v.Host != "mx2.sts.test" || v.TLS != "mta-sts" || v.Policy != "mta-sts" {
		t.Errorf("verdict %+v", v)
	}
	if got := d.attempts(); !slices.Equal(got, []string{"192.0.2.1:25", "192.0.2.2:25", "192.0.2.2:25"}) {
		t.Errorf("dialled %v; want mx1 once (the probe only), mx2 twice", got)
	}
}
