package mtasts

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/dns"
)

// testCA is an in-process certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mtasts test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// issue returns a server certificate for names signed by the CA.
func (ca *testCA) issue(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key := newKey(t)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// policyServer is an HTTPS server on loopback that stands for mta-sts.<domain>. handler can
// be swapped while it runs; hits counts the requests.
type policyServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	handler http.HandlerFunc
	hits    atomic.Int32
}

// startPolicyServer serves handler over TLS with a certificate for certNames from ca.
func startPolicyServer(t *testing.T, ca *testCA, handler http.HandlerFunc, certNames ...string) *policyServer {
	t.Helper()
	ps := &policyServer{handler: handler}
	ps.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.hits.Add(1)
		ps.mu.Lock()
		h := ps.handler
		ps.mu.Unlock()
		h(w, r)
	}))
	ps.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests want
	ps.srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, certNames...)}}
	ps.srv.StartTLS()
	t.Cleanup(ps.srv.Close)
	return ps
}

func (ps *policyServer) set(h http.HandlerFunc) {
	ps.mu.Lock()
	ps.handler = h
	ps.mu.Unlock()
}

// fetcher returns a Fetcher that trusts ca and dials ps whatever the host, and records the
// addresses it was asked to dial in dialed.
func (ps *policyServer) fetcher(ca *testCA, dialed *[]string) *Fetcher {
	var mu sync.Mutex
	return &Fetcher{
		Roots:   ca.pool,
		Timeout: 2 * time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dialed != nil {
				mu.Lock()
				*dialed = append(*dialed, addr)
				mu.Unlock()
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", ps.srv.Listener.Addr().String())
		},
	}
}

// serve returns a handler that answers body as text/plain.
func serve(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}
}

// fakeTXT answers TXT questions from a map; a name mapped to nil does not exist, a name in
// fail fails temporarily. It can be changed while in use.
type fakeTXT struct {
	mu   sync.Mutex
	txt  map[string][]string
	fail map[string]bool
}

func (f *fakeTXT) LookupTXT(_ context.Context, name string) ([]string, dns.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[name] {
		return nil, dns.Result{}, &dns.Error{Name: name, Type: "TXT", Err: dns.ErrTemporary}
	}
	txts, ok := f.txt[name]
	if !ok || txts == nil {
		return nil, dns.Result{}, &dns.Error{Name: name, Type: "TXT", Err: dns.ErrNotFound}
	}
	return txts, dns.Result{}, nil
}

func (f *fakeTXT) set(name string, txts []string, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.txt == nil {
		f.txt, f.fail = map[string][]string{}, map[string]bool{}
	}
	f.txt[name] = txts
	f.fail[name] = fail
}

// clock is a settable time source for Resolver.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
