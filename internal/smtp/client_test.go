package smtp_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/smtptest"
)

// session dials srv and runs greeting and EHLO, failing the test on error.
func session(t *testing.T, srv *smtptest.Server, timeout time.Duration) *smtp.Client {
	t.Helper()
	return sessionOn(t, srv, dialT(t, srv), timeout)
}

func dialT(t *testing.T, srv *smtptest.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// sessionOn is session on a connection the test made (or wrapped) itself.
func sessionOn(t *testing.T, srv *smtptest.Server, conn net.Conn, timeout time.Duration) *smtp.Client {
	t.Helper()
	c := smtp.NewClient(conn, smtp.Options{Peer: srv.AddrPort(), Timeout: timeout})
	t.Cleanup(func() { c.Close() })
	if _, err := c.Greeting(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(t.Context(), "client.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

const hello = "< 220 mx\n> EHLO client.test\n< 250 mx\n"

// TestErrorFacts: each failure comes back as an *Error whose fields say which phase, what the
// server said and how bad it is; tests assert on fields, never on strings.
func TestErrorFacts(t *testing.T) {
	tests := []struct {
		name      string
		script    string
		phase     smtp.Phase
		code      int
		enhanced  string
		temporary bool
		maybe     bool
		cause     error
	}{
		{"MAIL refused permanently", "> MAIL FROM:<a@example.org>\n< 550 5.7.1 go away\n", smtp.PhaseMail, 550, "5.7.1", false, false, smtp.ErrReply},
		{"MAIL deferred", "> MAIL FROM:<a@example.org>\n< 451 4.3.0 later\n", smtp.PhaseMail, 451, "4.3.0", true, false, smtp.ErrReply},
		{"no recipient", "> MAIL FROM:<a@example.org>\n< 250 ok\n> RCPT TO:<b@example.test>\n< 550 5.1.1 unknown\n", smtp.PhaseRcpt, 0, "", true, false, smtp.ErrNoRecipients},
		{"354 to MAIL is no acceptance (decision 9)", "> MAIL FROM:<a@example.org>\n< 354 odd\n", smtp.PhaseMail, 354, "", true, false, smtp.ErrReply},
		{"354 to RCPT is no acceptance (decision 9)", "> MAIL FROM:<a@example.org>\n< 250 ok\n> RCPT TO:<b@example.test>\n< 354 odd\n", smtp.PhaseRcpt, 0, "", true, false, smtp.ErrNoRecipients},
		{"DATA refused", "> MAIL FROM:<a@example.org>\n< 250 ok\n> RCPT TO:<b@example.test>\n< 250 ok\n> DATA\n< 554 5.5.1 no\n", smtp.PhaseData, 554, "5.5.1", false, false, smtp.ErrReply},
		{"lost after the dot", "> MAIL FROM:<a@example.org>\n< 250 ok\n> RCPT TO:<b@example.test>\n< 250 ok\n> DATA\n< 354 go\n! data\n! close", smtp.PhaseDot, 0, "", true, true, smtp.ErrConnection},
		{"timeout after the dot", "> MAIL FROM:<a@example.org>\n< 250 ok\n> RCPT TO:<b@example.test>\n< 250 ok\n> DATA\n< 354 go\n! data\n! stall", smtp.PhaseDot, 0, "", true, true, smtp.ErrTimeout},
		{"refused after the dot", "> MAIL FROM:<a@example.org>\n< 250 ok\n> RCPT TO:<b@example.test>\n< 250 ok\n> DATA\n< 354 go\n! data\n< 554 5.7.1 spam\n", smtp.PhaseDot, 554, "5.7.1", false, false, smtp.ErrReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, hello+tt.script)
			c := session(t, srv, 500*time.Millisecond)
			_, err := c.Envelope(context.Background(), smtp.Envelope{From: "a@example.org", To: []string{"b@example.test"}})
			if err == nil {
				_, err = c.Body(context.Background(), strings.NewReader("text\n"))
			}
			var e *smtp.Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v is not an *smtp.Error", err)
			}
			code, enh := 0, ""
			if e.Reply != nil {
				code, enh = e.Reply.Code, e.Reply.Enhanced()
			}
			if e.Phase != tt.phase || code != tt.code || enh != tt.enhanced || e.Temporary() != tt.temporary ||
				e.MaybeDelivered() != tt.maybe || !errors.Is(err, tt.cause) || e.Peer != srv.AddrPort() {
				t.Errorf("got phase %v code %d enhanced %q temporary %v maybe %v err %v", e.Phase, code, enh, e.Temporary(), e.MaybeDelivered(), err)
			}
		})
	}
}

// TestBotchedAfterIOError: after a lost connection every call fails with ErrBotched and sends
// nothing.
func TestBotchedAfterIOError(t *testing.T) {
	srv := smtptest.Start(t, hello+"> MAIL FROM:<a@example.org>\n! close")
	c := session(t, srv, time.Second)
	_, err := c.Envelope(t.Context(), smtp.Envelope{From: "a@example.org", To: []string{"b@example.test"}})
	if !errors.Is(err, smtp.ErrConnection) || !c.Botched() {
		t.Fatalf("err %v, botched %v", err, c.Botched())
	}
	if err := c.Reset(t.Context()); !errors.Is(err, smtp.ErrBotched) {
		t.Errorf("after the loss: %v", err)
	}
}

// TestStartTLSInjection: bytes that follow the 220 to STARTTLS in the same read were sent in
// clear before the handshake: the client refuses to go on (RFC 3207 §6).
func TestStartTLSInjection(t *testing.T) {
	srv := smtptest.Start(t, "< 220 mx\n> EHLO client.test\n< 250-mx\n< 250 STARTTLS\n> STARTTLS\n<raw 220 go\\r\\n250 injected\\r\\n\n! expect-eof")
	c := session(t, srv, time.Second)
	_, err := c.StartTLS(t.Context(), nil)
	if !errors.Is(err, smtp.ErrTLS) || !c.Botched() {
		t.Fatalf("err %v", err)
	}
	c.Close()
}

// TestHello421: a 421 to EHLO is the server closing (decision 2): Hello returns it at once,
// without trying HELO, and the client is still in step for QUIT.
func TestHello421(t *testing.T) {
	srv := smtptest.Start(t, "< 220 mx\n> EHLO client.test\n< 421 4.3.2 bye\n> QUIT")
	c := smtp.NewClient(dialT(t, srv), smtp.Options{Peer: srv.AddrPort(), Timeout: time.Second})
	defer c.Close()
	if _, err := c.Greeting(t.Context()); err != nil {
		t.Fatal(err)
	}
	err := c.Hello(t.Context(), "client.test")
	var e *smtp.Error
	if !errors.As(err, &e) || e.Phase != smtp.PhaseHello || e.Reply == nil || e.Reply.Code != 421 || c.Botched() {
		t.Fatalf("err %v, botched %v", err, c.Botched())
	}
	c.Quit(t.Context())
}

// faultConn fails every write once armed, or only the write that carries the final dot, with a
// connection reset: a deterministic stand-in for a peer that reset the connection.
type faultConn struct {
	net.Conn
	armed   atomic.Bool
	dotOnly bool
}

func (f *faultConn) Write(p []byte) (int, error) {
	if f.armed.Load() && (!f.dotOnly || strings.HasSuffix(string(p), ".\r\n")) {
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return f.Conn.Write(p)
}

// TestBodyWriteFailureIsNoDuplicate (decision 10): a write that fails before the dot's write
// succeeded, even the write of the dot itself, is PhaseBody without duplicate risk; for a small
// message too, whose text and dot used to leave in one final flush counted as the dot.
func TestBodyWriteFailureIsNoDuplicate(t *testing.T) {
	for _, dotOnly := range []bool{false, true} {
		srv := smtptest.Start(t, hello+"> MAIL FROM:<a@example.org>\n< 250 ok\n> RCPT TO:<b@example.test>\n< 250 ok\n> DATA\n< 354 go\n! stall")
		conn := &faultConn{Conn: dialT(t, srv), dotOnly: dotOnly}
		c := sessionOn(t, srv, conn, time.Second)
		if _, err := c.Envelope(t.Context(), smtp.Envelope{From: "a@example.org", To: []string{"b@example.test"}}); err != nil {
			t.Fatal(err)
		}
		conn.armed.Store(true)
		_, err := c.Body(t.Context(), strings.NewReader("short text\n"))
		var e *smtp.Error
		if !errors.As(err, &e) || e.Phase != smtp.PhaseBody || e.MaybeDelivered() || !errors.Is(err, smtp.ErrConnection) {
			t.Errorf("dot only %v: err %v", dotOnly, err)
		}
		c.Close()
	}
}

// TestUnsolicited (decision 12): bytes that came with the 354, or a reply while the text goes
// out, are ErrUnsolicited quoting what came; the dot is never sent and the client is botched.
// The text case runs on the plain socket (peeked) and through a wrapper that hides it (the
// short-read fallback TLS takes), both with a reply and with a quiet server.
func TestUnsolicited(t *testing.T) {
	const envelope = "> MAIL FROM:<a@example.org>\n< 250 ok\n> RCPT TO:<b@example.test>\n< 250 ok\n> DATA\n"
	big := strings.Repeat("a line of text to fill the socket buffers\n", (16<<20)/42)
	tests := []struct {
		name   string
		script string
		wrap   bool
		text   string
		phase  smtp.Phase
		lines  []string // nil: success
	}{
		{"with the 354", "< 354 go\n< 250 extra\n! expect-eof", false, "x\n", smtp.PhaseData, []string{"354 go", "250 extra"}},
		{"partial line with the 354", "<raw 354 go\\r\\n250 sta\n! expect-eof", false, "x\n", smtp.PhaseData, []string{"354 go", "250 sta"}},
		{"during the text", "< 354 go\n! sleep 50ms\n< 451 4.3.0 stop\n! stall", false, big, smtp.PhaseBody, []string{"451 4.3.0 stop"}},
		{"during the text, socket hidden", "< 354 go\n! sleep 50ms\n< 451 4.3.0 stop\n! stall", true, big, smtp.PhaseBody, []string{"451 4.3.0 stop"}},
		{"quiet, socket hidden", "< 354 go\n! data\n< 250 2.0.0 queued\n", true, "x\n", smtp.PhaseDot, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, hello+envelope+tt.script)
			conn := dialT(t, srv)
			if tt.wrap {
				conn = &faultConn{Conn: conn} // not a syscall.Conn: the socket cannot be peeked
			}
			c := sessionOn(t, srv, conn, 5*time.Second)
			_, err := c.Envelope(t.Context(), smtp.Envelope{From: "a@example.org", To: []string{"b@example.test"}})
			if err == nil {
				_, err = c.Body(t.Context(), strings.NewReader(tt.text))
			}
			if tt.lines == nil {
				if err != nil {
					t.Fatalf("quiet server: %v", err)
				}
				return
			}
			var e *smtp.Error
			if !errors.As(err, &e) || !errors.Is(err, smtp.ErrUnsolicited) || e.Phase != tt.phase || e.Reply == nil ||
				e.Reply.Code != 0 || strings.Join(e.Reply.Lines, "|") != strings.Join(tt.lines, "|") ||
				!e.Temporary() || e.MaybeDelivered() || !c.Botched() {
				t.Fatalf("err %v (%#v)", err, e)
			}
			c.Close()
		})
	}
}
