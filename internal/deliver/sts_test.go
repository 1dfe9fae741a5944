package deliver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"github.com/mxout/mxout/internal/route"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/mxout/mxout/internal/mtasts"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/smtptest"
	"github.com/mxout/mxout/internal/tlspolicy"
	"github.com/mxout/mxout/internal/tlsrpt"
)

// fakeSTS returns one policy for every domain and counts the calls.
type fakeSTS struct {
	p     *mtasts.Policy
	err   error
	mu    sync.Mutex
	asked []string
}

func (f *fakeSTS) Get(_ context.Context, domain string) (*mtasts.Policy, mtasts.Source, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, domain)
	return f.p, mtasts.SourceCache, f.err
}

// results collects what the engine records for TLS-RPT.
type results struct {
	mu  sync.Mutex
	all []tlsrpt.Result
}

func (r *results) Add(x tlsrpt.Result) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, x)
	return nil
}

// summary is "host:result-type" (or "host:ok") per result, in order.
func (r *results) summary() string {
	var s []string
	for _, x := range r.all {
		if x.Failure == nil {
			s = append(s, string(x.Policy.Type)+":ok")
			continue
		}
		s = append(s, string(x.Policy.Type)+":"+x.Failure.ReceivingMXHostname+":"+string(x.Failure.ResultType))
	}
	return strings.Join(s, " ")
}

