package check

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/mtasts"
	"github.com/mxout/mxout/internal/smtptest"
)

// fakeDNS answers from maps. Every answer is DNSSEC-secure unless its name is in insecure. A
// name in none of the maps is NXDOMAIN (secure); a name in fail fails temporarily.
type fakeDNS struct {
	mx       map[string][]dns.MX
	ip       map[string][]netip.Addr
	tlsa     map[string][]dns.TLSA // by "_25._tcp.host"
	insecure map[string]bool
	fail     map[string]bool
	txt      map[string][]string
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, dns.Result, error) {
	if t, ok := f.txt[name]; ok && !f.fail[name] {
		return t, f.result(name), nil
	}
	return nil, f.result(name), f.err(name, "TXT")
}

// fakeSTS applies one policy to every domain.
type fakeSTS struct{ p *mtasts.Policy }

func (f fakeSTS) Get(context.Context, string) (*mtasts.Policy, mtasts.Source, error) {
	return f.p, mtasts.SourceFetch, nil
}

func (f *fakeDNS) result(name string) dns.Result { return dns.Result{Authentic: !f.insecure[name]} }

func (f *fakeDNS) err(name, typ string) error {
	if f.fail[name] {
		return &dns.Error{Name: name, Type: typ, Err: fmt.Errorf("%w: SERVFAIL (fake)", dns.ErrTemporary)}
	}
	return &dns.Error{Name: name, Type: typ, Err: fmt.Errorf("%w: NXDOMAIN (fake)", dns.ErrNotFound)}
}

func (f *fakeDNS) LookupMX(_ context.Context, name string) ([]dns.MX, dns.Result, error) {
	if mx, ok := f.mx[name]; ok && !f.fail[name] {
		return mx, f.result(name), nil
	}
	return nil, f.result(name), f.err(name, "MX")
}

func (f *fakeDNS) LookupIP(_ context.Context, name string) ([]netip.Addr, dns.Result, error) {
	if a, ok := f.ip[name]; ok && !f.fail[name] {
		return a, f.result(name), nil
	}
	return nil, f.result(name), f.err(name, "A")
}

func (f *fakeDNS) LookupTLSA(_ context.Context, port uint16, host string) ([]dns.TLSA, dns.Result, error) {
	name := fmt.Sprintf("_%d._tcp.%s", port, host)
	if recs, ok := f.tlsa[name]; ok && !f.fail[name] {
		return recs, f.result(name), nil
	}
	return nil, f.result(name), f.err(name, "TLSA")
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// dialer sends "addr:port" to a scripted server and refuses every other address, so nothing
// leaves loopback. It records the order of attempts.
type dialer struct {
	mu    sync.Mutex
	to    map[string]string
	tried []string
}

func (d *dialer) dial(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	d.tried = append(d.tried, address)
	target := d.to[address]
	d.mu.Unlock()
	if target == "" {
		return nil, errors.New("connection refused (test)")
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, target)
}

func (d *dialer) attempts() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.tried...)
}

// leafTLSA is the DANE-EE SPKI SHA2-256 record ("3 1 1") of c's leaf.
func leafTLSA(c smtptest.Cert) dns.TLSA {
	sum := sha256.Sum256(c.Leaf.Leaf.RawSubjectPublicKeyInfo)
	return dns.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: sum[:]}
}

// serverTLS is what a scripted server presents: c's leaf and its CA.
func serverTLS(c smtptest.Cert) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.Leaf}}
}

func roots(c smtptest.Cert) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.CA)
	return p
}

// options for a run against f through d, with roots trusting cert's CA.
func options(f *fakeDNS, d *dialer, c smtptest.Cert) Options {
	return Options{Resolver: f, HeloHost: "client.example.test", Timeout: 5 * time.Second, Dial: d.dial, Roots: roots(c)}
}

// The scripts of one address: the probe's session, then the engine's.
const (
	// tlsSession offers STARTTLS, takes it, and ends at QUIT: what both sessions do when the
	// certificate is good.
	tlsSession = `
< 220 mx.example.test ESMTP
> EHLO client.example.test
< 250-mx.example.test
< 250-PIPELINING
< 250-SIZE 1000000
< 250 STARTTLS
> STARTTLS
< 220 2.0.0 ready
! starttls
> EHLO client.example.test
< 250-mx.example.test
< 250-PIPELINING
< 250 SIZE 1000000
! eof-or-quit
`
	// tlsRefusedByClient: the client fails the handshake and hangs up (the engine under a
	// policy the certificate does not meet).
	tlsRefusedByClient = `
< 220 mx.example.test ESMTP
> EHLO client.example.test
< 250-mx.example.test
< 250 STARTTLS
> STARTTLS
< 220 2.0.0 ready
! starttls
! expect-eof
`
	// clearSession offers no STARTTLS.
	clearSession = `
< 220 mx.example.test ESMTP
> EHLO client.example.test
< 250-mx.example.test
< 250 PIPELINING
! eof-or-quit
`
)
