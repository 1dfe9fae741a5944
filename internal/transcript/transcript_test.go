package transcript

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/smtptest"
)

// feed writes a dialogue in the smtp.Options.Transcript format through Write and returns the
// transcript.
func feed(t *testing.T, dialogue string) string {
	t.Helper()
	var out bytes.Buffer
	w := New(&out, Options{PID: 42})
	if _, err := w.Write([]byte(dialogue)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestFormat is a whole session: pid, direction, the message summarised, notes.
func TestFormat(t *testing.T) {
	got := feed(t, `S: 220 mx.example.test ESMTP
C: EHLO client.example.test
S: 250-mx.example.test
S: 250 PIPELINING
C: [TLS 1.3 TLS_AES_128_GCM_SHA256]
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.test>
C: DATA
S: 250 2.1.0 ok
S: 250 2.1.5 ok
S: 354 go ahead
C: Subject: secret plans
C: 
C: the text
C: .
S: 250 2.0.0 queued
something else
C: QUIT
`)
	want := `42 < 220 mx.example.test ESMTP
42 > EHLO client.example.test
42 < 250-mx.example.test
42 < 250 PIPELINING
42 > [TLS 1.3 TLS_AES_128_GCM_SHA256]
42 > MAIL FROM:<a@example.org>
42 > RCPT TO:<b@example.test>
42 > DATA
42 < 250 2.1.0 ok
42 < 250 2.1.5 ok
42 < 354 go ahead
42 > [message: 35 bytes]
42 < 250 2.0.0 queued
42 * something else
42 > QUIT
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestMessageText covers the ways the message text ends: the producer's own summary (as
// internal/smtp writes it), text ended by a reply without a dot, and Message.
func TestMessageText(t *testing.T) {
	got := feed(t, "S: 354 go\nC: [message text, then .]\nS: 250 ok\nS: 354 go\nC: line one\nS: 451 lost\n")
	want := "42 < 354 go\n42 > [message text, then .]\n42 < 250 ok\n42 < 354 go\n42 > [message: 10 bytes]\n42 < 451 lost\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var out bytes.Buffer
	w := New(&out, Options{PID: 7})
	w.Server("354 go")
	w.Message(1234)
	w.Client("QUIT") // not message text: Message ended it
	if want := "7 < 354 go\n7 > [message: 1234 bytes]\n7 > QUIT\n"; out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// TestPartialWrites gives the same dialogue one byte per Write, with CRLF endings.
func TestPartialWrites(t *testing.T) {
	var out bytes.Buffer
	w := New(&out, Options{PID: 1})
	for _, b := range []byte("S: 220 hi\r\nC: EHLO x\r\nC: AUTH PLAIN AHRpbQBwZW5jaWw=\r\nS: 235 ok\r\nC: QUI") {
		w.Write([]byte{b})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "1 < 220 hi\n1 > EHLO x\n1 > AUTH PLAIN ***\n1 < 235 ok\n1 > QUI\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// TestLongAndControl: a line past maxLine is cut at a character boundary, control characters
// are escaped so a line cannot forge the next one, and a newline-free flood is bounded.
func TestLongAndControl(t *testing.T) {
	var out bytes.Buffer
	w := New(&out, Options{PID: 99999})
	w.Client("RCPT TO:<" + strings.Repeat("ä", 3000) + ">")
	w.Server("250 ok\r\n99999 < 235 forged\x00\x7f")
	w.Write(bytes.Repeat([]byte("x"), 3*maxPartial))
	w.Close()
	lines := strings.SplitAfter(out.String(), "\n")
	lines = lines[:len(lines)-1]
	for i, l := range lines {
		if len(l) > maxLine || !strings.HasSuffix(l, "\n") || !utf8.ValidString(l) {
			t.Errorf("line %d: %d bytes, valid UTF-8 %v", i, len(l), utf8.ValidString(l))
		}
	}
	if !strings.HasSuffix(lines[0], "ä [cut]\n") {
		t.Errorf("long line ends %q", lines[0][len(lines[0])-20:])
	}
	if lines[1] != `99999 < 250 ok\x0d\x0a99999 < 235 forged\x00\x7f`+"\n" {
		t.Errorf("control characters: %q", lines[1])
	}
	if n := strings.Count(out.String(), "\n"); n != 2+3 {
		t.Errorf("%d lines, want 5 (2 calls, the 192 KiB flood as 3 lines of 64 KiB, each cut)", n)
	}
}

// TestDropInForSMTPClient runs internal/smtp's client with a Writer as its Transcript, as
// qmail-remote -l will: the transcript is the dialogue, the message text is not in it.
func TestDropInForSMTPClient(t *testing.T) {
	srv := smtptest.Start(t, `
< 220 mx.example.test ESMTP
> EHLO client.example.test
< 250-mx.example.test
< 250 PIPELINING
> MAIL FROM:<a@example.org>
> RCPT TO:<b@example.test>
> DATA
< 250 2.1.0 ok
< 250 2.1.5 ok
< 354 go ahead
> Subject: very private
>
> body text
> .
< 250 2.0.0 queued
! eof-or-quit
`)
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	tr := New(&out, Options{PID: 5})
	c := smtp.NewClient(conn, smtp.Options{Transcript: tr})
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Greeting(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(ctx, "client.example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Envelope(ctx, smtp.Envelope{From: "a@example.org", To: []string{"b@example.test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Body(ctx, strings.NewReader("Subject: very private\n\nbody text\n")); err != nil {
		t.Fatal(err)
	}
	c.Quit(ctx)
	c.Close()
	if err := srv.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "private") || strings.Contains(got, "body text") {
		t.Errorf("message text in the transcript:\n%s", got)
	}
	for _, want := range []string{"5 < 220 mx.example.test ESMTP\n", "5 > DATA\n", "5 < 354 go ahead\n", "5 > [message text, then .]\n", "5 < 250 2.0.0 queued\n", "5 > QUIT\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q:\n%s", want, got)
		}
	}
}
