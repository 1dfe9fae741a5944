package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"
)

// Cert is an in-process test CA and a server certificate it issued.
type Cert struct {
	// CA is the self-signed CA certificate; trust it with
	// x509.CertPool.AddCert to verify Leaf.
	CA *x509.Certificate
	// CAPEM is CA in PEM form.
	CAPEM []byte
	// Leaf is ready for tls.Config.Certificates. Its chain is the leaf followed
	// by CA, so a DANE-TA (usage 2) check finds the trust anchor in the chain,
	// where SMTP servers using DANE-TA are expected to send it (RFC 7672).
	// Leaf.Leaf is set.
	Leaf tls.Certificate
	// LeafPEM is the leaf certificate alone in PEM form; KeyPEM is its private
	// key (PKCS #8, "PRIVATE KEY").
	LeafPEM, KeyPEM []byte
}

// NewCert makes a CA and a leaf certificate for names, each a DNS name or an
// IP address (IPv4 or IPv6). The first name is also the subject common name.
// The leaf is valid from an hour ago for a day, for server and client
// authentication, with an ECDSA P-256 key. NewCert fails the test with
// t.Fatalf when names is empty or generation fails.
func NewCert(t testing.TB, names ...string) Cert {
	t.Helper()
	c, err := newCert(names, time.Now())
	if err != nil {
		t.Fatalf("%v", err)
	}
	return c
}

// newCert is NewCert without the test.
func newCert(names []string, now time.Time) (Cert, error) {
	if len(names) == 0 {
		return Cert{}, errors.New("smtptest: NewCert needs at least one name")
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Cert{}, fmt.Errorf("smtptest: %w", err)
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "smtptest CA " + names[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	ca, caDER, err := issue(caTmpl, nil, &caKey.PublicKey, caKey)
	if err != nil {
		return Cert{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Cert{}, fmt.Errorf("smtptest: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0]},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, n := range names {
		if ip, err := netip.ParseAddr(n); err == nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	leaf, leafDER, err := issue(tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return Cert{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Cert{}, fmt.Errorf("smtptest: %w", err)
	}
	return Cert{
		CA:      ca,
		CAPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Leaf:    tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key, Leaf: leaf},
		LeafPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// issue signs tmpl with signer, as parent (nil: self-signed), and returns the
// parsed certificate and its DER.
func issue(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) (*x509.Certificate, []byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest: %w", err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest: %w", err)
	}
	return c, der, nil
}
