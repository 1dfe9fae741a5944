package deliver

import (
	"context"
	"crypto/tls"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/qmailctl"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtptest"
)

// secureDNS is fakeDNS with DNSSEC-authenticated answers.
type secureDNS struct{ fakeDNS }

func (f secureDNS) LookupMX(ctx context.Context, name string) ([]dns.MX, dns.Result, error) {
	mx, _, err := f.fakeDNS.LookupMX(ctx, name)
	return mx, dns.Result{Authentic: true}, err
}

func (f secureDNS) LookupIP(ctx context.Context, name string) ([]netip.Addr, dns.Result, error) {
	a, _, err := f.fakeDNS.LookupIP(ctx, name)
	return a, dns.Result{Authentic: true}, err
}

// tlsMX: example.test has the single MX mx.example.test at 192.0.2.1.
var tlsMX = fakeDNS{
	mx: map[string][]dns.MX{"example.test": {{Host: "mx.example.test", Pref: 10}}},
	ip: map[string][]netip.Addr{"mx.example.test": {netip.MustParseAddr("192.0.2.1")}},
}

// tlsEngine is an engine that reaches srv for 192.0.2.1:25, with tlsdestinations rules (CA
// replaced by the file of the test CA) and the given resolver.
func tlsEngine(t *testing.T, srv *smtptest.Server, resolver route.Lookuper, ca, rules string) *Engine {
	t.Helper()
	dir := t.TempDir()
	if ca != "" {
		rules = strings.ReplaceAll(rules, "CA", ca)
	}
	if err := os.WriteFile(filepath.Join(dir, "tlsdestinations"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	ctl, err := qmailctl.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := &dialer{to: map[string]string{"192.0.2.1:25": srv.Addr()}}
	return New(Config{HeloHost: "helo.test", TimeoutConnect: time.Second, TimeoutRemote: 5 * time.Second,
		Planner: &route.Planner{Resolver: resolver, Port: 25}, Dial: d.dial, TLSRules: ctl.TLSDestinations})
}

// tlsScriptServer serves scripts with a certificate for mx.example.test from a fresh CA, and
// returns the CA's file.
func tlsScriptServer(t *testing.T, scripts ...string) (*smtptest.Server, string) {
	t.Helper()
	cert := smtptest.NewCert(t, "mx.example.test")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, cert.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	o := smtptest.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert.Leaf}}, Timeout: 5 * time.Second}
	return smtptest.StartOpts(t, o, scripts...), ca
}

const startTLS = `
< 220 mx ESMTP
> EHLO helo.test
< 250-mx
< 250 STARTTLS
> STARTTLS
< 220 go ahead
! starttls
> EHLO helo.test
`

func requireTLSJob(t *testing.T, text string) *Job {
	m, err := message.Read(strings.NewReader(text), "")
	if err != nil {
		t.Fatal(err)
	}
	return &Job{Host: "example.test", Sender: "s@example.org", Recipients: []string{"a@example.test"}, Message: m, RequireTLS: true}
}

// TestRequireTLS (RFC 8689 §4.2.1): a REQUIRETLS message goes only to a server that offers
// REQUIRETLS over TLS that authenticated it, with REQUIRETLS on MAIL FROM; otherwise nothing of
// the transaction is sent and the recipient fails with 5.7.30.
func TestRequireTLS(t *testing.T) {
	offered := "< 250-mx\n< 250 REQUIRETLS\n"
	delivered := offered + "> MAIL FROM:<s@example.org> REQUIRETLS\n< 250 ok\n> RCPT TO:<a@example.test>\n< 250 ok\n" +
		"> DATA\n< 354 go\n! data\n< 250 2.0.0 queued\n> QUIT"
	tests := []struct {
		name     string
		script   string
		resolver route.Lookuper
		rules    string
		status   outcome.Status
		dsn      string
	}{
		{"offered, name verified, a verifying rule", startTLS + delivered, tlsMX, "~example.test:CA\n", outcome.Delivered, "2.0.0"},
		{"offered, name verified, DNSSEC MX", startTLS + delivered, secureDNS{tlsMX}, "example.test:CA\n", outcome.Delivered, "2.0.0"},
		{"offered, name verified, MX not vouched for", startTLS + offered + "> QUIT", tlsMX, "example.test:CA\n", outcome.Failed, "5.7.30"},
		{"not offered", startTLS + "< 250 mx\n> QUIT", tlsMX, "~example.test:CA\n", outcome.Failed, "5.7.30"},
		{"no STARTTLS", "< 220 mx ESMTP\n> EHLO helo.test\n< 250-mx\n< 250 REQUIRETLS\n> QUIT", tlsMX, "~example.test:CA\n", outcome.Failed, "5.7.30"},
		{"certificate not trusted", strings.TrimSuffix(startTLS, "> EHLO helo.test\n") + "! expect-eof", tlsMX, "", outcome.Failed, "5.7.30"},
		{"a no-verify rule is raised to a name check", startTLS + delivered, secureDNS{tlsMX}, "-example.test:CA\n", outcome.Delivered, "2.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, ca := tlsScriptServer(t, tt.script)
			e := tlsEngine(t, srv, tt.resolver, ca, tt.rules)
			res := e.Deliver(t.Context(), requireTLSJob(t, "Subject: t\n\nhello\n"))
			o := res.Recipients[0]
			if o.Status != tt.status || o.DSN != tt.dsn {
				t.Fatalf("outcome %v %s (%s), want %v %s", o.Status, o.DSN, o.Describe(), tt.status, tt.dsn)
			}
		})
	}
}

