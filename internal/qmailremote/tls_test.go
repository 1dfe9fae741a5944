package qmailremote

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/smtptest"
)

const ehloTLS = `
< 220 mx.example.test ESMTP
> EHLO helo.example.test
< 250-mx.example.test
< 250 STARTTLS
`

// tlsServer starts a scripted server whose TLS certificate is issued for 127.0.0.1 by a CA
// written to a file, and returns the server and the CA file.
func tlsServer(t *testing.T, scripts ...string) (*smtptest.Server, string) {
	t.Helper()
	cert := smtptest.NewCert(t, "127.0.0.1")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, cert.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	o := smtptest.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert.Leaf}}, Timeout: 5 * time.Second}
	return smtptest.StartOpts(t, o, scripts...), ca
}

const afterTLS = `
> EHLO helo.example.test
< 250 mx.example.test
` + dataOK + `
< 250 2.0.0 queued
> QUIT`

func TestSTARTTLS(t *testing.T) {
	tests := []struct {
		name, rule, want string
	}{
		{"opportunistic by default", "", "r\x00K127.0.0.1 TLS transmitted message accepted.\nRemote host said: 250 2.0.0 queued\n\x00"},
		{"CA rule", "127.0.0.1:CA\n", "r\x00K127.0.0.1 TLS (verified CA) transmitted message accepted.\nRemote host said: 250 2.0.0 queued\n\x00"},
		{"exact name rule", "=127.0.0.1:CA\n", "r\x00K127.0.0.1 TLS (verified CA+DN) transmitted message accepted.\nRemote host said: 250 2.0.0 queued\n\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, ca := tlsServer(t, ehloTLS+"> STARTTLS\n< 220 go ahead\n! starttls\n"+afterTLS)
			got := run(t, srv.Addr(), msg, map[string]string{"tlsdestinations": strings.ReplaceAll(tt.rule, "CA", ca)})
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestMandatoryWithoutSTARTTLS: nothing after EHLO but QUIT crosses in clear.
func TestMandatoryWithoutSTARTTLS(t *testing.T) {
	srv, ca := tlsServer(t, `
< 220 mx.example.test ESMTP
> EHLO helo.example.test
< 250-mx.example.test
< 250 PIPELINING
> QUIT`)
	got := run(t, srv.Addr(), msg, map[string]string{"tlsdestinations": "127.0.0.1:" + ca + "\n"})
	if got != "ZI wasn't able to negotiate a STARTTLS connection with: 127.0.0.1 for 127.0.0.1. (#4.4.1)\n\x00" {
		t.Errorf("got %q", got)
	}
	if r := string(srv.Received()); strings.Contains(r, "MAIL") {
		t.Errorf("envelope sent in clear: %q", r)
	}
}

func TestSTARTTLSRefused(t *testing.T) {
	t.Run("opportunistic goes on in clear", func(t *testing.T) {
		srv := smtptest.Start(t, ehloTLS+"> STARTTLS\n< 454 4.7.0 TLS not available\n"+dataOK+"\n< 250 2.0.0 queued\n> QUIT")
		if got := run(t, srv.Addr(), msg, nil); got != "r\x00"+ok {
			t.Errorf("got %q", got)
		}
	})
	t.Run("mandatory gives up", func(t *testing.T) {
		srv := smtptest.Start(t, ehloTLS+"> STARTTLS\n< 454 4.7.0 TLS not available\n> QUIT")
		got := run(t, srv.Addr(), msg, map[string]string{"tlsdestinations": "-127.0.0.1:\n"})
		if got != "ZConnected to 127.0.0.1 but STARTTLS was rejected.\nRemote host said: 454 4.7.0 TLS not available\n\x00" {
			t.Errorf("got %q", got)
		}
	})
}

// TestHandshakeFailure: under the default "*" a failed handshake is a temporary failure and no
// plaintext retry; under "?" the same address is dialled again and used in clear.
func TestHandshakeFailure(t *testing.T) {
	broken := ehloTLS + "> STARTTLS\n< 220 go ahead\n! close"
	t.Run("default: no retry in clear", func(t *testing.T) {
		srv := smtptest.Start(t, broken)
		got := run(t, srv.Addr(), msg, nil)
		if got != "ZTLS connection/protocol error with host: 127.0.0.1 for 127.0.0.1. (#4.4.1)\n\x00" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("? rule: retry in clear", func(t *testing.T) {
		plain := ehloTLS + dataOK + "\n< 250 2.0.0 queued\n> QUIT"
		srv := smtptest.StartOpts(t, smtptest.Options{}, broken, plain)
		got := run(t, srv.Addr(), msg, map[string]string{"tlsdestinations": "?127.0.0.1:\n"})
		if got != "r\x00"+ok {
			t.Errorf("got %q", got)
		}
	})
}

func TestImplicitTLS(t *testing.T) {
	srv, ca := tlsServer(t, "! tls\n< 220 mx.example.test ESMTP\n"+afterTLS)
	port := srv.AddrPort().Port()
	rule := "127.0.0.1:" + ca + ";s" + strconv.Itoa(int(port)) + "\n"
	got := run(t, srv.Addr(), msg, map[string]string{"tlsdestinations": rule})
	want := "r\x00K127.0.0.1 TLS (verified CA) transmitted message accepted.\nRemote host said: 250 2.0.0 queued\n\x00"
	if got != want {
		t.Errorf("got %q", got)
	}
}

func TestTLSRuleErrors(t *testing.T) {
	got := run(t, "127.0.0.1:1", msg, map[string]string{"tlsdestinations": "127.0.0.1:/nonexistent/ca.pem\n"})
	if got != "ZI wasn't able to set up CAFILE or CADIR: /nonexistent/ca.pem for TLS. (#4.4.1)\n\x00" {
		t.Errorf("got %q", got)
	}
	got = run(t, "127.0.0.1:1", msg, map[string]string{"tlsdestinations": "127.0.0.1:|NOSUCHCIPHER\n"})
	if got != "ZI wasn't able to process the TLS ciphers: NOSUCHCIPHER. (#4.4.1)\n\x00" {
		t.Errorf("got %q", got)
	}
	// The manual's example 15: anonymous DH only, which Go's crypto/tls cannot do.
	got = run(t, "127.0.0.1:1", msg, map[string]string{"tlsdestinations": "-127.0.0.1:||aNULL:!kRSA\n"})
	if got != "ZI wasn't able to process the TLS ciphers: aNULL:!kRSA. (#4.4.1)\n\x00" {
		t.Errorf("got %q", got)
	}
}
