package sasl_test

import (
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

// reference runs a whole SCRAM-SHA-256 conversation between github.com/xdg-go/scram's client
// and server, both with fixed nonces, and returns its four messages: the reference computation
// the scripted server replays. The server knows serverPass.
func reference(t *testing.T, user, pass, serverPass, cnonce, snonce string) (clientFirst, serverFirst, clientFinal, serverFinal string) {
	t.Helper()
	kf := scram.KeyFactors{Salt: "QSXCR+Q6sek8bf92", Iters: 4096}
	stored, err := scram.SHA256.NewClient(user, serverPass, "")
	if err != nil {
		t.Fatal(err)
	}
	creds := stored.GetStoredCredentials(kf)
	srv, err := scram.SHA256.NewServer(func(string) (scram.StoredCredentials, error) { return creds, nil })
	if err != nil {
		t.Fatal(err)
	}
	cl, err := scram.SHA256.NewClient(user, pass, "")
	if err != nil {
		t.Fatal(err)
	}
	cc := cl.WithNonceGenerator(func() string { return cnonce }).NewConversation()
	sc := srv.WithNonceGenerator(func() string { return snonce }).NewConversation()
	clientFirst, _ = cc.Step("")
	serverFirst, _ = sc.Step(clientFirst)
	clientFinal, _ = cc.Step(serverFirst)
	serverFinal, _ = sc.Step(clientFinal)
	return
}

// TestSCRAMScripted: SCRAM-SHA-256 through smtp.Client.Auth against the scripted SMTP server
// replaying the reference conversation; a server whose signature is wrong (it does not know
// the password) is cancelled with "*" and fails with ErrServerSignature.
func TestSCRAMScripted(t *testing.T) {
	const cnonce, snonce = "fyko+d2lbbFgONRv9qkxdawL", "3rfcNHYJY1ZVvWVs7j"
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tt := range []struct {
		name, serverPass string
		ok               bool
	}{{"verified", "pencil", true}, {"wrong server signature", "not-pencil", false}} {
		t.Run(tt.name, func(t *testing.T) {
			cf, sf, cfin, sfin := reference(t, "user", "pencil", tt.serverPass, cnonce, snonce)
			if !tt.ok {
				// The reference server refuses the proof of a password it does not know; an
				// impostor would answer anyway, with the signature of the password it has.
				sfin = "v=" + b64("not the signature of pencil, 32b")
			}
			end := "< 334 " + b64(sfin) + "\n>\n< 235 2.7.0 ok\n"
			if !tt.ok {
				end = "< 334 " + b64(sfin) + "\n> *\n< 501 5.7.0 cancelled\n"
			}
			srv := smtptest.Start(t, "< 220 mx\n> EHLO c.test\n< 250-mx\n< 250 AUTH SCRAM-SHA-256\n"+
				"> AUTH SCRAM-SHA-256 "+b64(cf)+"\n< 334 "+b64(sf)+"\n> "+b64(cfin)+"\n"+end)
			conn, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			c := smtp.NewClient(conn, smtp.Options{Timeout: 2 * time.Second})
			defer c.Close()
			ctx := context.Background()
			if _, err := c.Greeting(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.Hello(ctx, "c.test"); err != nil {
				t.Fatal(err)
			}
			m := sasl.NewSCRAMSHA256Nonce(sasl.Credentials{Username: "user", Password: secret.New("pencil")}, cnonce)
			err = c.Auth(ctx, m)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("Auth = %v", err)
			case !tt.ok && !errors.Is(err, sasl.ErrServerSignature):
				t.Fatalf("Auth = %v, want ErrServerSignature", err)
			case !tt.ok && strings.Contains(err.Error(), "pencil"):
				t.Fatalf("the error names the password: %v", err)
			}
		})
	}
}
