package deliver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/smtptest"
)

// fakeDNS answers MX and address lookups from maps. Addresses are documentation addresses that
// the test's Dial maps to local scripted servers: nothing is ever sent to them.
type fakeDNS struct {
	mx map[string][]dns.MX
	ip map[string][]netip.Addr
}

func (f fakeDNS) LookupMX(_ context.Context, name string) ([]dns.MX, dns.Result, error) {
	return f.mx[name], dns.Result{}, nil
}

func (f fakeDNS) LookupIP(_ context.Context, name string) ([]netip.Addr, dns.Result, error) {
	if a, ok := f.ip[name]; ok {
		return a, dns.Result{}, nil
	}
	return nil, dns.Result{}, &dns.Error{Name: name, Type: "A", Err: dns.ErrNotFound}
}

// dialer maps "addr:port" to a scripted server's address, records the order of attempts, and
// refuses (or hangs on) the rest.
type dialer struct {
	mu    sync.Mutex
	to    map[string]string
	hang  map[string]bool
	tried []string
}

func (d *dialer) dial(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	d.tried = append(d.tried, address)
	target, hang := d.to[address], d.hang[address]
	d.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if target == "" {
		return nil, errors.New("connection refused (test)")
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, target)
}

func newJob(t *testing.T) *Job {
	m, err := message.Read(strings.NewReader("Subject: t\n\nhello\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	return &Job{Host: "example.test", Sender: "s@example.org", Recipients: []string{"a@example.test"}, Message: m}
}

func deliverer(dns fakeDNS, d *dialer) *Engine {
	return New(Config{HeloHost: "helo.test", TimeoutConnect: 200 * time.Millisecond, TimeoutRemote: 5 * time.Second,
		Planner: &route.Planner{Resolver: dns, Port: 25}, Dial: d.dial})
}

var mxDNS = fakeDNS{
	mx: map[string][]dns.MX{"example.test": {{Host: "a.example.test", Pref: 10}, {Host: "b.example.test", Pref: 20}, {Host: "c.example.test", Pref: 30}}},
	ip: map[string][]netip.Addr{
		"a.example.test": {netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")},
		"b.example.test": {netip.MustParseAddr("192.0.2.3")},
		"c.example.test": {netip.MustParseAddr("192.0.2.4")},
	},
}

const success = `
< 220 c
> EHLO helo.test
< 250 c
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA
< 354 go
! data
< 250 2.0.0 queued
> QUIT`

// TestMovesOnAfterSiteFailures: a refused connection, a 421 greeting and a refused EHLO/HELO
// each move on to the next address and MX, in preference order (decision 3).
func TestMovesOnAfterSiteFailures(t *testing.T) {
	greet := smtptest.Start(t, "< 421 busy\n> QUIT")
	name := smtptest.Start(t, "< 220 b\n> EHLO helo.test\n< 550 no\n> HELO helo.test\n< 550 no\n> QUIT")
	ok := smtptest.Start(t, success)
	d := &dialer{to: map[string]string{"192.0.2.2:25": greet.Addr(), "192.0.2.3:25": name.Addr(), "192.0.2.4:25": ok.Addr()}}
	res := deliverer(mxDNS, d).Deliver(t.Context(), newJob(t))
	if res.Message.Err != nil || res.Message.Peer.String() != "192.0.2.4:25" || res.Recipients[0].Status != outcome.Delivered {
		t.Fatalf("result %+v", res)
	}
	if got := strings.Join(d.tried, " "); got != "192.0.2.1:25 192.0.2.2:25 192.0.2.3:25 192.0.2.4:25" {
		t.Errorf("tried %s", got)
	}
}

// TestTransactionOutcomeIsFinal: once MAIL FROM went out, a temporary failure is the result;
// the next MX is not tried (it could deliver twice).
func TestTransactionOutcomeIsFinal(t *testing.T) {
	fail := smtptest.Start(t, "< 220 a\n> EHLO helo.test\n< 250 a\n> MAIL FROM:<s@example.org>\n< 451 later\n> QUIT")
	d := &dialer{to: map[string]string{"192.0.2.1:25": fail.Addr()}}
	res := deliverer(mxDNS, d).Deliver(t.Context(), newJob(t))
	var se *smtp.Error
	if !errors.As(res.Message.Err, &se) || se.Phase != smtp.PhaseMail || se.Reply.Code != 451 {
		t.Fatalf("err %v", res.Message.Err)
	}
	if len(d.tried) != 1 {
		t.Errorf("tried %v after the transaction started", d.tried)
	}
}

// TestConnectTimeout: each hanging address costs timeoutconnect, then the last attempt is the
// result.
func TestConnectTimeout(t *testing.T) {
	d := &dialer{hang: map[string]bool{"192.0.2.1:25": true, "192.0.2.2:25": true, "192.0.2.3:25": true, "192.0.2.4:25": true}}
	start := time.Now()
	res := deliverer(mxDNS, d).Deliver(t.Context(), newJob(t))
	var ce *ConnectError
	if !errors.As(res.Message.Err, &ce) || ce.Peer.String() != "192.0.2.4:25" || !errors.Is(res.Message.Err, context.DeadlineExceeded) {
		t.Fatalf("err %v", res.Message.Err)
	}
	if el := time.Since(start); el < 800*time.Millisecond || el > 3*time.Second {
		t.Errorf("4 hanging addresses took %v with timeoutconnect 200ms", el)
	}
}

// TestLastAttemptIsReported: when every address fails, the result describes the last one.
func TestLastAttemptIsReported(t *testing.T) {
	greet := smtptest.Start(t, "< 554 no\n> QUIT")
	d := &dialer{to: map[string]string{"192.0.2.4:25": greet.Addr()}}
	res := deliverer(mxDNS, d).Deliver(t.Context(), newJob(t))
	var se *smtp.Error
	if !errors.As(res.Message.Err, &se) || se.Phase != smtp.PhaseGreeting || se.Reply.Code != 554 {
		t.Fatalf("err %v", res.Message.Err)
	}
}

// TestTwoTransactionsOnOneConnection: the session runs several transactions (RSET between
// them), as transport mode will.
func TestTwoTransactionsOnOneConnection(t *testing.T) {
	srv := smtptest.Start(t, `
< 220 mx
> EHLO helo.test
< 250-mx
< 250 PIPELINING
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> DATA
< 250 ok
< 550 no such user
< 503 no valid recipients
> RSET
< 250 reset
> MAIL FROM:<s@example.org>
> RCPT TO:<b@example.test>
> DATA
< 250 ok
< 250 ok
< 354 go
! data
< 250 2.0.0 second
> QUIT`)
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	c := smtp.NewClient(conn, smtp.Options{Peer: srv.AddrPort(), Timeout: 5 * time.Second})
	defer c.Close()
	if _, err := c.Greeting(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(ctx, "helo.test"); err != nil {
		t.Fatal(err)
	}
	sent, err := c.Envelope(ctx, smtp.Envelope{From: "s@example.org", To: []string{"a@example.test"}})
	if !errors.Is(err, smtp.ErrNoRecipients) || len(sent.Rcpt) != 1 || sent.Rcpt[0].Code != 550 {
		t.Fatalf("first transaction: %v %+v", err, sent)
	}
	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Envelope(ctx, smtp.Envelope{From: "s@example.org", To: []string{"b@example.test"}}); err != nil {
		t.Fatal(err)
	}
	r, err := c.Body(ctx, strings.NewReader("x\n"))
	if err != nil || r.Code != 250 {
		t.Fatalf("second transaction: %v %v", r, err)
	}
	c.Quit(ctx)
}

// TestWalkLimit: once WalkLimit has passed, no new connection is started; the last failure is
// the result. Four hanging addresses at 200 ms each would take 800 ms; with a limit of 300 ms the
// walk stops after the second.
func TestWalkLimit(t *testing.T) {
	d := &dialer{hang: map[string]bool{"192.0.2.1:25": true, "192.0.2.2:25": true, "192.0.2.3:25": true, "192.0.2.4:25": true}}
	dl := deliverer(mxDNS, d)
	dl.WalkLimit = 300 * time.Millisecond
	res := dl.Deliver(t.Context(), newJob(t))
	var ce *ConnectError
	if !errors.As(res.Message.Err, &ce) || ce.Peer.String() != "192.0.2.2:25" {
		t.Fatalf("err %v; want the connect error of the second address", res.Message.Err)
	}
	if got := strings.Join(d.tried, " "); got != "192.0.2.1:25 192.0.2.2:25" {
		t.Errorf("tried %s; want two addresses", got)
	}
}

// TestAddressCap: a host with 2,000 addresses gets 5 connection attempts, not 2,000.
func TestAddressCap(t *testing.T) {
	var many []netip.Addr
	for i := range 2000 {
		many = append(many, netip.AddrFrom4([4]byte{10, byte(i / 250), byte(i % 250), 1}))
	}
	f := fakeDNS{mx: map[string][]dns.MX{"example.test": {{Host: "mx.example.test", Pref: 10}}},
		ip: map[string][]netip.Addr{"mx.example.test": many}}
	d := &dialer{}
	res := deliverer(f, d).Deliver(t.Context(), newJob(t))
	if res.Message.Err == nil || len(d.tried) != 5 {
		t.Errorf("%d connection attempts, result %v; want 5 refused attempts", len(d.tried), res.Message.Err)
	}
}

// fakeTLSA answers TLSA lookups from a map by host and records the hosts asked.
type fakeTLSA struct {
	recs  map[string][]dns.TLSA
	fail  map[string]bool
	asked []string
}

func (f *fakeTLSA) LookupTLSA(_ context.Context, _ uint16, host string) ([]dns.TLSA, dns.Result, error) {
	f.asked = append(f.asked, host)
	if f.fail[host] {
		return nil, dns.Result{}, &dns.Error{Name: host, Type: "TLSA", Err: dns.ErrTemporary}
	}
	if r, ok := f.recs[host]; ok {
		return r, dns.Result{Authentic: true}, nil
	}
	return nil, dns.Result{Authentic: true}, &dns.Error{Name: host, Type: "TLSA", Err: dns.ErrNotFound}
}

// TestTLSAOrderForAlias: for a host that is an alias, TLSA comes from the expanded name when
// it has records, else from the host's own name (RFC 7672 §2.2.2); a failure at the expanded
// name fails the hop.
func TestTLSAOrderForAlias(t *testing.T) {
	rec := []dns.TLSA{{Usage: 3, Selector: 1, MatchingType: 1, Data: make([]byte, 32)}}
	hop := route.Hop{Name: "mx.alias.test", Canonical: "real.test", Port: 25, MXAuthentic: true, AddrAuthentic: true}
	tests := []struct {
		name      string
		f         *fakeTLSA
		wantName  string
		wantAsked string
		wantErr   bool
	}{
		{"records at the expanded name", &fakeTLSA{recs: map[string][]dns.TLSA{"real.test": rec, "mx.alias.test": rec}}, "real.test", "real.test", false},
		{"none there: the original", &fakeTLSA{recs: map[string][]dns.TLSA{"mx.alias.test": rec}}, "", "real.test mx.alias.test", false},
		{"failure at the expanded name", &fakeTLSA{fail: map[string]bool{"real.test": true}, recs: map[string][]dns.TLSA{"mx.alias.test": rec}}, "real.test", "real.test", true},
	}
	for _, tt := range tests {
		d := New(Config{TLSA: tt.f})
		st := d.lookupTLSA(t.Context(), hop.Port, hop)
		if st.Name != tt.wantName || (st.Err != nil) != tt.wantErr || strings.Join(tt.f.asked, " ") != tt.wantAsked ||
			!tt.wantErr && len(st.Records) != 1 {
			t.Errorf("%s: state %+v after asking %v; want name %q, asked %q, error %v", tt.name, st, tt.f.asked, tt.wantName, tt.wantAsked, tt.wantErr)
		}
	}
}
