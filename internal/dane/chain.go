package dane

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// verifyPath checks that the leaf chain[0] chains to anchor through the
// certificates of chain, and that its names match one of names
// (RFC 7672 §3.1.2, RFC 7672 §3.2.2).
//
// The chain is built by crypto/x509 from the sent certificates as an unordered
// pool, because RFC 8446 §4.4.2 lets TLS 1.3 servers send extra or misordered
// certificates. crypto/x509 checks the anchor's own validity dates too, as
// OpenSSL (and so Postfix) does for a trust anchor certificate; the price is
// that a record naming an expired CA certificate fails even if its key is
// still in use. A bare-key anchor (verifyOutOfChain) has no dates.
func verifyPath(chain []*x509.Certificate, anchor *x509.Certificate, names []string, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(anchor)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		if c != anchor {
			inter.AddCert(c)
		}
	}
	opts := x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if _, err := chain[0].Verify(opts); err != nil {
		return err
	}
	return checkNames(chain[0], names)
}

// checkNames matches the leaf against the reference identifiers
// (RFC 7672 §3.2.2) with crypto/x509's host name rules: DNS subjectAltNames
// only, a wildcard only as the whole leftmost label (RFC 7672 §3.2.3), case
// and a trailing dot ignored.
func checkNames(leaf *x509.Certificate, names []string) error {
	if len(names) == 0 {
		return errors.New("dane: no reference identifier to match the certificate against")
	}
	var firstErr error
	for _, n := range names {
		err := leaf.VerifyHostname(n)
		if err == nil {
			return nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return fmt.Errorf("dane: certificate matches none of %q: %w", names, firstErr)
}

// verifyOutOfChain handles a DANE-TA(2) record that matched no certificate
// the server sent, in the two cases where the record alone can still serve as
// the trust anchor:
//
//   - Cert(0) Full(0): the record holds the whole TA certificate; clients must
//     accept chains that omit it (RFC 7671 §5.2.2).
//   - SPKI(1) Full(0): the record holds a bare public key; clients should
//     accept chains whose topmost certificate that key signed
//     (RFC 7671 §5.2.3). The anchor is a synthetic certificate with just that
//     key and the issuer name of the first sent certificate it signed, so
//     crypto/x509 can build the path; a bare key has no validity dates.
//
// Depth in the result is len(chain): the anchor is not among the sent
// certificates.
func verifyOutOfChain(r Record, chain []*x509.Certificate, names []string, now time.Time) (Result, error) {
	anchor := anchorFromRecord(r, chain)
	if anchor == nil {
		return Result{}, errNoCert
	}
	if err := verifyPath(chain, anchor, names, now); err != nil {
		return Result{}, fmt.Errorf("dane: %s record's anchor (not sent by the server): %w", describe(r), err)
	}
	return Result{Method: TA, Record: r, Depth: len(chain)}, nil
}

// anchorFromRecord returns the trust anchor a Full(0) DANE-TA(2) record holds,
// or nil when it holds none that can anchor this chain.
func anchorFromRecord(r Record, chain []*x509.Certificate) *x509.Certificate {
	if r.MatchingType != MatchFull {
		return nil
	}
	if r.Selector == SelectorCert {
		ta, err := x509.ParseCertificate(r.Data)
		if err != nil {
			return nil
		}
		return ta
	}
	pub, err := x509.ParsePKIXPublicKey(r.Data)
	if err != nil {
		return nil
	}
	key := &x509.Certificate{PublicKey: pub, PublicKeyAlgorithm: keyAlgorithm(pub)}
	if key.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm {
		return nil
	}
	for _, c := range chain {
		if c.CheckSignatureFrom(key) != nil {
			continue
		}
		return &x509.Certificate{
			Version:               3,
			RawSubject:            c.RawIssuer,
			PublicKey:             pub,
			PublicKeyAlgorithm:    key.PublicKeyAlgorithm,
			BasicConstraintsValid: true,
			IsCA:                  true,
			MaxPathLen:            -1, // no limit, as in a parsed certificate without one
			NotBefore:             time.Unix(0, 0),
			NotAfter:              time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		}
	}
	return nil
}

// keyAlgorithm names the algorithm of a parsed public key, or
// UnknownPublicKeyAlgorithm for keys that cannot sign certificates.
func keyAlgorithm(pub any) x509.PublicKeyAlgorithm {
	switch pub.(type) {
	case *rsa.PublicKey:
		return x509.RSA
	case *ecdsa.PublicKey:
		return x509.ECDSA
	case ed25519.PublicKey:
		return x509.Ed25519
	}
	return x509.UnknownPublicKeyAlgorithm
}
