package tlspolicy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/qmailctl"
)

// control loads a qmail control directory holding me and the given files.
func control(t *testing.T, files map[string]string) *qmailctl.Config {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, "control")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files["me"] = "me.example.test\n"
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content)
	}
	cfg, err := qmailctl.Load(home)
	if err != nil {
		t.Fatalf("qmailctl.Load: %v", err)
	}
	return cfg
}

// tlsdest parses a tlsdestinations file.
func tlsdest(t *testing.T, content string) *qmailctl.TLSDestinations {
	t.Helper()
	return control(t, map[string]string{"tlsdestinations": content}).TLSDestinations
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// node is one certificate of a test PKI with its key.
type node struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// newNode issues a certificate for key (a fresh P-256 key when nil), signed
// by parent (self-signed when nil). A CA when names is empty, else a server
// and client leaf for the DNS names.
func newNode(t *testing.T, parent *node, key crypto.Signer, names ...string) *node {
	t.Helper()
	if key == nil {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 100))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "tlspolicy test " + serial.Text(16)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	if len(names) == 0 {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign
	} else {
		tmpl.Subject.CommonName = names[0]
		tmpl.DNSNames = names
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	parentCert, signer := tmpl, key
	if parent != nil {
		parentCert, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &node{cert: c, key: key}
}

// tlsCert is n with the chain the server sends after it.
func (n *node) tlsCert(chain ...*node) tls.Certificate {
	c := tls.Certificate{Certificate: [][]byte{n.cert.Raw}, PrivateKey: n.key, Leaf: n.cert}
	for _, x := range chain {
		c.Certificate = append(c.Certificate, x.cert.Raw)
	}
	return c
}

func certPEM(certs ...*x509.Certificate) string {
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return string(b)
}

// session is what handshake saw on both sides.
type session struct {
	facts    *Facts
	err      error // the client's handshake error
	srvErr   error // the server's handshake error
	srvState tls.ConnectionState
}

// handshake runs the client side of p.Config against a server with srv
// over a loopback TCP connection (net.Pipe has no buffer, so a client
// that sends an alert while the server still writes its flight would
// deadlock).
func handshake(t *testing.T, p *Policy, srv *tls.Config) session {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(10 * time.Second)
	done := make(chan session, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			done <- session{srvErr: err}
			return
		}
		defer s.Close()
		s.SetDeadline(deadline)
		conn := tls.Server(s, srv)
		err = conn.Handshake()
		done <- session{srvErr: err, srvState: conn.ConnectionState()}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(deadline)
	cfg, facts := p.Config()
	conn := tls.Client(c, cfg)
	err = conn.Handshake()
	if err == nil {
		// TLS 1.3: the server reads the client's Finished (and
		// certificate) only now.
		conn.Close()
	} else {
		c.Close()
	}
	r := <-done
	r.facts, r.err = facts, err
	return r
}

// serverConfig serves cert with the protocol versions between lo and hi
// (0: Go's defaults).
func serverConfig(cert tls.Certificate, lo, hi uint16) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: lo, MaxVersion: hi}
}
