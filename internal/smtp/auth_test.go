package smtp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/mxout/mxout/internal/sasl"
	"github.com/mxout/mxout/internal/secret"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/smtptest"
)

const authPassword = "tanstaaftanstaaf"

var authCreds = sasl.Credentials{Username: "tim", Password: secret.New(authPassword)}

// TestAuthExchanges drives each mechanism through the RFC 4954 framing against a scripted
// server: base64 both ways, "=" never needed, "*" on a bad challenge, the reply that ends it,
// and AUTH= on the MAIL FROM after success. The transcript never holds the password.
func TestAuthExchanges(t *testing.T) {
	const mail = "> MAIL FROM:<a+b=c@example.org> AUTH=a+2Bb+3Dc@example.org\n< 250 ok\n"
	tests := []struct {
		name   string
		mech   sasl.Mechanism
		script string
		ok     bool
		step   int
		code   int
		cause  error
	}{
		{"PLAIN", sasl.NewPlain(authCreds), "> AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\n< 235 2.7.0 ok\n" + mail, true, 0, 0, nil},
		{"PLAIN refused", sasl.NewPlain(authCreds), "> AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\n< 535 5.7.8 no\n", false, 0, 535, smtp.ErrReply},
		{"LOGIN", sasl.NewLogin(authCreds), "> AUTH LOGIN\n< 334 VXNlcm5hbWU6\n> dGlt\n< 334 UGFzc3dvcmQ6\n> dGFuc3RhYWZ0YW5zdGFhZg==\n< 235 ok\n" + mail, true, 0, 0, nil},
		{"LOGIN username refused", sasl.NewLogin(authCreds), "> AUTH LOGIN\n< 334 VXNlcm5hbWU6\n> dGlt\n< 535 no\n", false, 1, 535, smtp.ErrReply},
		{"CRAM-MD5 (RFC 2195 example)", sasl.NewCRAMMD5(authCreds),
			"> AUTH CRAM-MD5\n< 334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\n> dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\n< 235 ok\n" + mail, true, 0, 0, nil},
		{"CRAM-MD5 not offered after all", sasl.NewCRAMMD5(authCreds), "> AUTH CRAM-MD5\n< 504 5.5.4 unknown mechanism\n", false, 0, 504, smtp.ErrReply},
		{"challenge not base64: cancelled", sasl.NewCRAMMD5(authCreds), "> AUTH CRAM-MD5\n< 334 !!!\n> *\n< 501 5.7.0 cancelled\n", false, 1, 501, smtp.ErrAuthChallenge},
		{"challenge the mechanism refuses: cancelled", sasl.NewPlain(authCreds), "> AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\n< 334 \n> *\n< 501 cancelled\n", false, 1, 501, sasl.ErrUnexpectedChallenge},
		{"password expired", sasl.NewPlain(authCreds), "> AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\n< 432 4.7.12 change it\n", false, 0, 432, smtp.ErrReply},
		{"a refusal that quotes the payload is scrubbed", sasl.NewPlain(authCreds), "> AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\n< 501 5.5.2 cannot decode AHRpbQB0YW5zdGFhZnRhbnN0YWFm (tanstaaftanstaaf)\n", false, 0, 501, smtp.ErrReply},
		{"XOAUTH2", sasl.NewXOAUTH2(sasl.Credentials{Username: "tim", Token: secret.New("ya29.tok")}),
			"> AUTH XOAUTH2 dXNlcj10aW0BYXV0aD1CZWFyZXIgeWEyOS50b2sBAQ==\n< 235 2.7.0 accepted\n" + mail, true, 0, 0, nil},
		{"XOAUTH2 error challenge", sasl.NewXOAUTH2(sasl.Credentials{Username: "tim", Token: secret.New("ya29.tok")}),
			"> AUTH XOAUTH2 dXNlcj10aW0BYXV0aD1CZWFyZXIgeWEyOS50b2sBAQ==\n< 334 eyJzdGF0dXMiOiI0MDEifQ==\n>\n< 535 5.7.8 bad token\n", false, 1, 535, smtp.ErrReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, "< 220 mx\n> EHLO client.test\n< 250-mx\n< 250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2\n"+tt.script)
			var tr bytes.Buffer
			c := smtp.NewClient(dialT(t, srv), smtp.Options{Peer: srv.AddrPort(), Timeout: time.Second, Transcript: &tr})
			t.Cleanup(func() { c.Close() })
			ctx := context.Background()
			if _, err := c.Greeting(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.Hello(ctx, "client.test"); err != nil {
				t.Fatal(err)
			}
			err := c.Auth(ctx, tt.mech)
			if tt.ok {
				if err != nil || !c.Authenticated() {
					t.Fatalf("Auth = %v", err)
				}
				if _, err := c.Envelope(ctx, smtp.Envelope{From: "a+b=c@example.org"}); !errors.Is(err, smtp.ErrNoRecipients) {
					t.Fatalf("Envelope = %v", err)
				}
			} else {
				var se *smtp.Error
				var ae *smtp.AuthError
				if !errors.As(err, &se) || !errors.As(err, &ae) || se.Phase != smtp.PhaseAuth {
					t.Fatalf("Auth = %v, want an *Error in PhaseAuth with an *AuthError", err)
				}
				if ae.Step != tt.step || se.Reply == nil || se.Reply.Code != tt.code || !errors.Is(err, tt.cause) || c.Authenticated() {
					t.Fatalf("Auth = %v: step %d, reply %v; want step %d, code %d, cause %v", err, ae.Step, se.Reply, tt.step, tt.code, tt.cause)
				}
				if strings.Contains(se.Error(), authPassword) || strings.Contains(se.Error(), "AHRpbQB0YW5zdGFh") {
					t.Errorf("the error quotes the payload: %v", se)
				}
				if ae.Mechanism != sasl.Name(tt.mech) {
					t.Errorf("mechanism %q, want %q", ae.Mechanism, sasl.Name(tt.mech))
				}
			}
			for _, secretText := range []string{authPassword, "dGFuc3RhYWZ0YW5zdGFhZg", "AHRpbQB0YW5zdGFh", "ya29.tok", "dXNlcj10aW0B", "b913a602c7eda7a495b4e6e7334d3890"} {
				if strings.Contains(tr.String(), secretText) {
					t.Errorf("transcript holds %q:\n%s", secretText, tr.String())
				}
			}
		})
	}
}

