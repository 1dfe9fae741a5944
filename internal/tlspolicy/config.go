package tlspolicy

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/mxout/mxout/internal/dane"
)

// Config returns the crypto/tls client configuration for one connection of
// the hop, and the Facts that its handshake fills in (read them after the
// handshake has returned). Use a new pair for every connection.
//
// All verification runs in tls.Config.VerifyConnection, with
// InsecureSkipVerify set so that the standard verifier does not refuse
// DANE-EE or privately issued chains first: one code path for every mode, on
// full and resumed handshakes alike. The hook fails the handshake, with an
// error wrapping ErrCAVerify, ErrName, ErrPin, ErrDANE or ErrNoCertificate,
// when Require is not met:
//
//   - VerifiedCA: the chain verifies against the rule's CA file or directory,
//     or the system roots, for server authentication, with at most
//     depth+1 certificates from leaf to root when the rule gives a verify
//     depth.
//   - VerifiedCAName: as VerifiedCA, and the certificate names the server in
//     one of three ways: crypto/x509 VerifyHostname accepts ServerName
//     (RFC 6125 §6.4.3 wildcards in the leftmost label, IP addresses against
//     IP subjectAltNames); or VerifyHostname accepts Destination (the
//     certificate is for the mail domain or relay the rule names); or
//     ServerName is a subdomain of a DNS subjectAltName without wildcard that
//     has at least two labels ("mx.example.test" under "example.test", never
//     under "test"). The last two are the "partial matching" of s/qmail's "~".
//   - VerifiedCANameExact: as VerifiedCA, and a DNS subjectAltName equals
//     ServerName, ignoring case and a final dot, without wildcards; for
//     an IP literal ServerName an IP subjectAltName must equal it.
//   - VerifiedPin: the digest of the leaf certificate's DER with the rule's
//     hash equals the pin. Nothing else is checked (no chain, no name, no
//     dates), as with s/qmail.
//   - DANE: the chain matches a usable TLSA record (dane.Verify), with
//     ServerName and Destination as reference identifiers (RFC 7672 §3.2.2),
//     after TLSAState.Name when the records were found at a CNAME-expanded
//     name, which is then also the SNI (RFC 7672 §2.2.2, §8.1);
//     Facts.Verified says whether DANE-EE or DANE-TA matched.
//
// The subject common name is never used for names (RFC 6125 §6.4.4 allows it
// only without subjectAltNames; crypto/x509 ignores it since Go 1.15).
//
// When Require is VerifiedNone the hook fails nothing. If the rule names a CA
// file or directory it records in Facts.Verified whether the chain verifies
// against it with VerifyHostname(ServerName) (VerifiedCAName) or not
// (VerifiedNone), so a report can tell; the system roots are not consulted for
// this (loading them costs about 13 ms of CPU per process). For a successful mandatory session Facts.Verified is the
// level that was required and proved (for DANE, the one that matched).
//
// Opportunistic sessions accept TLS 1.0 and 1.1 as well (Go's client default
// is TLS 1.2): a weak protocol beats sending the message in clear, the price
// being a downgrade surface that only an active attacker can use, who could
// strip STARTTLS anyway. Mandatory sessions keep Go's minimum, TLS 1.2.
// Cipher suites come from the rule's cipher string for TLS 1.2 and older;
// TLS 1.3 suites are not configurable in Go and always allowed. A client
// certificate from domaincerts is sent whenever the server asks, whatever
// issuers it names (as OpenSSL does).
func (p *Policy) Config() (*tls.Config, *Facts) {
	f := &Facts{Policy: p.Name()}
	sni := p.serverName
	if len(p.DANE) > 0 && p.tlsaName != "" {
		sni = p.tlsaName // the TLSA base domain (RFC 7672 §8.1)
	}
	name, _ := refName(sni)
	cfg := &tls.Config{
		ServerName:         name,
		InsecureSkipVerify: true, // VerifyConnection below checks everything Require asks for
		CipherSuites:       p.ciphers,
		VerifyConnection:   func(cs tls.ConnectionState) error { return p.verify(cs, f) },
	}
	if p.Mode < Mandatory {
		cfg.MinVersion = tls.VersionTLS10
	}
	if c := p.clientCert; c != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c, nil }
	}
	return cfg, f
}

