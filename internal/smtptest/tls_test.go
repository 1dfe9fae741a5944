package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"strings"
	"testing"
)

// clientTLS returns a client configuration that trusts c's CA.
func clientTLS(c Cert, name string) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(c.CA)
	return &tls.Config{RootCAs: pool, ServerName: name}
}

const starttlsScript = `
< 220 mx.example.test ESMTP
> EHLO client.example.test
< 250-mx.example.test
< 250 STARTTLS
> STARTTLS
< 220 2.0.0 go ahead
! starttls
> EHLO client.example.test
< 250 mx.example.test
> QUIT
< 221 bye
`

// TestStartTLS upgrades a session with a NewCert certificate that the client
// verifies, and records the plaintext of both halves.
func TestStartTLS(t *testing.T) {
	cert := NewCert(t, "mx.example.test")
	s := StartOpts(t, Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert.Leaf}}}, starttlsScript)
	c := dial(t, s.Addr())
	c.want("220 mx.example.test ESMTP")
	c.send("EHLO client.example.test\r\n")
	c.reply()
	c.send("STARTTLS\r\n")
	c.want("220 2.0.0 go ahead")
	tc := tls.Client(c.c, clientTLS(cert, "mx.example.test"))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.use(tc)
	c.send("EHLO client.example.test\r\n")
	c.want("250 mx.example.test")
	c.send("QUIT\r\n")
	c.want("221 bye")
	c.eof() // close_notify, then FIN
	tc.Close()
	waitOK(t, s)
	want := "EHLO client.example.test\r\nSTARTTLS\r\nEHLO client.example.test\r\nQUIT\r\n"
	if got := string(s.Received()); got != want {
		t.Errorf("Received %q; want %q (handshake bytes excluded)", got, want)
	}
}

// TestImplicitTLS: "! tls" first, verified against an IP address SAN.
func TestImplicitTLS(t *testing.T) {
	cert := NewCert(t, "mx.example.test", "127.0.0.1", "::1")
	s := StartOpts(t, Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert.Leaf}}},
		"! tls\n< 220 smtps\n> QUIT\n< 221 bye\n! close")
	c := dial(t, s.Addr())
	tc := tls.Client(c.c, clientTLS(cert, "127.0.0.1"))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.use(tc)
	c.want("220 smtps")
	c.send("QUIT\r\n")
	c.want("221 bye")
	c.eof()
	tc.Close()
	waitOK(t, s)
}

// TestDefaultCert: without Options.TLS the server presents a certificate for
// mx.example.test that no client can verify.
func TestDefaultCert(t *testing.T) {
	s := Start(t, "! tls\n< 220 smtps\n! close")
	c := dial(t, s.Addr())
	tc := tls.Client(c.c, &tls.Config{ServerName: "mx.example.test", InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	peer := tc.ConnectionState().PeerCertificates[0]
	if err := peer.VerifyHostname("mx.example.test"); err != nil {
		t.Errorf("default certificate: %v", err)
	}
	c.use(tc)
	c.want("220 smtps")
	c.eof()
	tc.Close()
	waitOK(t, s)
}

// TestHandshakeRefused: a client that rejects the certificate and hangs up
// satisfies "! starttls" followed by "! expect-eof"; sending anything in clear
// afterwards does not.
func TestHandshakeRefused(t *testing.T) {
	const script = "> STARTTLS\n< 220 go\n! starttls\n! expect-eof"
	refuse := func(t *testing.T, s *Server, after string) {
		c := dial(t, s.Addr())
		c.send("STARTTLS\r\n")
		c.want("220 go")
		untrusted := NewCert(t, "mx.example.test") // another CA
		tc := tls.Client(c.c, clientTLS(untrusted, "mx.example.test"))
		var uerr x509.UnknownAuthorityError
		if err := tc.Handshake(); !errors.As(err, &uerr) {
			t.Fatalf("handshake: %v; want an unknown authority", err)
		}
		if after != "" {
			c.sendAny(after)
		}
		c.close()
	}
	t.Run("hangs up", func(t *testing.T) {
		s := Start(t, script)
		refuse(t, s, "")
		waitOK(t, s)
	})
	t.Run("goes on in clear", func(t *testing.T) {
		s, f := startFake(t, Options{}, script)
		refuse(t, s, "QUIT\r\n")
		errs := f.finish()
		if len(errs) != 1 || !strings.Contains(errs[0], `script line 4 (! expect-eof): got "QUIT\r\n", want EOF`) {
			t.Errorf("reported %q", errs)
		}
	})
}

// TestCloseOverTLS: "! close" sends close_notify, so the client reads a clean
// EOF after the last reply.
func TestCloseOverTLS(t *testing.T) {
	cert := NewCert(t, "mx.example.test")
	s := StartOpts(t, Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert.Leaf}}}, "! tls\n< 421 bye\n! close")
	c := dial(t, s.Addr())
	tc := tls.Client(c.c, clientTLS(cert, "mx.example.test"))
	b, err := io.ReadAll(tc)
	if err != nil || string(b) != "421 bye\r\n" {
		t.Errorf("read %q, %v; want the reply and a clean EOF", b, err)
	}
	tc.Close()
	waitOK(t, s)
}

