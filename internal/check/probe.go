package check

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/mxout/mxout/internal/dane"
	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// probe collects the facts of one address on a session of its own: greeting, EHLO, STARTTLS
// with any certificate accepted (the chain is recorded, then judged), EHLO again, QUIT. It
// never sends MAIL. pol (nil when the policy could not be settled) supplies the usable TLSA
// records the chain is matched against; names are the DANE-TA reference identifiers.
func (c *checker) probe(ctx context.Context, host string, peer netip.AddrPort, pol *tlspolicy.Policy, names []string) Address {
	a := Address{Address: peer.Addr().String(), Port: peer.Port(), Extensions: []string{}, TLSExts: []string{}}
	conn, err := c.dial(ctx, peer)
	if err != nil {
		a.Error = "connect: " + err.Error()
		return a
	}
	cl := smtp.NewClient(conn, smtp.Options{Peer: peer, Timeout: c.o.Timeout})
	defer cl.Close()
	r, err := cl.Greeting(ctx)
	a.Greeting = strings.Join(r.Lines, " ")
	if err == nil {
		err = cl.Hello(ctx, c.o.HeloHost)
	}
	if err != nil {
		a.Error = err.Error()
		cl.Quit(ctx)
		return a
	}
	a.Extensions = extensions(cl.Extensions())
	a.STARTTLS = &TLS{Offered: cl.Extensions().Has("STARTTLS"), Chain: []Cert{}}
	if !a.STARTTLS.Offered {
		cl.Quit(ctx)
		return a
	}
	st, err := cl.StartTLS(ctx, probeConfig(host))
	var se *smtp.Error
	switch {
	case errors.As(err, &se) && se.Reply != nil && !errors.Is(err, smtp.ErrTLS):
		a.STARTTLS.Reply = strings.Join(se.Reply.Lines, " ")
		cl.Quit(ctx)
		return a
	case err != nil:
		a.STARTTLS.Error = err.Error()
		return a // the client is botched: nothing more is sent
	}
	c.judge(a.STARTTLS, st, host, pol, names)
	if err := cl.Hello(ctx, c.o.HeloHost); err != nil {
		a.Error = err.Error()
	} else {
		a.TLSExts = extensions(cl.Extensions())
	}
	cl.Quit(ctx)
	return a
}

// dial connects within the timeout, through Options.Dial when set.
func (c *checker) dial(ctx context.Context, peer netip.AddrPort) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	if c.o.Dial != nil {
		return c.o.Dial(ctx, "tcp", peer.String())
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", peer.String())
}

// probeConfig accepts any certificate, so that the chain can be shown even when the policy
// would refuse it; the judgement comes after, from the recorded chain. SNI is the host name
// (crypto/tls sends none for an IP address). Any version from TLS 1.0 is accepted, as an
// opportunistic session does, so an old server is still seen.
func probeConfig(host string) *tls.Config {
	return &tls.Config{
		ServerName:         bare(host),
		InsecureSkipVerify: true, // facts only: nothing is sent over this session but EHLO and QUIT
		MinVersion:         tls.VersionTLS10,
	}
}

// bare is host without the brackets and "IPv6:" tag of an address literal ("[IPv6:::1]" is
// "::1"), as crypto/tls and crypto/x509 take names and addresses.
func bare(host string) string {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if len(h) > 5 && strings.EqualFold(h[:5], "ipv6:") {
		h = h[5:]
	}
	return h
}

// judge fills t from the handshake: version, cipher, the chain, and the three checks an
// operator asks about (name, CA, DANE).
func (c *checker) judge(t *TLS, st tls.ConnectionState, host string, pol *tlspolicy.Policy, names []string) {
	t.Version = versionName(st.Version)
	t.Cipher = tls.CipherSuiteName(st.CipherSuite)
	certs := st.PeerCertificates
	for _, cert := range certs {
		t.Chain = append(t.Chain, c.certFacts(cert))
	}
	if len(certs) == 0 {
		t.CAError = "the server sent no certificate"
		return
	}
	t.NameMatches = certs[0].VerifyHostname(bare(host)) == nil
	opts := x509.VerifyOptions{
		Roots:         c.o.Roots,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   c.now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, cert := range certs[1:] {
		opts.Intermediates.AddCert(cert)
	}
	if _, err := certs[0].Verify(opts); err != nil {
		t.CAError = err.Error()
	} else {
		t.CATrusted = true
	}
	if pol != nil && len(pol.DANE) > 0 {
		t.DANE = daneFacts(pol.DANE, certs, names, c.now)
	}
}

// daneFacts runs dane.Verify, the check the engine's handshake runs under a DANE policy.
func daneFacts(recs []dane.Record, certs []*x509.Certificate, names []string, now time.Time) *DANE {
	res, err := dane.Verify(recs, certs, names, now)
	if err != nil {
		return &DANE{Error: err.Error()}
	}
	return &DANE{Matched: true, Method: res.Method.String(), Record: recordText(res.Record), Depth: res.Depth}
}

func (c *checker) certFacts(cert *x509.Certificate) Cert {
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	whole := sha256.Sum256(cert.Raw)
	f := Cert{
		Subject:    cert.Subject.String(),
		Issuer:     cert.Issuer.String(),
		DNSNames:   append([]string{}, cert.DNSNames...),
		IPs:        []string{},
		NotBefore:  cert.NotBefore.UTC(),
		NotAfter:   cert.NotAfter.UTC(),
		DaysLeft:   daysLeft(c.now, cert.NotAfter),
		SHA256:     hex.EncodeToString(whole[:]),
		SPKISHA256: hex.EncodeToString(spki[:]),
	}
	for _, ip := range cert.IPAddresses {
		f.IPs = append(f.IPs, ip.String())
	}
	return f
}

// daysLeft counts whole days from now to the end of validity, rounding down, so a certificate
// that expires in 23 hours has 0 days left and one that expired an hour ago has -1.
func daysLeft(now, notAfter time.Time) int {
	d := notAfter.Sub(now)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return days
}

// versionName names a TLS version as OpenSSL prints it, as tlspolicy.Facts does.
func versionName(v uint16) string {
	return tlspolicy.Facts{Version: v}.VersionName()
}

// extensions lists the EHLO keywords, sorted, each with its parameters ("SIZE 10485760").
func extensions(ext smtp.Extensions) []string {
	out := make([]string, 0, len(ext))
	for kw, params := range ext {
		out = append(out, strings.TrimSpace(kw+" "+params))
	}
	slices.Sort(out)
	return out
}

func tlsaRecord(r dns.TLSA) TLSARecord {
	d := dane.Record{Usage: r.Usage, Selector: r.Selector, MatchingType: r.MatchingType, Data: r.Data}
	return TLSARecord{
		Usage: r.Usage, Selector: r.Selector, MatchingType: r.MatchingType,
		Data:   hex.EncodeToString(r.Data),
		Usable: len(dane.Usable([]dane.Record{d})) == 1,
	}
}

// recordText is a record in presentation form, "3 1 1 0a1b...".
func recordText(r dane.Record) string {
	return fmt.Sprintf("%d %d %d %x", r.Usage, r.Selector, r.MatchingType, r.Data)
}
