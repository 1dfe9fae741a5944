package dane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// fixture is a small PKI made in-process for one test: a root CA, an
// intermediate under it, leaves under the intermediate, and a second CA with
// the same subject name as the first, which tests whether names alone are
// trusted.
type fixture struct {
	now time.Time

	ca, inter       *x509.Certificate
	interKey        *ecdsa.PrivateKey
	leaf            *x509.Certificate // mx1.example.test
	leafKey         *ecdsa.PrivateKey
	expired         *x509.Certificate // mx1.example.test, expired a day before now
	other           *x509.Certificate // other.example.test
	wildcard        *x509.Certificate // *.example.test
	clientOnly      *x509.Certificate // mx1.example.test, extended key usage clientAuth only
	foreignCA       *x509.Certificate // same subject as ca, different key
	foreignLeaf     *x509.Certificate // mx1.example.test under foreignCA
	caKey, forCAKey *ecdsa.PrivateKey
}

// newFixture builds the PKI; now is fixed so that tests do not depend on the
// clock.
func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	fx := &fixture{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	caName := pkix.Name{CommonName: "Example Test Root CA"}
	fx.ca, fx.caKey = fx.issue(tb, caTemplate(caName), nil, nil)
	fx.inter, fx.interKey = fx.issue(tb, caTemplate(pkix.Name{CommonName: "Example Test Intermediate"}), fx.ca, fx.caKey)
	fx.leaf, fx.leafKey = fx.issue(tb, leafTemplate("mx1.example.test"), fx.inter, fx.interKey)

	old := leafTemplate("mx1.example.test")
	old.NotBefore, old.NotAfter = fx.now.Add(-72*time.Hour), fx.now.Add(-24*time.Hour)
	fx.expired, _ = fx.issue(tb, old, fx.inter, fx.interKey)
	fx.other, _ = fx.issue(tb, leafTemplate("other.example.test"), fx.inter, fx.interKey)
	fx.wildcard, _ = fx.issue(tb, leafTemplate("*.example.test"), fx.inter, fx.interKey)
	client := leafTemplate("mx1.example.test")
	client.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	fx.clientOnly, _ = fx.issue(tb, client, fx.inter, fx.interKey)

	fx.foreignCA, fx.forCAKey = fx.issue(tb, caTemplate(caName), nil, nil)
	fx.foreignLeaf, _ = fx.issue(tb, leafTemplate("mx1.example.test"), fx.foreignCA, fx.forCAKey)
	return fx
}

func caTemplate(name pkix.Name) *x509.Certificate {
	return &x509.Certificate{
		Subject:               name,
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

func leafTemplate(name string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		DNSNames:    []string{name},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

// issue signs tmpl with parentKey, or self-signs it when parent is nil. Dates
// left zero become a year around fx.now.
func (fx *fixture) issue(tb testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		tb.Fatal(err)
	}
	tmpl.SerialNumber = sn
	if tmpl.NotAfter.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = fx.now.Add(-time.Hour), fx.now.Add(365*24*time.Hour)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return cert, key
}

// rec builds a record for certificate c with the given parameters, computing
// the association data as the server operator would.
func rec(usage, selector, mtype uint8, c *x509.Certificate) Record {
	return Record{Usage: usage, Selector: selector, MatchingType: mtype, Data: association(selector, mtype, c)}
}

// association is the test's own statement of RFC 6698 §2.1.2 and
// RFC 6698 §2.1.3, kept apart from the package's matches.
func association(selector, mtype uint8, c *x509.Certificate) []byte {
	b := c.Raw
	if selector == SelectorSPKI {
		b = c.RawSubjectPublicKeyInfo
	}
	switch mtype {
	case MatchSHA256:
		s := sha256.Sum256(b)
		return s[:]
	case MatchSHA512:
		s := sha512.Sum512(b)
		return s[:]
	}
	return b
}
