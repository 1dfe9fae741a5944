package smtp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/smtptest"
)

// helloWith greets and answers EHLO with the given extension lines.
func helloWith(ext ...string) string {
	s := "< 220 mx\n> EHLO client.test\n"
	if len(ext) == 0 {
		return s + "< 250 mx\n"
	}
	s += "< 250-mx\n"
	for i, e := range ext {
		if i == len(ext)-1 {
			s += "< 250 " + e + "\n"
		} else {
			s += "< 250-" + e + "\n"
		}
	}
	return s
}

var dsnEnvelope = smtp.Envelope{
	From: "s@example.org", To: []string{"a+tag@example.test", "b@example.test"},
	DSN: smtp.DSN{Ret: "hdrs", EnvID: "q+1 =x", Notify: "success,failure", ORcpt: []string{"rfc822;a+tag@example.test", ""}},
}

// TestDSNParameters (RFC 3461): RET and ENVID on MAIL FROM, NOTIFY and ORCPT on each RCPT TO,
// xtext-encoded, only when the server offers DSN; stepwise and pipelined write the same lines.
func TestDSNParameters(t *testing.T) {
	offered := "> MAIL FROM:<s@example.org> RET=HDRS ENVID=q+2B1+20+3Dx\n< 250 ok\n" +
		"> RCPT TO:<a+tag@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Btag@example.test\n< 250 ok\n" +
		"> RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE\n< 250 ok\n> DATA\n< 354 go\n"
	plain := "> MAIL FROM:<s@example.org>\n< 250 ok\n> RCPT TO:<a+tag@example.test>\n< 250 ok\n" +
		"> RCPT TO:<b@example.test>\n< 250 ok\n> DATA\n< 354 go\n"
	tests := []struct {
		name, script string
	}{
		{"offered", helloWith("DSN") + offered},
		{"offered, pipelined", helloWith("PIPELINING", "DSN") + // the group in one write, then the replies
			"> MAIL FROM:<s@example.org> RET=HDRS ENVID=q+2B1+20+3Dx\n" +
			"> RCPT TO:<a+tag@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Btag@example.test\n" +
			"> RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE\n> DATA\n< 250 ok\n< 250 ok\n< 250 ok\n< 354 go\n"},
		{"not offered", helloWith("8BITMIME") + plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.script+"! data\n< 250 2.0.0 queued\n! eof-or-quit")
			c := session(t, srv, 5*time.Second)
			if _, err := c.Envelope(t.Context(), dsnEnvelope); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Body(t.Context(), strings.NewReader("x\n")); err != nil {
				t.Fatal(err)
			}
			c.Quit(t.Context())
		})
	}
}

// TestDSNRefusedLocally: a parameter that cannot be sent refuses the transaction before MAIL.
func TestDSNRefusedLocally(t *testing.T) {
	srv := smtptest.Start(t, helloWith("DSN")+"! eof-or-quit")
	c := session(t, srv, 5*time.Second)
	env := dsnEnvelope
	env.DSN.Notify = "NEVER,SUCCESS"
	_, err := c.Envelope(t.Context(), env)
	var e *smtp.Error
	if !errors.As(err, &e) || !errors.Is(err, smtp.ErrDSN) || e.Phase != smtp.PhaseMail || e.Temporary() {
		t.Fatalf("got %v", err)
	}
	c.Quit(t.Context())
}