// TestAuthBoundedRounds: a server that never stops challenging is cancelled.
func TestAuthBoundedRounds(t *testing.T) {
	script := "< 220 mx\n> EHLO client.test\n< 250-mx\n< 250 AUTH LOGIN\n> AUTH LOGIN\n< 334 VXNlcm5hbWU6\n> dGlt\n< 334 UGFzc3dvcmQ6\n> dGFuc3RhYWZ0YW5zdGFhZg==\n< 334 VXNlcm5hbWU6\n> *\n< 501 cancelled\n"
	srv := smtptest.Start(t, script)
	c := session(t, srv, time.Second)
	err := c.Auth(context.Background(), sasl.NewLogin(authCreds))
	if !errors.Is(err, sasl.ErrUnexpectedChallenge) {
		t.Fatalf("Auth = %v, want the mechanism's refusal of a third challenge", err)
	}
}

// TestAuthSCRAM runs SCRAM-SHA-256 against the server side of github.com/xdg-go/scram, the
// reference computation: a scripted server cannot answer a random client nonce, so this test
// has a small server of its own that speaks just greeting, EHLO, AUTH and QUIT. A server that
// does not know the password fails the client's check of its signature.
func TestAuthSCRAM(t *testing.T) {
	for _, tt := range []struct {
		name       string
		serverPass string
		ok         bool
	}{{"verified", authPassword, true}, {"server does not know the password", "other", false}} {
		t.Run(tt.name, func(t *testing.T) {
			addr := scramServer(t, "tim", tt.serverPass)
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c := smtp.NewClient(conn, smtp.Options{Timeout: 2 * time.Second})
			defer c.Close()
			ctx := context.Background()
			if _, err := c.Greeting(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.Hello(ctx, "client.test"); err != nil {
				t.Fatal(err)
			}
			m, err := sasl.Choose(strings.Fields(c.Extensions()["AUTH"]), authCreds, false, false)
			if err != nil || sasl.Name(m) != sasl.NameSCRAMSHA256 {
				t.Fatalf("Choose = %v, %v", sasl.Name(m), err)
			}
			err = c.Auth(ctx, m)
			if tt.ok && err != nil {
				t.Fatalf("Auth = %v", err)
			}
			if !tt.ok && err == nil {
				t.Fatal("Auth succeeded against a server that does not know the password")
			}
		})
	}
}

// scramServer serves one SMTP session that authenticates with SCRAM-SHA-256 for user, whose
// stored keys are derived from pass (4096 iterations, RFC 7677's minimum).
func scramServer(t *testing.T, user, pass string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	client, err := scram.SHA256.NewClient(user, pass, "")
	if err != nil {
		t.Fatal(err)
	}
	stored := client.GetStoredCredentials(scram.KeyFactors{Salt: "0123456789abcdef", Iters: 4096})
	srv, err := scram.SHA256.NewServer(func(u string) (scram.StoredCredentials, error) {
		if u != user {
			return scram.StoredCredentials{}, errors.New("unknown user")
		}
		return stored, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		say := func(s string) { conn.Write([]byte(s + "\r\n")) }
		line := func() string { l, _ := br.ReadString('\n'); return strings.TrimRight(l, "\r\n") }
		say("220 scram.test")
		line() // EHLO
		say("250-scram.test\r\n250 AUTH SCRAM-SHA-256 PLAIN")
		name, initial, _ := strings.Cut(strings.TrimPrefix(line(), "AUTH "), " ")
		if name != "SCRAM-SHA-256" {
			say("504 no")
			return
		}
		conv := srv.NewConversation()
		msg := initial
		for {
			in, err := base64.StdEncoding.DecodeString(msg)
			if err != nil {
				say("501 bad base64")
				return
			}
			out, err := conv.Step(string(in))
			if conv.Done() {
				if conv.Valid() {
					// server-final as a 334, answered with an empty line (RFC 5802 §5 over RFC 4954)
					say("334 " + base64.StdEncoding.EncodeToString([]byte(out)))
					line()
					say("235 2.7.0 ok")
				} else {
					say("535 5.7.8 no")
				}
				line()
				return
			}
			if err != nil {
				say("535 5.7.8 no")
				return
			}
			say("334 " + base64.StdEncoding.EncodeToString([]byte(out)))
			msg = line()
			if msg == "*" {
				say("501 cancelled")
				return
			}
		}
	}()
	return ln.Addr().String()
}