func stsPolicy(t *testing.T, text string) *mtasts.Policy {
	t.Helper()
	p, err := mtasts.ParsePolicy([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// noSTARTTLS is a server that offers no STARTTLS: under enforce the session must end after EHLO.
const noSTARTTLS = "< 220 c\n> EHLO helo.test\n< 250 c\n> QUIT"

// TestSTSEnforce: only the MX host the policy allows is dialled, TLS is mandatory there (a
// server without STARTTLS gets nothing but EHLO and QUIT), the failure is temporary, and
// every refusal is recorded for TLS-RPT under the recipient domain.
func TestSTSEnforce(t *testing.T) {
	srv := smtptest.Start(t, noSTARTTLS)
	d := &dialer{to: map[string]string{"192.0.2.4:25": srv.Addr()}}
	e := deliverer(mxDNS, d)
	sts := &fakeSTS{p: stsPolicy(t, "version: STSv1\nmode: enforce\nmx: c.example.test\nmax_age: 86400\n")}
	rec := &results{}
	e.MTASTS, e.TLSReport = sts, rec
	res := e.Deliver(t.Context(), newJob(t))
	if got := strings.Join(d.tried, " "); got != "192.0.2.4:25" {
		t.Errorf("dialled %s; want only c.example.test's address", got)
	}
	if res.Message.Status != outcome.Deferred || res.Message.DSN != "4.7.4" {
		t.Errorf("outcome %s %s %q; want deferred 4.7.4", res.Message.Status, res.Message.DSN, res.Message.Local)
	}
	if got := rec.summary(); got != "sts:a.example.test:validation-failure sts:b.example.test:validation-failure sts:c.example.test:starttls-not-supported" {
		t.Errorf("recorded %s", got)
	}
	if len(rec.all) > 0 && (rec.all[0].Policy.Domain != "example.test" || len(rec.all[0].Policy.Strings) != 4 || rec.all[0].Policy.MXHost[0] != "c.example.test") {
		t.Errorf("policy %+v", rec.all[0].Policy)
	}
	if strings.Join(sts.asked, " ") != "example.test" {
		t.Errorf("Get called for %q; want once for example.test", sts.asked)
	}
	// A second delivery within a minute reuses the state: no second lookup.
	srv2 := smtptest.Start(t, noSTARTTLS)
	d.to["192.0.2.4:25"] = srv2.Addr()
	e.Deliver(t.Context(), newJob(t))
	if len(sts.asked) != 1 {
		t.Errorf("Get called %d times for two deliveries within a minute", len(sts.asked))
	}
}

// TestSTSEnforceNoHostLeft: a policy that allows none of the MX hosts sends nothing anywhere
// and defers with 4.4.4.
func TestSTSEnforceNoHostLeft(t *testing.T) {
	d := &dialer{}
	e := deliverer(mxDNS, d)
	e.MTASTS = &fakeSTS{p: stsPolicy(t, "version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\nmax_age: 86400\n")}
	res := e.Deliver(t.Context(), newJob(t))
	if len(d.tried) != 0 {
		t.Errorf("dialled %v", d.tried)
	}
	o := res.Recipients[0]
	if o.Status != outcome.Deferred || o.DSN != "4.4.4" || !strings.Contains(o.Local, "MTA-STS") || !strings.Contains(o.Local, "c.example.test") {
		t.Errorf("outcome %s %s %q; want deferred 4.4.4 naming MTA-STS", o.Status, o.DSN, o.Local)
	}
}

// TestSTSTesting: a testing policy changes nothing about the delivery (in clear to a server
// without STARTTLS, to a host the policy does not list) and records the failures.
func TestSTSTesting(t *testing.T) {
	srv := smtptest.Start(t, success)
	d := &dialer{to: map[string]string{"192.0.2.1:25": srv.Addr()}}
	e := deliverer(mxDNS, d)
	rec := &results{}
	e.MTASTS, e.TLSReport = &fakeSTS{p: stsPolicy(t, "version: STSv1\nmode: testing\nmx: c.example.test\nmax_age: 86400\n")}, rec
	res := e.Deliver(t.Context(), newJob(t))
	if !res.Delivered() {
		t.Fatalf("not delivered: %+v", res.Message)
	}
	// The same with a host the policy lists: the session in clear is the failure.
	srv2 := smtptest.Start(t, success)
	d.to["192.0.2.1:25"] = srv2.Addr()
	e = deliverer(mxDNS, d) // a new engine: the first remembers the first policy for a minute
	e.TLSReport = rec
	e.MTASTS = &fakeSTS{p: stsPolicy(t, "version: STSv1\nmode: testing\nmx: *.example.test\nmax_age: 86400\n")}
	if res := e.Deliver(t.Context(), newJob(t)); !res.Delivered() {
		t.Fatalf("not delivered: %+v", res.Message)
	}
	if got := rec.summary(); got != "sts:a.example.test:validation-failure sts:a.example.test:starttls-not-supported" {
		t.Errorf("recorded %s", got)
	}
}

// TestSTSNotForStaticRoutes: a static route goes where the operator said; the policy is not
// even looked up. Nor for address literals.
func TestSTSNotForStaticRoutes(t *testing.T) {
	srv := smtptest.Start(t, success)
	d := &dialer{to: map[string]string{"192.0.2.9:25": srv.Addr()}}
	e := deliverer(mxDNS, d)
	sts := &fakeSTS{p: stsPolicy(t, "version: STSv1\nmode: enforce\nmx: nothing.test\nmax_age: 86400\n")}
	e.MTASTS = sts
	e.Routes = staticRoute{route.Static{Relay: "[192.0.2.9]", Addr: netip.MustParseAddr("192.0.2.9"), Port: 25}}
	if res := e.Deliver(t.Context(), newJob(t)); !res.Delivered() {
		t.Fatalf("static route: %+v", res.Message)
	}
	if e.LookupSTS(t.Context(), "[192.0.2.9]", "") != nil || len(sts.asked) != 0 {
		t.Errorf("policy looked up for %v", sts.asked)
	}
}

// TestSTSFetchFailureRecorded: a policy that could not be fetched is recorded as the RFC's
// sts-policy-fetch-error, and delivery goes on as without MTA-STS.
func TestSTSFetchFailureRecorded(t *testing.T) {
	srv := smtptest.Start(t, success)
	d := &dialer{to: map[string]string{"192.0.2.1:25": srv.Addr()}}
	e := deliverer(mxDNS, d)
	rec := &results{}
	e.MTASTS, e.TLSReport = &fakeSTS{err: mtasts.ErrFetch}, rec
	if res := e.Deliver(t.Context(), newJob(t)); !res.Delivered() {
		t.Fatalf("not delivered: %+v", res.Message)
	}
	if len(rec.all) != 1 || rec.all[0].Failure.ResultType != tlsrpt.STSPolicyFetchError || rec.all[0].Policy.Domain != "example.test" {
		t.Errorf("recorded %+v", rec.all)
	}
}

// tlsDelivery is success after STARTTLS.
var tlsDelivery = strings.Replace(success, "< 250 c\n",
	"< 250-c\n< 250 STARTTLS\n> STARTTLS\n< 220 go ahead\n! starttls\n> EHLO helo.test\n< 250 c\n", 1)

// TestSTSEnforceVerifies: under enforce the MX certificate must chain to STSRoots and name the
// MX host. A certificate for another name fails the hop temporarily, and the plaintext retry
// that ClearAfterTLSFailure allows for opportunistic hops never happens: the address is dialled
// once. A certificate for the host delivers, verified as mta-sts, recorded as a success.
func TestSTSEnforceVerifies(t *testing.T) {
	for _, tc := range []struct {
		name, certName string
		delivered      bool
		recorded       string
	}{
		{"wrong name", "other.example.test", false, "sts:c.example.test:certificate-host-mismatch"},
		{"right name", "c.example.test", true, "sts:ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := smtptest.NewCert(t, tc.certName)
			script := tlsDelivery
			if !tc.delivered {
				script = "< 220 c\n> EHLO helo.test\n< 250-c\n< 250 STARTTLS\n> STARTTLS\n< 220 go ahead\n! starttls\n! expect-eof"
			}
			srv := smtptest.StartOpts(t, smtptest.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert.Leaf}}}, script)
			d := &dialer{to: map[string]string{"192.0.2.4:25": srv.Addr()}}
			e := deliverer(mxDNS, d)
			rec := &results{}
			e.MTASTS, e.TLSReport = &fakeSTS{p: stsPolicy(t, "version: STSv1\nmode: enforce\nmx: c.example.test\nmax_age: 86400\n")}, rec
			e.STSRoots = x509.NewCertPool()
			e.STSRoots.AddCert(cert.CA)
			e.ClearAfterTLSFailure = true
			res := e.Deliver(t.Context(), newJob(t))
			if res.Delivered() != tc.delivered {
				t.Fatalf("delivered %v: %+v", res.Delivered(), res.Message)
			}
			if tc.delivered && (res.Message.TLS == nil || res.Message.TLS.Verified != tlspolicy.VerifiedMTASTS) {
				t.Errorf("TLS facts %+v", res.Message.TLS)
			}
			if !tc.delivered && (res.Message.Status != outcome.Deferred || res.Message.DSN != "4.7.5") {
				t.Errorf("outcome %s %s", res.Message.Status, res.Message.DSN)
			}
			if got := strings.Join(d.tried, " "); got != "192.0.2.4:25" {
				t.Errorf("dialled %s; want c.example.test once", got)
			}
			if got := rec.summary(); got != "sts:a.example.test:validation-failure sts:b.example.test:validation-failure "+tc.recorded {
				t.Errorf("recorded %s", got)
			}
		})
	}
}
