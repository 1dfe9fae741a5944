package qmtp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/qmtp"
	"github.com/mxout/mxout/internal/qmtp/qmtptest"
	"github.com/mxout/mxout/internal/smtptest"
)

// text is a Message held in memory.
type text string

func (m text) Open() io.Reader { return strings.NewReader(string(m)) }

// dial connects a client to srv.
func dial(t *testing.T, srv *qmtptest.Server, timeout time.Duration) *qmtp.Client {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := qmtp.NewClient(conn, qmtp.Options{Peer: srv.AddrPort(), Timeout: timeout})
	t.Cleanup(func() { c.Close() })
	return c
}

// statuses renders responses as "K:text|Z:text".
func statuses(rs []qmtp.Response) string {
	var s []string
	for _, r := range rs {
		s = append(s, string(r.Status)+":"+r.Text)
	}
	return strings.Join(s, "|")
}

// TestSendPerRecipient: one response per recipient, in order, each with its own status; the
// package carries the message in LF form, the sender and the recipients byte for byte.
func TestSendPerRecipient(t *testing.T) {
	srv := qmtptest.Start(t, qmtptest.Step{Respond: qmtptest.K("ok 1") + qmtptest.Z("later") + qmtptest.D("no such user")})
	c := dial(t, srv, time.Second)
	msg := "Subject: x\r\n\r\nline\r\nlone\rcr\n"
	rcpts := []string{"a@example.test", "b@example.test", `"odd, local"@example.test`}
	rs, err := c.Send(t.Context(), text(msg), "s@example.org", rcpts)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rs); got != "K:ok 1|Z:later|D:no such user" {
		t.Errorf("responses %s", got)
	}
	if !rs[0].Accepted() || !rs[1].Temporary() || !rs[2].Permanent() || rs[0].Temporary() {
		t.Errorf("classification of %v", rs)
	}
	p := srv.Packages()
	if len(p) != 1 {
		t.Fatalf("%d packages", len(p))
	}
	if string(p[0].Message) != "Subject: x\n\nline\nlone\rcr\n" || p[0].Sender != "s@example.org" ||
		strings.Join(p[0].Recipients, " ") != strings.Join(rcpts, " ") {
		t.Errorf("package %q", p[0])
	}
}

// TestSeveralPackages: messages follow each other on one connection (qmtp.txt §2); the null
// sender is an empty netstring.
func TestSeveralPackages(t *testing.T) {
	srv := qmtptest.Start(t, qmtptest.Step{Respond: qmtptest.K("first")}, qmtptest.Step{Respond: qmtptest.D("second")})
	c := dial(t, srv, time.Second)
	rs, err := c.Send(t.Context(), text("one\n"), "", []string{"a@example.test"})
	if err != nil || statuses(rs) != "K:first" {
		t.Fatalf("first: %v, %v", rs, err)
	}
	rs, err = c.Send(t.Context(), text("two\n"), "s@example.org", []string{"b@example.test"})
	if err != nil || statuses(rs) != "D:second" {
		t.Fatalf("second: %v, %v", rs, err)
	}
	p := srv.Packages()
	if len(p) != 2 || p[0].Sender != "" || string(p[1].Message) != "two\n" {
		t.Errorf("packages %q", p)
	}
}

