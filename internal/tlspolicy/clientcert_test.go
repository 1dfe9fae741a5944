package tlspolicy

import (
	"github.com/youmark/pkcs8"

	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const keyPassword = "s3cret|pw"

// clientFiles writes a client certificate and keys in every form the tests
// need, and returns their paths and the certificate.
type clientFiles struct {
	cert       *node
	certFile   string // leaf PEM
	keyFile    string // PKCS #8, clear
	bundle     string // leaf and key in one file
	legacyRSA  string // PKCS #1 with legacy PEM encryption under keyPassword
	otherKey   string // a key of another certificate
	pkcs8Enc   string // PKCS #8 encrypted under keyPassword ("ENCRYPTED PRIVATE KEY", OpenSSL 3's default)
	noKeyInPEM string // a certificate without a key, used as the only file
}

func newClientFiles(t *testing.T) clientFiles {
	t.Helper()
	dir := t.TempDir()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ca := newNode(t, nil, nil)
	leaf := newNode(t, ca, rsaKey, "client.sender.test")
	other := newNode(t, ca, nil, "other.sender.test")
	plain8 := func(n *node) string {
		der, err := x509.MarshalPKCS8PrivateKey(n.key)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	enc, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), []byte(keyPassword), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	encDER, err := pkcs8.MarshalPrivateKey(rsaKey, []byte(keyPassword), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	return clientFiles{
		cert:       leaf,
		certFile:   writeFile(t, path("cert.pem"), certPEM(leaf.cert, ca.cert)),
		keyFile:    writeFile(t, path("key.pem"), plain8(leaf)),
		bundle:     writeFile(t, path("bundle.pem"), certPEM(leaf.cert)+plain8(leaf)),
		legacyRSA:  writeFile(t, path("legacy.pem"), string(pem.EncodeToMemory(enc))),
		otherKey:   writeFile(t, path("other.pem"), plain8(other)),
		pkcs8Enc:   writeFile(t, path("pkcs8enc.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: encDER}))),
		noKeyInPEM: writeFile(t, path("nokey.pem"), certPEM(leaf.cert)),
	}
}

func TestClientCertificate(t *testing.T) {
	f := newClientFiles(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name    string
		entry   string // the domaincerts value for sender.test
		kind    ErrorKind
		subject string
		cause   error // nil: any
		ok      bool
	}{
		{name: "cert and key", entry: f.certFile + "|" + f.keyFile, ok: true},
		{name: "key in cert file", entry: f.bundle, ok: true},
		{name: "legacy encrypted key", entry: f.certFile + "|" + f.legacyRSA + "|" + keyPassword, ok: true},
		{name: "password for clear key", entry: f.certFile + "|" + f.keyFile + "|" + keyPassword, ok: true},
		{name: "wrong key", entry: f.certFile + "|" + f.otherKey + "|" + keyPassword, kind: KindKeyMismatch, subject: f.otherKey},
		{name: "wrong password", entry: f.certFile + "|" + f.legacyRSA + "|wrong" + keyPassword, kind: KindClientKey, subject: f.legacyRSA},
		{name: "no password", entry: f.certFile + "|" + f.legacyRSA, kind: KindClientKey, subject: f.legacyRSA, cause: errNeedPassword},
		{name: "encrypted pkcs8", entry: f.certFile + "|" + f.pkcs8Enc + "|" + keyPassword, ok: true},
		{name: "encrypted pkcs8, wrong password", entry: f.certFile + "|" + f.pkcs8Enc + "|wrong", kind: KindClientKey, subject: f.pkcs8Enc, cause: errBadPassword},
		{name: "encrypted pkcs8, no password", entry: f.certFile + "|" + f.pkcs8Enc, kind: KindClientKey, subject: f.pkcs8Enc, cause: errNeedPassword},
		{name: "no key in cert file", entry: f.noKeyInPEM, kind: KindClientKey, subject: f.noKeyInPEM, cause: errNoKey},
		{name: "missing key file", entry: f.certFile + "|" + missing, kind: KindClientKey, subject: missing, cause: os.ErrNotExist},
		{name: "missing cert file", entry: missing + "|" + f.keyFile, kind: KindClientCert, subject: missing, cause: os.ErrNotExist},
		{name: "cert file without cert", entry: f.keyFile, kind: KindClientCert, subject: f.keyFile, cause: errNoCert},
	}
	server := newNode(t, nil, nil, "mx.example.test").tlsCert()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := control(t, map[string]string{"domaincerts": "sender.test:" + tt.entry + "\n"})
			p, err := Decide(nil, cfg.DomainCerts, Input{Destination: "mx.example.test", ServerName: "mx.example.test", SenderDomain: "sender.test"})
			if !tt.ok {
				var e *Error
				if !errors.As(err, &e) || e.Kind != tt.kind || e.Subject != tt.subject || (tt.cause != nil && !errors.Is(err, tt.cause)) {
					t.Fatalf("got %v; want kind %q, subject %s, cause %v", err, tt.kind, tt.subject, tt.cause)
				}
				if strings.Contains(err.Error(), keyPassword) {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			srv := serverConfig(server, 0, 0)
			srv.ClientAuth = tls.RequireAnyClientCert
			s := handshake(t, p, srv)
			if s.err != nil || s.srvErr != nil {
				t.Fatalf("handshake: client %v, server %v", s.err, s.srvErr)
			}
			if got := s.srvState.PeerCertificates; len(got) == 0 || !bytes.Equal(got[0].Raw, f.cert.cert.Raw) {
				t.Errorf("server received %d certificates, not the client's", len(got))
			}
		})
	}
}

// TestClientCertificateNamesNoIssuer: the certificate goes out even when
// the server names acceptable issuers that did not sign it, as OpenSSL does.
func TestClientCertificateNamesNoIssuer(t *testing.T) {
	f := newClientFiles(t)
	cfg := control(t, map[string]string{"domaincerts": "*:" + f.bundle + "\n"})
	p, err := Decide(nil, cfg.DomainCerts, Input{Destination: "mx.example.test", ServerName: "mx.example.test", SenderDomain: "x.test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := serverConfig(newNode(t, nil, nil, "mx.example.test").tlsCert(), tls.VersionTLS12, tls.VersionTLS12)
	srv.ClientAuth = tls.RequireAnyClientCert
	srv.ClientCAs = x509.NewCertPool()
	srv.ClientCAs.AddCert(newNode(t, nil, nil).cert)
	if s := handshake(t, p, srv); s.err != nil || s.srvErr != nil || len(s.srvState.PeerCertificates) == 0 {
		t.Fatalf("client %v, server %v, %d certificates", s.err, s.srvErr, len(s.srvState.PeerCertificates))
	}
}

func TestClientCertificateCache(t *testing.T) {
	f := newClientFiles(t)
	dir := t.TempDir()
	certFile := writeFile(t, filepath.Join(dir, "c.pem"), readFile(t, f.bundle))
	cfg := control(t, map[string]string{"domaincerts": "*:" + certFile + "\n"})
	files := NewFileCache()
	decide := func() (*Policy, error) {
		return Decide(nil, cfg.DomainCerts, Input{Destination: "mx.example.test", SenderDomain: "a.test", Files: files})
	}
	p1, err := decide()
	if err != nil {
		t.Fatal(err)
	}
	p2, err := decide()
	if err != nil || p2.clientCert != p1.clientCert {
		t.Fatalf("second Decide loaded the certificate again (%v)", err)
	}
	// A failure is not cached: the file comes back and works.
	if err := os.Rename(certFile, certFile+".away"); err != nil {
		t.Fatal(err)
	}
	if _, err := decide(); err == nil {
		t.Fatal("Decide without the certificate file succeeded")
	}
	if err := os.Rename(certFile+".away", certFile); err != nil {
		t.Fatal(err)
	}
	if _, err := decide(); err != nil {
		t.Fatalf("Decide after the file came back: %v", err)
	}
	// A renewed certificate is picked up.
	g := newClientFiles(t)
	writeFile(t, certFile, readFile(t, g.bundle))
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(certFile, future, future); err != nil {
		t.Fatal(err)
	}
	p3, err := decide()
	if err != nil || !bytes.Equal(p3.clientCert.Leaf.Raw, g.cert.cert.Raw) {
		t.Fatalf("renewed certificate not loaded (%v)", err)
	}
}

func TestRootsCache(t *testing.T) {
	root := newNode(t, nil, nil)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "0123abcd.0"), certPEM(root.cert))
	writeFile(t, filepath.Join(dir, "0123abcd.r0"), "not a certificate\n")
	writeFile(t, filepath.Join(dir, "README"), "ignored\n")
	d := tlsdest(t, "+*:"+dir+"/\n")
	files := NewFileCache()
	p1, err := Decide(d, nil, Input{Destination: "mx.example.test", Files: files})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := Decide(d, nil, Input{Destination: "mx.example.test", Files: files})
	if err != nil || p1.roots != p2.roots {
		t.Fatalf("roots loaded twice (%v)", err)
	}
	if p3, err := Decide(d, nil, Input{Destination: "mx.example.test"}); err != nil || p3.roots == p1.roots {
		t.Fatalf("without a cache the roots came from one (%v)", err)
	}
	leaf := newNode(t, root, nil, "mx.example.test")
	if _, err := leaf.cert.Verify(x509.VerifyOptions{Roots: p1.roots}); err != nil {
		t.Errorf("hashed CA file not loaded: %v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
