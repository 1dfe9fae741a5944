package deliver

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtptest"
)

// lmtpHead is an LMTP session up to the 354 for a, x, b and c; x is refused at RCPT.
const lmtpHead = `< 220 lmtp
> LHLO helo.test
< 250-lmtp
< 250 ENHANCEDSTATUSCODES
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> RCPT TO:<x@example.test>
> RCPT TO:<b@example.test>
> RCPT TO:<c@example.test>
> DATA
< 250 2.1.0 ok
< 250 2.1.5 ok
< 550 5.1.1 no such user
< 250 2.1.5 ok
< 250 2.1.5 ok
< 354 go
! data
`

const socketPath = "/run/test/lmtp"

// socketEngine is an LMTP engine whose jobs all go to the UNIX socket socketPath, which its Dial
// maps to srv after checking that it was asked for that socket.
func socketEngine(t *testing.T, srv *smtptest.Server) *Engine {
	return New(Config{HeloHost: "helo.test", TimeoutRemote: 5 * time.Second, LMTP: true, Socket: socketPath,
		Planner: &route.Planner{}, // no resolver: any routing would fail
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			if network != "unix" || address != socketPath {
				t.Errorf("dialled %s %s, want unix %s", network, address, socketPath)
			}
			var nd net.Dialer
			return nd.DialContext(ctx, "tcp", srv.Addr())
		}})
}