// TestRequireTLSPool: a REQUIRETLS job never shares a session with an ordinary one: the pool
// groups them apart, so the ordinary job's session (in clear here) is not reused for it.
func TestRequireTLSPool(t *testing.T) {
	e := New(Config{})
	plain := &Job{Host: "example.test"}
	req := &Job{Host: "example.test", RequireTLS: true}
	if e.tlsGroup(plain) == e.tlsGroup(req) {
		t.Fatal("REQUIRETLS and ordinary jobs share a pool group")
	}
}

// TestTLSRequiredNo (RFC 8689): with "TLS-Required: No" DANE does not apply to the message,
// so a server without STARTTLS gets it in clear; without the field the DANE hop stays mandatory.
// A REQUIRETLS job ignores the field.
func TestTLSRequiredNo(t *testing.T) {
	rec := []dns.TLSA{{Usage: 3, Selector: 1, MatchingType: 1, Data: make([]byte, 32)}}
	clear := "< 220 mx ESMTP\n> EHLO helo.test\n< 250 mx\n"
	tests := []struct {
		name   string
		text   string
		honour bool
		script string
		status outcome.Status
	}{
		{"field honoured", "TLS-Required: No\nSubject: t\n\nhello\n", true, clear + success[strings.Index(success, "> MAIL"):], outcome.Delivered},
		{"folded and in any case", "Subject: t\ntls-required:\n  no\n\nhello\n", true, clear + success[strings.Index(success, "> MAIL"):], outcome.Delivered},
		{"no field: DANE", "Subject: t\n\nhello\n", true, clear + "> QUIT", outcome.Deferred},
		{"field in the body only", "Subject: t\n\nTLS-Required: No\n", true, clear + "> QUIT", outcome.Deferred},
		{"not honoured (qmail-remote)", "TLS-Required: No\n\nhello\n", false, clear + "> QUIT", outcome.Deferred},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.script)
			d := &dialer{to: map[string]string{"192.0.2.1:25": srv.Addr()}}
			e := New(Config{HeloHost: "helo.test", TimeoutConnect: time.Second, TimeoutRemote: 5 * time.Second,
				Planner: &route.Planner{Resolver: secureDNS{tlsMX}, Port: 25}, Dial: d.dial,
				TLSA: &fakeTLSA{recs: map[string][]dns.TLSA{"mx.example.test": rec}}, HonourTLSRequiredNo: tt.honour})
			job := requireTLSJob(t, tt.text)
			job.RequireTLS = false
			job.Recipients = []string{"a@example.test"}
			res := e.Deliver(t.Context(), job)
			if o := res.Recipients[0]; o.Status != tt.status {
				t.Fatalf("outcome %v (%s), want %v", o.Status, o.Describe(), tt.status)
			}
		})
	}
	job := requireTLSJob(t, "TLS-Required: No\n\nhello\n")
	if New(Config{HonourTLSRequiredNo: true}).tlsOptional(job) {
		t.Error("a REQUIRETLS job honoured TLS-Required: No")
	}
}

func TestTLSRequiredNoHeader(t *testing.T) {
	for text, want := range map[string]bool{
		"TLS-Required: No\n\nx\n":           true,
		"TLS-Required:no\r\n\r\n":           true,
		"A: b\nTLS-Required: No":            true,
		"TLS-Required: Yes\n\n":             false,
		"TLS-Required: No thanks\n\n":       false,
		"X-TLS-Required: No\n\n":            false,
		"Subject: x\n\nTLS-Required: No\n":  false,
		"Subject: x\n TLS-Required: No\n\n": false,
		"":                                  false,
		strings.Repeat("X: y\n", 60000) + "TLS-Required: No\n": false, // beyond what is read
	} {
		if got := TLSRequiredNo(strings.NewReader(text)); got != want {
			t.Errorf("%.40q: %v, want %v", text, got, want)
		}
	}
}

// TestRequireTLSRefusalWins: the first MX host cannot carry the message, the second cannot be
// reached: the outcome is the refusal (5.7.30, naming the host that refused), not the connect
// failure, and both hosts were tried.
func TestRequireTLSRefusalWins(t *testing.T) {
	srv, ca := tlsScriptServer(t, startTLS+"< 250 mx\n> QUIT")
	twoMX := fakeDNS{
		mx: map[string][]dns.MX{"example.test": {{Host: "mx.example.test", Pref: 10}, {Host: "mx2.example.test", Pref: 20}}},
		ip: map[string][]netip.Addr{"mx.example.test": {netip.MustParseAddr("192.0.2.1")}, "mx2.example.test": {netip.MustParseAddr("192.0.2.2")}},
	}
	e := tlsEngine(t, srv, twoMX, ca, "~example.test:CA\n")
	res := e.Deliver(t.Context(), requireTLSJob(t, "Subject: t\n\nhello\n"))
	o := res.Recipients[0]
	if o.Status != outcome.Failed || o.DSN != "5.7.30" || o.Host != "mx.example.test" || !strings.Contains(o.Local, "does not offer REQUIRETLS") {
		t.Fatalf("outcome %v %s on %s: %s", o.Status, o.DSN, o.Host, o.Describe())
	}
}