// verify is the VerifyConnection hook: it fills f and fails when Require is
// not met. Its switch fails closed on an unknown level.
func (p *Policy) verify(cs tls.ConnectionState, f *Facts) error {
	f.Version, f.CipherSuite, f.Verified = cs.Version, cs.CipherSuite, VerifiedNone
	if p.stsTest {
		f.STSTested, f.STSFailure = true, p.testSTS(cs.PeerCertificates)
	}
	if len(cs.PeerCertificates) == 0 {
		if p.Require == VerifiedNone && len(p.DANE) == 0 {
			return nil
		}
		return ErrNoCertificate
	}
	certs := cs.PeerCertificates
	f.PeerCN = certs[0].Subject.CommonName
	var got Verified
	var err error
	switch {
	case len(p.DANE) > 0:
		got, err = p.verifyDANE(certs)
	case p.Require == VerifiedNone:
		// Nothing is required. With a CA file from the rule, whether the peer would have
		// verified is recorded for the report; against the system roots it is not: loading them
		// costs about 13 ms of CPU, more than the rest of a qmail-remote run.
		if p.roots != nil && p.verifyChain(certs) == nil && certs[0].VerifyHostname(p.serverName) == nil {
			got = VerifiedCAName
		}
	case p.Require == VerifiedPin:
		got, err = VerifiedPin, p.verifyPin(certs[0])
	case p.Require >= VerifiedCA && p.Require <= VerifiedCANameExact:
		got, err = p.Require, p.verifyCA(certs)
	case p.Require == VerifiedMTASTS && p.sts:
		// checked below
	default:
		err = fmt.Errorf("tlspolicy: cannot verify level %v", p.Require)
	}
	if err == nil && p.sts && len(p.DANE) == 0 {
		// MTA-STS enforce, on top of what the rule asked for: both must pass.
		if err = p.verifyWebPKI(certs); err == nil {
			got = VerifiedMTASTS
		}
	}
	if err != nil {
		return err
	}
	f.Verified = got
	return nil
}

// verifyWebPKI is the check of an MTA-STS policy (RFC 8461 §4.2): the chain verifies against
// stsRoots (nil: the system roots) for server authentication, and the certificate names the
// MX host itself, by crypto/x509's RFC 6125 rules (a wildcard stands for the whole left-most
// label only). The errors wrap ErrCAVerify or ErrName and the crypto/x509 cause, so that
// TLS-RPT can tell an untrusted chain, an expired certificate and a name mismatch apart.
func (p *Policy) verifyWebPKI(certs []*x509.Certificate) error {
	if len(certs) == 0 {
		return ErrNoCertificate
	}
	opts := x509.VerifyOptions{
		Roots:         p.stsRoots,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return fmt.Errorf("%w (mta-sts): %w", ErrCAVerify, err)
	}
	name, ip := refName(p.serverName)
	if ip.IsValid() || name == "" {
		return fmt.Errorf("%w (mta-sts): %q is not a host name", ErrName, p.serverName)
	}
	if err := certs[0].VerifyHostname(name); err != nil {
		return fmt.Errorf("%w (mta-sts): %w", ErrName, err)
	}
	return nil
}

// testSTS is the check of a testing policy: what would have failed under enforce, or nil.
func (p *Policy) testSTS(certs []*x509.Certificate) error {
	if p.stsNoMatch {
		return &Error{Kind: KindMTASTS, Subject: p.serverName, Err: errSTSNoMatch}
	}
	return p.verifyWebPKI(certs)
}

// verifyCA checks the chain and, for the name levels, the name.
func (p *Policy) verifyCA(certs []*x509.Certificate) error {
	if err := p.verifyChain(certs); err != nil {
		return err
	}
	leaf := certs[0]
	switch p.Require {
	case VerifiedCAName:
		if !matchPartial(leaf, p.serverName, p.destination) {
			return fmt.Errorf("%w: %q", ErrName, p.serverName)
		}
	case VerifiedCANameExact:
		if !matchExact(leaf, p.serverName) {
			return fmt.Errorf("%w: %q", ErrName, p.serverName)
		}
	}
	return nil
}

// verifyChain checks certs (leaf first, the rest as intermediates in any
// order) against the CA set, for server authentication, and the verify
// depth. Any one verified chain short enough will do.
func (p *Policy) verifyChain(certs []*x509.Certificate) error {
	opts := x509.VerifyOptions{
		Roots:         p.roots, // nil: the system roots
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	chains, err := certs[0].Verify(opts)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCAVerify, err)
	}
	if p.depth == 0 {
		return nil
	}
	for _, c := range chains {
		if len(c) <= p.depth+1 {
			return nil
		}
	}
	return fmt.Errorf("%w: chain of %d certificates exceeds verify depth %d", ErrCAVerify, len(chains[0]), p.depth)
}