func lmtpJob(t *testing.T) *Job {
	m, err := message.Read(strings.NewReader("Subject: t\n\nhi\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	return &Job{Host: "example.test", Sender: "s@example.org",
		Recipients: []string{"a@example.test", "x@example.test", "b@example.test", "c@example.test"}, Message: m}
}

type wantOutcome struct {
	st   outcome.Status
	dsn  string
	code int
	dup  bool
}

func checkOutcomes(t *testing.T, res *Result, want []wantOutcome) {
	t.Helper()
	for i, w := range want {
		o := res.Recipients[i]
		if o.Status != w.st || o.DSN != w.dsn || o.Code() != w.code || o.DuplicateRisk != w.dup || o.Protocol != "lmtp" || o.RcptReply == nil {
			t.Errorf("recipient %d: %v %s %d dup=%v %q; want %v %s %d dup=%v", i, o.Status, o.DSN, o.Code(), o.DuplicateRisk, o.Protocol, w.st, w.dsn, w.code, w.dup)
		}
		if o.Host != "unix:"+socketPath || o.Peer.IsValid() {
			t.Errorf("recipient %d reached at %q %v", i, o.Host, o.Peer)
		}
	}
}

// TestLMTPPerRecipient: after the dot each accepted recipient gets the Outcome of its own reply,
// in RCPT order; a recipient refused at RCPT keeps its refusal; the message's Outcome is the
// first accepted recipient's. Over a UNIX socket, without routing.
func TestLMTPPerRecipient(t *testing.T) {
	srv := smtptest.Start(t, lmtpHead+"< 250 2.0.0 <a@example.test> saved\n< 452 4.2.2 <b@example.test> over quota\n< 552 5.2.2 <c@example.test> full\n> QUIT")
	res := socketEngine(t, srv).Deliver(t.Context(), lmtpJob(t))
	checkOutcomes(t, res, []wantOutcome{{outcome.Delivered, "2.0.0", 250, false}, {outcome.Failed, "5.1.1", 550, false},
		{outcome.Deferred, "4.2.2", 452, false}, {outcome.Failed, "5.2.2", 552, false}})
	if res.Message.Status != outcome.Delivered || res.Message.Code() != 250 || res.Destination != "unix:"+socketPath {
		t.Errorf("message %+v to %s", res.Message, res.Destination)
	}
}

// TestLMTPFirstRefused: the message's Outcome is the first accepted recipient's even when that
// one failed and a later one was delivered.
func TestLMTPFirstRefused(t *testing.T) {
	srv := smtptest.Start(t, lmtpHead+"< 451 4.2.0 <a@example.test> try later\n< 250 2.0.0 <b@example.test> saved\n< 250 2.0.0 <c@example.test> saved\n> QUIT")
	res := socketEngine(t, srv).Deliver(t.Context(), lmtpJob(t))
	checkOutcomes(t, res, []wantOutcome{{outcome.Deferred, "4.2.0", 451, false}, {outcome.Failed, "5.1.1", 550, false},
		{outcome.Delivered, "2.0.0", 250, false}, {outcome.Delivered, "2.0.0", 250, false}})
	if res.Message.Status != outcome.Deferred || res.Message.Err == nil {
		t.Errorf("message %+v", res.Message)
	}
}

// TestLMTPLostAfterDot: the server hangs up after the first of three replies. The first keeps
// its delivery; the two others are deferred with the duplicate risk (they may have been
// delivered).
func TestLMTPLostAfterDot(t *testing.T) {
	srv := smtptest.Start(t, lmtpHead+"< 250 2.0.0 <a@example.test> saved\n! close")
	res := socketEngine(t, srv).Deliver(t.Context(), lmtpJob(t))
	checkOutcomes(t, res, []wantOutcome{{outcome.Delivered, "2.0.0", 250, false}, {outcome.Failed, "5.1.1", 550, false},
		{outcome.Deferred, "4.4.2", 0, true}, {outcome.Deferred, "4.4.2", 0, true}})
}

// TestLMTPNotHandedOn: an LMTP session reads its own replies after the dot; the next message
// is never offered the session with them unread (it would read the first of them as its
// own dot's reply). The session stays usable for the next transaction.
func TestLMTPNotHandedOn(t *testing.T) {
	srv := smtptest.Start(t, lmtpHead+"< 250 2.0.0 a\n< 250 2.0.0 b\n< 250 2.0.0 c\n"+
		"> MAIL FROM:<s@example.org>\n> RCPT TO:<d@example.test>\n> DATA\n< 250 ok\n< 250 ok\n< 354 go\n! data\n< 250 2.0.0 d\n> QUIT")
	e := socketEngine(t, srv)
	res := newResult(lmtpJob(t))
	e.walk(t.Context(), lmtpJob(t), res, func(s *Session) bool {
		s.Transact(t.Context(), lmtpJob(t), res, func(*Session) bool {
			t.Error("an LMTP session was offered to the next message with its replies unread")
			return false
		})
		job2 := lmtpJob(t)
		job2.Recipients = []string{"d@example.test"}
		res2 := newResult(job2)
		if !s.Usable() {
			t.Fatal("the session is not usable after the replies")
		}
		s.Transact(t.Context(), job2, res2, nil)
		res2.finish()
		if res2.Recipients[0].Status != outcome.Delivered {
			t.Errorf("second message: %+v", res2.Recipients[0])
		}
		s.Close(t.Context())
		return true
	})
	res.finish()
	checkOutcomes(t, res, []wantOutcome{{outcome.Delivered, "2.0.0", 250, false}})
}

// TestLMTPRefused: a server that refuses LHLO (an SMTP server) is not sent HELO; the outcome
// names LHLO, and is temporary as every refusal before a transaction.
func TestLMTPRefused(t *testing.T) {
	srv := smtptest.Start(t, "< 220 smtp\n> LHLO helo.test\n< 500 5.5.2 command not recognized\n> QUIT")
	res := socketEngine(t, srv).Deliver(t.Context(), lmtpJob(t))
	o := res.Recipients[0]
	if o.Status != outcome.Deferred || o.Code() != 500 || o.Protocol != "lmtp" || !strings.Contains(o.Describe(), ": LHLO: 500 ") {
		t.Fatalf("outcome %+v: %s", o, o.Describe())
	}
}

// TestLMTPKeepsDATAWithChunking: an LMTP server that offers CHUNKING still gets DATA, whose
// replies after the dot are one per recipient (lmtp.go): BDAT's single reply to LAST would give
// every recipient the first one's outcome (seen against Dovecot).
func TestLMTPKeepsDATAWithChunking(t *testing.T) {
	head := strings.Replace(lmtpHead, "< 250 ENHANCEDSTATUSCODES", "< 250-CHUNKING\n< 250 ENHANCEDSTATUSCODES", 1)
	srv := smtptest.Start(t, head+"< 250 2.0.0 a saved\n< 452 4.2.2 b over quota\n< 250 2.0.0 c saved\n> QUIT")
	e := socketEngine(t, srv)
	e.Chunking = true
	res := e.Deliver(t.Context(), lmtpJob(t))
	want := []outcome.Status{outcome.Delivered, outcome.Failed, outcome.Deferred, outcome.Delivered}
	for i, w := range want {
		if got := res.Recipients[i].Status; got != w {
			t.Errorf("recipient %d: %v (%s), want %v", i, got, res.Recipients[i].Describe(), w)
		}
	}
}