// TestRequireTLSParameter (RFC 8689 §4.2.1): REQUIRETLS goes on MAIL FROM when offered; a server
// that does not offer it gets no MAIL at all, and the refusal is permanent.
func TestRequireTLSParameter(t *testing.T) {
	env := smtp.Envelope{From: "s@example.org", To: []string{"b@example.test"}, RequireTLS: true}
	t.Run("offered", func(t *testing.T) {
		srv := smtptest.Start(t, helloWith("REQUIRETLS")+"> MAIL FROM:<s@example.org> REQUIRETLS\n< 250 ok\n"+
			"> RCPT TO:<b@example.test>\n< 250 ok\n> DATA\n< 354 go\n! eof-or-quit")
		c := session(t, srv, 5*time.Second)
		if _, err := c.Envelope(t.Context(), env); err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	t.Run("not offered", func(t *testing.T) {
		srv := smtptest.Start(t, helloWith("DSN")+"! eof-or-quit")
		c := session(t, srv, 5*time.Second)
		_, err := c.Envelope(t.Context(), env)
		var e *smtp.Error
		if !errors.As(err, &e) || !errors.Is(err, smtp.ErrRequireTLS) || e.Temporary() || e.Reply != nil {
			t.Fatalf("got %v", err)
		}
		c.Quit(t.Context())
	})
}

// TestBDATWire: with CHUNKING the envelope has no DATA, the text goes as one BDAT LAST chunk,
// byte for byte (no dot-stuffing, CRLF line ends), and BODY= says what the text needs.
func TestBDATWire(t *testing.T) {
	text := ".leading dot\r\nbare LF\n"
	wire := ".leading dot\r\nbare LF\r\n"
	tests := []struct {
		name    string
		ext     []string
		env     smtp.Envelope
		mail    string
		grouped bool
	}{
		{"stepwise", []string{"CHUNKING", "SIZE"}, smtp.Envelope{Size: 23}, "MAIL FROM:<s@example.org> SIZE=23", false},
		{"pipelined", []string{"PIPELINING", "CHUNKING"}, smtp.Envelope{}, "MAIL FROM:<s@example.org>", true},
		{"binary, offered", []string{"CHUNKING", "BINARYMIME", "8BITMIME"}, smtp.Envelope{Binary: true}, "MAIL FROM:<s@example.org> BODY=BINARYMIME", false},
		{"binary, 8bitmime only", []string{"CHUNKING", "8BITMIME"}, smtp.Envelope{Binary: true}, "MAIL FROM:<s@example.org> BODY=8BITMIME", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := helloWith(tt.ext...) + "> " + tt.mail + "\n"
			if tt.grouped {
				script += "> RCPT TO:<b@example.test>\n< 250 ok\n< 250 ok\n"
			} else {
				script += "< 250 ok\n> RCPT TO:<b@example.test>\n< 250 ok\n"
			}
			script += "> BDAT 23 LAST\n! read 23\n< 250 2.0.0 queued\n! eof-or-quit"
			srv := smtptest.Start(t, script)
			c := session(t, srv, 5*time.Second)
			env := tt.env
			env.From, env.To, env.Chunking = "s@example.org", []string{"b@example.test"}, true
			sent, err := c.Envelope(t.Context(), env)
			if err != nil || !sent.Chunked {
				t.Fatalf("envelope: %v, chunked %v", err, sent.Chunked)
			}
			r, err := c.BDAT(t.Context(), strings.NewReader(text), env.Size)
			if err != nil || r.Code != 250 {
				t.Fatalf("BDAT: %v %v", r, err)
			}
			c.Quit(t.Context())
			c.Close()
			srv.Wait(t.Context())
			if got := string(srv.Received()); !strings.Contains(got, "BDAT 23 LAST\r\n"+wire) {
				t.Errorf("received %q, want the chunk %q", got, wire)
			}
		})
	}
}

// TestBDATNotOffered: without CHUNKING the envelope ends with DATA, as before.
func TestBDATNotOffered(t *testing.T) {
	srv := smtptest.Start(t, helloWith("8BITMIME")+"> MAIL FROM:<s@example.org>\n< 250 ok\n> RCPT TO:<b@example.test>\n< 250 ok\n> DATA\n< 354 go\n! eof-or-quit")
	c := session(t, srv, 5*time.Second)
	sent, err := c.Envelope(t.Context(), smtp.Envelope{From: "s@example.org", To: []string{"b@example.test"}, Chunking: true})
	if err != nil || sent.Chunked {
		t.Fatalf("%v, chunked %v", err, sent.Chunked)
	}
	c.Close()
}

// TestBDATLastLost (decision 10): the connection lost after the LAST chunk was written is a
// possible duplicate; lost while a chunk before it is answered, it is not.
func TestBDATLastLost(t *testing.T) {
	srv := smtptest.Start(t, helloWith("CHUNKING")+"> MAIL FROM:<s@example.org>\n< 250 ok\n> RCPT TO:<b@example.test>\n< 250 ok\n"+
		"> BDAT 3 LAST\n! read 3\n! close")
	c := session(t, srv, 5*time.Second)
	if _, err := c.Envelope(t.Context(), smtp.Envelope{From: "s@example.org", To: []string{"b@example.test"}, Chunking: true}); err != nil {
		t.Fatal(err)
	}
	_, err := c.BDAT(t.Context(), strings.NewReader("x\n"), 0)
	var e *smtp.Error
	if !errors.As(err, &e) || e.Phase != smtp.PhaseDot || !e.MaybeDelivered() {
		t.Fatalf("got %v, want a possible duplicate", err)
	}
}

// TestBDATUnsolicited (decision 12): a reply that no command asked for, waiting when a message's
// only chunk or the first of its several chunks is due, is ErrUnsolicited and no chunk is sent:
// it would be counted as that chunk's reply.
func TestBDATUnsolicited(t *testing.T) {
	for _, text := range []string{"x\n", strings.Repeat("x\n", 70000)} {
		srv := smtptest.Start(t, helloWith("CHUNKING")+"> MAIL FROM:<s@example.org>\n< 250 ok\n> RCPT TO:<b@example.test>\n< 250 ok\n"+
			"< 250 extra\n! expect-eof")
		c := session(t, srv, 5*time.Second)
		if _, err := c.Envelope(t.Context(), smtp.Envelope{From: "s@example.org", To: []string{"b@example.test"}, Chunking: true}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // the stray reply arrives
		_, err := c.BDAT(t.Context(), strings.NewReader(text), 0)
		var e *smtp.Error
		if !errors.As(err, &e) || !errors.Is(err, smtp.ErrUnsolicited) || e.MaybeDelivered() || !c.Botched() {
			t.Fatalf("%d bytes: got %v", len(text), err)
		}
		c.Close()
	}
}
