package smtp_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/smtptest"
)

// lmtpSession dials srv and runs the greeting and LHLO.
func lmtpSession(t *testing.T, srv *smtptest.Server) (*smtp.Client, error) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn, smtp.Options{Peer: srv.AddrPort(), Timeout: 5 * time.Second, LMTP: true})
	t.Cleanup(func() { c.Close() })
	if _, err := c.Greeting(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c, c.Hello(t.Context(), "client.test")
}

// TestLHLO: an LMTP client says LHLO, keeps the extensions it lists, and does not fall back to
// HELO when LHLO is refused (RFC 2033 §4.1): a server that refuses it does not speak LMTP.
func TestLHLO(t *testing.T) {
	srv := smtptest.Start(t, "< 220 lmtp\n> LHLO client.test\n< 250-lmtp\n< 250-8BITMIME\n< 250 ENHANCEDSTATUSCODES\n> QUIT")
	c, err := lmtpSession(t, srv)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Extensions().Has("8BITMIME") || !c.LMTP() {
		t.Errorf("extensions %v after LHLO", c.Extensions())
	}
	if !c.Pipelining() {
		t.Error("an LMTP session does not pipeline although every LMTP server must support it")
	}
	c.Quit(t.Context())

	refused := smtptest.Start(t, "< 220 smtp only\n> LHLO client.test\n< 500 5.5.1 unknown command\n> QUIT")
	c, err = lmtpSession(t, refused)
	var se *smtp.Error
	if !errors.As(err, &se) || se.Phase != smtp.PhaseHello || se.Reply.Code != 500 {
		t.Fatalf("refused LHLO: %v", err)
	}
	c.Quit(t.Context())
}

// lmtpEnvelope is one pipelined LMTP envelope for three recipients, all accepted, up to the 354.
const lmtpEnvelope = `< 220 lmtp
> LHLO client.test
< 250-lmtp
< 250 ENHANCEDSTATUSCODES
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> RCPT TO:<b@example.test>
> RCPT TO:<c@example.test>
> DATA
< 250 2.1.0 ok
< 250 2.1.5 ok
< 250 2.1.5 ok
< 250 2.1.5 ok
< 354 go
! data
`

func sendLMTP(t *testing.T, script string) ([]smtp.Reply, error) {
	t.Helper()
	srv := smtptest.Start(t, script)
	c, err := lmtpSession(t, srv)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := c.Envelope(t.Context(), smtp.Envelope{From: "s@example.org", To: []string{"a@example.test", "b@example.test", "c@example.test"}})
	if err != nil || sent.Accepted != 3 {
		t.Fatalf("envelope: %v %+v", err, sent)
	}
	if err := c.SendBody(t.Context(), strings.NewReader("Subject: t\n\nhi\n")); err != nil {
		t.Fatal(err)
	}
	replies, err := c.DotReplies(t.Context(), 3)
	if err == nil {
		c.Quit(t.Context())
	}
	return replies, err
}

// TestDotReplies: one reply per accepted recipient after the dot, in RCPT order, each returned
// as it came: a refusal of one does not fail the others.
func TestDotReplies(t *testing.T) {
	replies, err := sendLMTP(t, lmtpEnvelope+"< 250 2.0.0 <a@example.test> saved\n< 452 4.2.2 <b@example.test> over quota\n< 552 5.2.2 <c@example.test> full\n> QUIT")
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for _, r := range replies {
		codes = append(codes, r.Code)
	}
	if len(codes) != 3 || codes[0] != 250 || codes[1] != 452 || codes[2] != 552 {
		t.Fatalf("codes %v", codes)
	}
	if replies[2].Enhanced() != "5.2.2" {
		t.Errorf("third reply %q", replies[2])
	}
}

// TestDotRepliesLost: the server hangs up after the first of three replies. The first is kept;
// the error is PhaseDot without a reply (the others may have been delivered).
func TestDotRepliesLost(t *testing.T) {
	replies, err := sendLMTP(t, lmtpEnvelope+"< 250 2.0.0 <a@example.test> saved\n! close")
	if len(replies) != 1 || replies[0].Code != 250 {
		t.Fatalf("replies %v", replies)
	}
	var se *smtp.Error
	if !errors.As(err, &se) || se.Phase != smtp.PhaseDot || se.Reply != nil || !se.MaybeDelivered() {
		t.Fatalf("err %v", err)
	}
}

// TestDotRepliesMalformed: a malformed reply is returned for its recipient (Code 0, which is
// never a delivery) and the replies after it are still read for theirs.
func TestDotRepliesMalformed(t *testing.T) {
	replies, err := sendLMTP(t, lmtpEnvelope+"< 250 2.0.0 saved\n< garbage\n< 250 2.0.0 saved\n> QUIT")
	if err != nil || len(replies) != 3 || replies[0].Code != 250 || !replies[1].Malformed() || replies[2].Code != 250 {
		t.Fatalf("%v %v", replies, err)
	}
}