// TestFailures: each failure is an *Error that says the phase, the recipient whose response is
// missing, the cause, and the duplicate risk; the responses before it are returned.
func TestFailures(t *testing.T) {
	big := text(strings.Repeat("x", 63) + "\n")
	for len(big) < 32<<20 { // larger than any socket buffers: the writes must block or fail
		big += big
	}
	tests := []struct {
		name  string
		step  qmtptest.Step
		msg   text
		got   string // the responses returned
		phase qmtp.Phase
		index int
		cause error
	}{
		{"garbage", qmtptest.Step{Respond: "250 ok\r\n"}, "", "", qmtp.PhaseResponse, 0, qmtp.ErrProtocol},
		{"unknown status", qmtptest.Step{Respond: qmtptest.K("ok") + "3:Xok,"}, "", "K:ok", qmtp.PhaseResponse, 1, qmtp.ErrProtocol},
		{"oversize netstring", qmtptest.Step{Respond: "100000000:K"}, "", "", qmtp.PhaseResponse, 0, qmtp.ErrProtocol},
		{"empty response", qmtptest.Step{Respond: "0:,"}, "", "", qmtp.PhaseResponse, 0, qmtp.ErrProtocol},
		{"close before the responses", qmtptest.Step{Close: true}, "", "", qmtp.PhaseResponse, 0, qmtp.ErrConnection},
		{"close between responses", qmtptest.Step{Respond: qmtptest.K("ok"), Close: true}, "", "K:ok", qmtp.PhaseResponse, 1, qmtp.ErrConnection},
		{"close inside a response", qmtptest.Step{Respond: qmtptest.K("ok") + "5:Dno", Close: true}, "", "K:ok", qmtp.PhaseResponse, 1, qmtp.ErrConnection},
		{"stall", qmtptest.Step{Respond: qmtptest.K("ok"), Stall: true}, "", "K:ok", qmtp.PhaseResponse, 1, qmtp.ErrTimeout},
		{"hang-up while sending", qmtptest.Step{HangUp: true}, big, "", qmtp.PhaseSend, 0, qmtp.ErrConnection},
		{"server stops reading", qmtptest.Step{Hold: true}, big, "", qmtp.PhaseSend, 0, qmtp.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qmtptest.Start(t, tt.step)
			c := dial(t, srv, 300*time.Millisecond)
			msg := tt.msg
			if msg == "" {
				msg = "hello\n"
			}
			rs, err := c.Send(t.Context(), msg, "s@example.org", []string{"a@example.test", "b@example.test"})
			var e *qmtp.Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v is not a *qmtp.Error", err)
			}
			if statuses(rs) != tt.got || e.Phase != tt.phase || e.Index != tt.index || !errors.Is(err, tt.cause) ||
				e.MaybeDelivered() != (tt.phase == qmtp.PhaseResponse) || !e.Temporary() || e.Peer != srv.AddrPort() || !c.Botched() {
				t.Errorf("got %q, phase %v, index %d, botched %v, err %v", statuses(rs), e.Phase, e.Index, c.Botched(), err)
			}
			if tt.phase == qmtp.PhaseSend && len(srv.Packages()) != 0 {
				t.Errorf("the server got a package")
			}
			if _, err := c.Send(t.Context(), text("again\n"), "", []string{"a@example.test"}); !errors.Is(err, qmtp.ErrBotched) {
				t.Errorf("after the failure: %v", err)
			}
		})
	}
}

// TestContextCancel: cancelling the context ends a wait for responses at once.
func TestContextCancel(t *testing.T) {
	srv := qmtptest.Start(t, qmtptest.Step{Stall: true})
	c := dial(t, srv, 0)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := c.Send(ctx, text("hi\n"), "", []string{"a@example.test"})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, qmtp.ErrTimeout) {
		t.Errorf("err %v", err)
	}
}

// TestLocalRefusals: no recipient, or a message that cannot be read, fail before anything is sent
// and leave the connection usable.
func TestLocalRefusals(t *testing.T) {
	srv := qmtptest.Start(t, qmtptest.Step{Respond: qmtptest.K("ok")})
	c := dial(t, srv, time.Second)
	_, err := c.Send(t.Context(), text("x\n"), "", nil)
	var e *qmtp.Error
	if !errors.As(err, &e) || !errors.Is(err, qmtp.ErrNoRecipients) || e.Temporary() || e.MaybeDelivered() {
		t.Errorf("no recipients: %v", err)
	}
	_, err = c.Send(t.Context(), failing{}, "", []string{"a@example.test"})
	if !errors.As(err, &e) || !errors.Is(err, qmtp.ErrMessageRead) || e.Phase != qmtp.PhaseSend || !e.Temporary() {
		t.Errorf("unreadable message: %v", err)
	}
	if c.Botched() {
		t.Fatal("botched by a local refusal")
	}
	if rs, err := c.Send(t.Context(), text("x\n"), "", []string{"a@example.test"}); err != nil || statuses(rs) != "K:ok" {
		t.Errorf("after the refusals: %v, %v", rs, err)
	}
}