// TestNewCert checks the certificate contract: names, chain, PEM forms.
func TestNewCert(t *testing.T) {
	c := NewCert(t, "mx.example.test", "192.0.2.1", "2001:db8::1")
	leaf := c.Leaf.Leaf
	if leaf == nil || leaf.Subject.CommonName != "mx.example.test" || len(leaf.DNSNames) != 1 || len(leaf.IPAddresses) != 2 {
		t.Fatalf("leaf: %+v", leaf)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.CA)
	for _, name := range []string{"mx.example.test", "192.0.2.1", "2001:db8::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "other.example.test"}); err == nil {
		t.Error("verify other.example.test: want an error")
	}
	if len(c.Leaf.Certificate) != 2 || string(c.Leaf.Certificate[1]) != string(c.CA.Raw) {
		t.Error("chain: want the leaf followed by the CA")
	}
	kp, err := tls.X509KeyPair(c.LeafPEM, c.KeyPEM)
	if err != nil || string(kp.Certificate[0]) != string(leaf.Raw) {
		t.Errorf("X509KeyPair(LeafPEM, KeyPEM): %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(c.CAPEM) {
		t.Error("CAPEM does not parse")
	}
	if !c.CA.IsCA || c.CA.Subject.String() != leaf.Issuer.String() {
		t.Errorf("CA %v issued by %v", c.CA.Subject, leaf.Issuer)
	}
}

// TestNewCertNoNames fails the test.
func TestNewCertNoNames(t *testing.T) {
	f := newFake(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		NewCert(f)
	}()
	<-done
	if errs := f.finish(); !f.fatal || len(errs) != 1 || !strings.Contains(errs[0], "at least one name") {
		t.Errorf("reported %q, fatal %v", errs, f.fatal)
	}
}

func TestPastRecords(t *testing.T) {
	rec := "\x16\x03\x01\x00\x02ab" // a whole record
	tests := []struct{ in, want string }{
		{"", ""},
		{rec, ""},
		{rec + rec, ""},
		{rec + "QUIT\r\n", "QUIT\r\n"},
		{"QUIT\r\n", "QUIT\r\n"},
		{rec + "\x17\x03\x03\x00\x10abc", ""}, // a partial record: cannot tell
		{rec + "\x17\x03", ""},
		{rec + "\x17Q", "\x17Q"}, // not a TLS version
		{rec + "\x15", ""},
	}
	for _, tt := range tests {
		if got := string(pastRecords([]byte(tt.in))); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzPastRecords: whatever the client sent, the result is a suffix of it.
func FuzzPastRecords(f *testing.F) {
	f.Add([]byte("\x16\x03\x01\x00\x02abQUIT\r\n"))
	f.Add([]byte("\x15\x03\x03\x00\x02\x02\x2a"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if got := pastRecords(in); !strings.HasSuffix(string(in), string(got)) {
			t.Fatalf("%q is not a suffix of %q", got, in)
		}
	})
}