// verifyPin compares the leaf's digest with the pin.
func (p *Policy) verifyPin(leaf *x509.Certificate) error {
	sum, ok := digest(p.pinHash, leaf.Raw)
	if !ok || !bytes.Equal(sum, p.pin) {
		return fmt.Errorf("%w: got %x", ErrPin, sum)
	}
	return nil
}

// verifyDANE runs dane.Verify with the reference identifiers: the
// CNAME-expanded name the records were found at, if any, ServerName and
// Destination (RFC 7672 §3.2.2, RFC 7671 §7), leaving out IP literals.
func (p *Policy) verifyDANE(certs []*x509.Certificate) (Verified, error) {
	var names []string
	for _, n := range []string{p.tlsaName, p.serverName, p.destination} {
		if name, ip := refName(n); name != "" && !ip.IsValid() && !contains(names, name) {
			names = append(names, name)
		}
	}
	res, err := dane.Verify(p.DANE, certs, names, time.Time{})
	if err != nil {
		return VerifiedNone, fmt.Errorf("%w: %w", ErrDANE, err)
	}
	if res.Method == dane.TA {
		return VerifiedDANETA, nil
	}
	return VerifiedDANEEE, nil
}

// matchPartial is the "~" name check documented at Config.
func matchPartial(leaf *x509.Certificate, serverName, destination string) bool {
	if leaf.VerifyHostname(serverName) == nil {
		return true
	}
	if destination != "" && leaf.VerifyHostname(destination) == nil {
		return true
	}
	sn, ip := refName(serverName)
	if ip.IsValid() || sn == "" {
		return false
	}
	for _, san := range leaf.DNSNames {
		s, _ := refName(san)
		if s != "" && !strings.Contains(s, "*") && strings.Contains(s, ".") && strings.HasSuffix(sn, "."+s) {
			return true
		}
	}
	return false
}

// matchExact is the "=" name check documented at Config.
func matchExact(leaf *x509.Certificate, serverName string) bool {
	name, ip := refName(serverName)
	if ip.IsValid() {
		for _, a := range leaf.IPAddresses {
			if b, ok := netip.AddrFromSlice(a); ok && b.Unmap() == ip.Unmap() {
				return true
			}
		}
		return false
	}
	if name == "" || strings.Contains(name, "*") {
		return false
	}
	for _, san := range leaf.DNSNames {
		// The SAN is compared as written, only case-folded: a dNSName with a final dot is not
		// a valid name (RFC 5280 §4.2.1.6), and crypto/x509's VerifyHostname never matches it
		// either, so "=" is never more lenient than "~".
		if strings.ToLower(san) == name {
			return true
		}
	}
	return false
}

// refName canonicalises a host name for comparison: lower case,
// without a final dot; an IP literal, with or without brackets (and an
// "IPv6:" tag), is returned as ip with name its plain text form.
func refName(s string) (name string, ip netip.Addr) {
	t := strings.TrimSuffix(s, ".")
	if len(t) >= 2 && t[0] == '[' && t[len(t)-1] == ']' {
		t = t[1 : len(t)-1]
		if len(t) > 5 && strings.EqualFold(t[:5], "ipv6:") {
			t = t[5:]
		}
	}
	if a, err := netip.ParseAddr(t); err == nil {
		return a.String(), a
	}
	return strings.ToLower(t), netip.Addr{}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// digestSize returns the digest length of a pin hash s/qmail supports.
func digestSize(h crypto.Hash) (int, bool) {
	switch h {
	case crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA512:
		return h.Size(), true
	}
	return 0, false
}

// digest hashes b with h, one of the pin hashes; ok is false for others.
func digest(h crypto.Hash, b []byte) (sum []byte, ok bool) {
	switch h {
	case crypto.SHA1:
		s := sha1.Sum(b)
		return s[:], true
	case crypto.SHA224:
		s := sha256.Sum224(b)
		return s[:], true
	case crypto.SHA256:
		s := sha256.Sum256(b)
		return s[:], true
	case crypto.SHA512:
		s := sha512.Sum512(b)
		return s[:], true
	}
	return nil, false
}