type failing struct{}

func (failing) Open() io.Reader { return io.MultiReader(strings.NewReader("x\n"), errReader{}) }

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// growing is a message that is longer the second time it is read.
type growing struct{ n *int }

func (g growing) Open() io.Reader {
	*g.n++
	return strings.NewReader(strings.Repeat("line\n", *g.n))
}

// TestMessageChanged: a message that changes between the count and the copy is never completed,
// so the server discards it.
func TestMessageChanged(t *testing.T) {
	srv := qmtptest.Start(t, qmtptest.Step{Respond: qmtptest.K("ok")})
	c := dial(t, srv, time.Second)
	_, err := c.Send(t.Context(), growing{new(int)}, "", []string{"a@example.test"})
	var e *qmtp.Error
	if !errors.As(err, &e) || !errors.Is(err, qmtp.ErrMessageRead) || e.Phase != qmtp.PhaseSend || e.MaybeDelivered() || !c.Botched() {
		t.Fatalf("err %v", err)
	}
	c.Close()
	time.Sleep(50 * time.Millisecond)
	if n := len(srv.Packages()); n != 0 {
		t.Errorf("the server got %d packages", n)
	}
}

// TestQMTPS: TLS from the first byte, then the same protocol; a server that does not verify is a
// PhaseTLS error.
func TestQMTPS(t *testing.T) {
	cert := smtptest.NewCert(t, "qmtp.example.test")
	srv := qmtptest.StartTLS(t, &tls.Config{Certificates: []tls.Certificate{cert.Leaf}}, qmtptest.Step{Respond: qmtptest.K("over tls")})
	roots := x509.NewCertPool()
	roots.AddCert(cert.CA)
	for _, tt := range []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"verified", &tls.Config{RootCAs: roots, ServerName: "qmtp.example.test"}, true},
		{"wrong name", &tls.Config{RootCAs: roots, ServerName: "other.example.test"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			tc, err := qmtp.HandshakeTLS(t.Context(), conn, tt.cfg, srv.AddrPort(), time.Second)
			if !tt.ok {
				var e *qmtp.Error
				if !errors.As(err, &e) || e.Phase != qmtp.PhaseTLS || !errors.Is(err, qmtp.ErrTLS) {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := qmtp.NewClient(tc, qmtp.Options{Peer: srv.AddrPort(), Timeout: time.Second})
			rs, err := c.Send(t.Context(), text("secret\n"), "s@example.org", []string{"a@example.test"})
			if err != nil || statuses(rs) != "K:over tls" {
				t.Errorf("%v, %v", rs, err)
			}
		})
	}
}

// TestTranscript: the dialogue is traced without the message text.
func TestTranscript(t *testing.T) {
	srv := qmtptest.Start(t, qmtptest.Step{Respond: qmtptest.K("ok")})
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var tr strings.Builder
	c := qmtp.NewClient(conn, qmtp.Options{Peer: srv.AddrPort(), Transcript: &tr})
	defer c.Close()
	if _, err := c.Send(t.Context(), text("secret text\r\n"), "s@example.org", []string{"a@example.test"}); err != nil {
		t.Fatal(err)
	}
	want := "C: 13:<LF and 12 bytes of message>,\nC: 13:s@example.org,18:14:a@example.test,,\nS: Kok\n"
	if tr.String() != want {
		t.Errorf("transcript %q, want %q", tr.String(), want)
	}
}
