package qmailremote

import (
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/smtptest"
)

const (
	authUser = "tim"
	authPass = "tanstaaftanstaaf"
	// authPlainIR is base64("\0tim\0tanstaaftanstaaf"), PLAIN's initial response.
	authPlainIR = "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
	// cramChallenge and cramResponse are RFC 2195's example, for tim and the password above.
	cramChallenge = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
	cramResponse  = "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
)

// authRoute is the smtproutes line that sends example.test to addr with the test credentials.
func authRoute(addr string) string {
	return "example.test:" + strings.Replace(addr, ":", ";", 1) + "|" + authUser + "|" + authPass + "\n"
}

// ehloAuth is a greeting and an EHLO reply offering mechs (and STARTTLS when tls).
func ehloAuth(mechs string, tls bool) string {
	s := "\n< 220 mx.example.test ESMTP\n> EHLO helo.example.test\n< 250-mx.example.test\n"
	if tls {
		s += "< 250-STARTTLS\n"
	}
	return s + "< 250 AUTH " + mechs + "\n"
}

// authData is the transaction after a successful AUTH: MAIL FROM carries AUTH= (RFC 4954 §5).
const authData = `
> MAIL FROM:<s@example.org> AUTH=s@example.org
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA
< 354 go
! data
< 250 2.0.0 queued
> QUIT`

// TestAuthReports drives the AUTH mechanisms and failures through qmail-remote and compares the
// report bytes (docs/auth.md); no report may hold the password.
func TestAuthReports(t *testing.T) {
	tests := []struct {
		name   string
		script string
		extra  map[string]string
		want   string
	}{
		{"PLAIN in clear refused", ehloAuth("PLAIN LOGIN", false) + "> QUIT", nil,
			"ZConnected to 127.0.0.1 but AUTH would send the password without TLS.\n\x00"},
		{"PLAIN in clear where authinclear allows", ehloAuth("PLAIN LOGIN", false) + "> AUTH PLAIN " + authPlainIR + "\n< 235 ok" + authData,
			map[string]string{"authinclear": "127.0.0.1\n"}, "r\x00" + ok},
		{"CRAM-MD5 chosen over PLAIN and LOGIN", ehloAuth("PLAIN LOGIN CRAM-MD5", false) +
			"> AUTH CRAM-MD5\n< 334 " + cramChallenge + "\n> " + cramResponse + "\n< 235 ok" + authData, nil, "r\x00" + ok},
		{"authmechanisms forces LOGIN", ehloAuth("PLAIN LOGIN CRAM-MD5", false) +
			"> AUTH LOGIN\n< 334 VXNlcm5hbWU6\n> dGlt\n< 334 UGFzc3dvcmQ6\n> dGFuc3RhYWZ0YW5zdGFhZg==\n< 235 ok" + authData,
			map[string]string{"authmechanisms": "login\n", "authinclear": "*\n"}, "r\x00" + ok},
		{"PLAIN rejected", ehloAuth("PLAIN", false) + "> AUTH PLAIN " + authPlainIR + "\n< 535 5.7.8 no\n> QUIT",
			map[string]string{"authinclear": "*\n"}, "ZConnected to 127.0.0.1 but authentication was rejected (plain).\nRemote host said: 535 5.7.8 no\n\x00"},
		{"AUTH PLAIN not understood", ehloAuth("PLAIN", false) + "> AUTH PLAIN " + authPlainIR + "\n< 504 5.5.4 what\n> QUIT",
			map[string]string{"authinclear": "*\n"}, "ZConnected to 127.0.0.1 but authentication was rejected (AUTH PLAIN).\nRemote host said: 504 5.5.4 what\n\x00"},
		{"LOGIN username rejected", ehloAuth("LOGIN", false) + "> AUTH LOGIN\n< 334 VXNlcm5hbWU6\n> dGlt\n< 535 who\n> QUIT",
			map[string]string{"authinclear": "*\n"}, "ZConnected to 127.0.0.1 but authentication was rejected (username).\nRemote host said: 535 who\n\x00"},
		{"CRAM-MD5 refused", ehloAuth("CRAM-MD5", false) + "> AUTH CRAM-MD5\n< 454 4.7.0 later\n> QUIT", nil,
			"ZConnected to 127.0.0.1 but authentication was rejected (AUTH CRAM-MD5).\nRemote host said: 454 4.7.0 later\n\x00"},
		{"CRAM-MD5 digest rejected", ehloAuth("CRAM-MD5", false) + "> AUTH CRAM-MD5\n< 334 " + cramChallenge + "\n> " + cramResponse + "\n< 535 5.7.8 no\n> QUIT", nil,
			"ZConnected to 127.0.0.1 but authentication was rejected (username+digest).\nRemote host said: 535 5.7.8 no\n\x00"},
		{"challenge not base64", ehloAuth("CRAM-MD5", false) + "> AUTH CRAM-MD5\n< 334 %%%\n> *\n< 501 5.7.0 cancelled\n> QUIT", nil,
			"ZConnected to 127.0.0.1 but unable to base64decode challenge.\nRemote host said: 501 5.7.0 cancelled\n\x00"},
		{"mechanism too weak", ehloAuth("CRAM-MD5", false) + "> AUTH CRAM-MD5\n< 534 5.7.9 weak\n> QUIT", nil,
			"ZConnected to 127.0.0.1 but authentication mechanism too weak (cram).\nRemote host said: 534 5.7.9 weak\n\x00"},
		{"password expired", ehloAuth("PLAIN", false) + "> AUTH PLAIN " + authPlainIR + "\n< 432 4.7.12 change it\n> QUIT",
			map[string]string{"authinclear": "*\n"}, "DConnected to 127.0.0.1 but password expired.\nRemote host said: 432 4.7.12 change it\n\x00"},
		{"nothing usable offered: unauthenticated", ehloAuth("GSSAPI", false) + "\n> MAIL FROM:<s@example.org>\n< 250 ok\n> RCPT TO:<a@example.test>\n< 250 ok\n> DATA\n< 354 go\n! data\n< 250 2.0.0 queued\n> QUIT", nil,
			"r\x00K127.0.0.1 accepted message.\n" + "No supported AUTH method found, continuing without authentication.\n" + "Remote host said: 250 2.0.0 queued\n\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.script)
			extra := map[string]string{"smtproutes": authRoute(srv.Addr())}
			for k, v := range tt.extra {
				extra[k] = v
			}
			got := run(t, srv.Addr(), msg, extra)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if strings.Contains(got, authPass) {
				t.Errorf("the report holds the password: %q", got)
			}
		})
	}
}

// TestAuthAfterSTARTTLS: AUTH comes after STARTTLS and the second EHLO, and PLAIN is fine
// there without any setting.
func TestAuthAfterSTARTTLS(t *testing.T) {
	srv, _ := tlsServer(t, ehloTLS+`> STARTTLS
< 220 go ahead
! starttls
> EHLO helo.example.test
< 250-mx.example.test
< 250 AUTH PLAIN LOGIN
> AUTH PLAIN `+authPlainIR+`
< 235 2.7.0 ok`+authData)
	got := run(t, srv.Addr(), msg, map[string]string{"smtproutes": authRoute(srv.Addr())})
	if want := "r\x00K127.0.0.1 TLS transmitted message accepted.\nRemote host said: 250 2.0.0 queued\n\x00"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestAuthSenders: an authsenders entry for the sender's domain routes and authenticates before
// any smtproutes entry (which here would send the mail elsewhere).
func TestAuthSenders(t *testing.T) {
	srv := smtptest.Start(t, ehloAuth("CRAM-MD5", false)+"> AUTH CRAM-MD5\n< 334 "+cramChallenge+"\n> "+cramResponse+"\n< 235 ok"+authData)
	got := run(t, srv.Addr(), msg, map[string]string{
		"smtproutes":  "example.test:127.0.0.1;9\n",
		"authsenders": "@example.org:" + strings.Replace(srv.Addr(), ":", ";", 1) + "|" + authUser + "|" + authPass + "\n",
	})
	if got != "r\x00"+ok {
		t.Errorf("got %q", got)
	}
}

// TestDomainIPs: the HELO name and the source address of the sender's domain; a bad address
// and one that cannot be bound give s/qmail's reports.
func TestDomainIPs(t *testing.T) {
	t.Run("helo name and source address", func(t *testing.T) {
		srv := smtptest.Start(t, "\n< 220 mx\n> EHLO out.example.org\n< 250 mx"+dataOK+"\n< 250 2.0.0 queued\n> QUIT")
		got := run(t, srv.Addr(), msg, map[string]string{"domainips": "example.org:127.0.0.1|out.example.org\n"})
		if got != "r\x00"+ok {
			t.Errorf("got %q", got)
		}
	})
	t.Run("another domain keeps helohost", func(t *testing.T) {
		srv := smtptest.Start(t, ehloPlain+dataOK+"\n< 250 2.0.0 queued\n> QUIT")
		got := run(t, srv.Addr(), msg, map[string]string{"domainips": "other.test:127.0.0.1|out.other.test\n"})
		if got != "r\x00"+ok {
			t.Errorf("got %q", got)
		}
	})
	t.Run("invalid address", func(t *testing.T) {
		got := run(t, "127.0.0.1:9", msg, map[string]string{"domainips": "*:300.1.1.1\n"})
		if want := "ZInvalid ipaddr in control/domainips (#4.3.0)\n\x00"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("address not on this machine", func(t *testing.T) {
		got := run(t, "127.0.0.1:9", msg, map[string]string{"domainips": "example.org:192.0.2.55\n"})
		if want := "ZCan't bind to local ip address: 192.0.2.55. (#4.3.0)\n\x00"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("other family is not bound", func(t *testing.T) {
		srv := smtptest.Start(t, ehloPlain+dataOK+"\n< 250 2.0.0 queued\n> QUIT")
		got := run(t, srv.Addr(), msg, map[string]string{"domainips": "*:2001:db8::55\n"})
		if got != "r\x00"+ok {
			t.Errorf("got %q", got)
		}
	})
}
