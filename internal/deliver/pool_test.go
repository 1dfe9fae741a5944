package deliver

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/sink"
	"github.com/mxout/mxout/internal/smtptest"
)

// oneMX routes example.test to 192.0.2.1 alone, which the test's dialer maps to a scripted server.
var oneMX = fakeDNS{
	mx: map[string][]dns.MX{"example.test": {{Host: "a.example.test", Pref: 10}}},
	ip: map[string][]netip.Addr{"a.example.test": {netip.MustParseAddr("192.0.2.1")}},
}

func poolJob(t *testing.T, rcpts ...string) *Job {
	m, err := message.Read(strings.NewReader("Subject: t\n\nhello\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	return &Job{Host: "example.test", Sender: "s@example.org", Recipients: rcpts, Message: m}
}

const greetEHLO = `
< 220 mx
> EHLO helo.test
< 250-mx
< 250 PIPELINING`

// tx is one pipelined transaction for rcpt, its final reply given.
func tx(rcpt, final string) string {
	return `
> MAIL FROM:<s@example.org>
> RCPT TO:<` + rcpt + `>
> DATA
< 250 ok
< 250 ok
< 354 go
! data
< ` + final
}

func newPool(t *testing.T, srv ...*smtptest.Server) (*Pool, *dialer) {
	d := &dialer{to: map[string]string{}}
	if len(srv) > 0 {
		d.to["192.0.2.1:25"] = srv[0].Addr()
	}
	p := NewPool(deliverer(oneMX, d), PoolOptions{MaxConns: 1})
	t.Cleanup(p.Close)
	return p, d
}

func status(t *testing.T, res *Result, want ...outcome.Status) {
	t.Helper()
	for i, w := range want {
		if got := res.Recipients[i].Status; got != w {
			t.Errorf("recipient %d: %v (%s), want %v", i, got, res.Recipients[i].Describe(), w)
		}
	}
}

// TestPoolReusesSession: three messages, one connection, no RSET between good transactions.
func TestPoolReusesSession(t *testing.T) {
	srv := smtptest.Start(t, greetEHLO+tx("a@example.test", "250 one")+tx("b@example.test", "250 two")+
		tx("c@example.test", "250 three")+"\n> QUIT")
	p, d := newPool(t, srv)
	for _, r := range []string{"a@example.test", "b@example.test", "c@example.test"} {
		status(t, p.Deliver(t.Context(), poolJob(t, r)), outcome.Delivered)
	}
	p.Close()
	if opened, txs, reused := p.Stats(); opened != 1 || txs != 3 || reused != 2 || len(d.tried) != 1 {
		t.Errorf("opened %d, transactions %d, reused %d, dialled %v", opened, txs, reused, d.tried)
	}
}

// TestPool421BeforeTransactionRetries: a 421 to MAIL on a kept session is not the message's
// failure: it runs on a new session.
func TestPool421BeforeTransactionRetries(t *testing.T) {
	srv := smtptest.StartOpts(t, smtptest.Options{},
		greetEHLO+tx("a@example.test", "250 one")+`
> MAIL FROM:<s@example.org>
> RCPT TO:<b@example.test>
> DATA
< 421 4.3.2 shutting down
! close`,
		greetEHLO+tx("b@example.test", "250 two")+"\n> QUIT")
	p, _ := newPool(t, srv)
	status(t, p.Deliver(t.Context(), poolJob(t, "a@example.test")), outcome.Delivered)
	res := p.Deliver(t.Context(), poolJob(t, "b@example.test"))
	status(t, res, outcome.Delivered)
	if res.Message.Reply == nil || res.Message.Reply.Lines[0] != "250 two" {
		t.Errorf("second message: %s", res.Message.Describe())
	}
}

// TestPoolClosedWhileIdle: a server that closed the kept connection costs the next message
// nothing.
func TestPoolClosedWhileIdle(t *testing.T) {
	srv := smtptest.StartOpts(t, smtptest.Options{},
		greetEHLO+tx("a@example.test", "250 one")+"\n! close",
		greetEHLO+tx("b@example.test", "250 two")+"\n> QUIT")
	p, _ := newPool(t, srv)
	status(t, p.Deliver(t.Context(), poolJob(t, "a@example.test")), outcome.Delivered)
	time.Sleep(50 * time.Millisecond) // let the close arrive
	status(t, p.Deliver(t.Context(), poolJob(t, "b@example.test")), outcome.Delivered)
}

// TestPoolLostAfterDotIsNotRetried: a connection lost after the final dot is a possible
// duplicate, deferred, and never sent again.
func TestPoolLostAfterDotIsNotRetried(t *testing.T) {
	srv := smtptest.Start(t, greetEHLO+tx("a@example.test", "250 one")+`
> MAIL FROM:<s@example.org>
> RCPT TO:<b@example.test>
> DATA
< 250 ok
< 250 ok
< 354 go
! data
! close`)
	p, d := newPool(t, srv)
	status(t, p.Deliver(t.Context(), poolJob(t, "a@example.test")), outcome.Delivered)
	res := p.Deliver(t.Context(), poolJob(t, "b@example.test"))
	status(t, res, outcome.Deferred)
	if !res.Recipients[0].DuplicateRisk || res.Recipients[0].DSN != "4.4.2" {
		t.Errorf("lost after the dot: %+v", res.Recipients[0])
	}
	if len(d.tried) != 1 {
		t.Errorf("a new connection was made after a lost dot reply: %v", d.tried)
	}
}

// TestPoolRSETRefused: after a transaction that did not reach the dot the session is reset;
// a refused RSET sends the next message to a new session.
func TestPoolRSETRefused(t *testing.T) {
	srv := smtptest.StartOpts(t, smtptest.Options{},
		greetEHLO+`
> MAIL FROM:<s@example.org>
> RCPT TO:<x@example.test>
> DATA
< 250 ok
< 550 5.1.1 no such user
< 503 no valid recipients
> RSET
< 500 what
> QUIT`,
		greetEHLO+tx("b@example.test", "250 two")+"\n> QUIT")
	p, _ := newPool(t, srv)
	res := p.Deliver(t.Context(), poolJob(t, "x@example.test"))
	status(t, res, outcome.Failed)
	status(t, p.Deliver(t.Context(), poolJob(t, "b@example.test")), outcome.Delivered)
}

// TestPoolPerRecipientTruth: refusals and 452 touch only their recipients.
func TestPoolPerRecipientTruth(t *testing.T) {
	srv := smtptest.Start(t, greetEHLO+`
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> RCPT TO:<b@example.test>
> RCPT TO:<c@example.test>
> DATA
< 250 ok
< 250 ok
< 550 5.1.1 unknown
< 452 4.5.3 too many recipients
< 354 go
! data
< 250 queued
> QUIT`)
	p, _ := newPool(t, srv)
	res := p.Deliver(t.Context(), poolJob(t, "a@example.test", "b@example.test", "c@example.test"))
	status(t, res, outcome.Delivered, outcome.Failed, outcome.Deferred)
	if res.Recipients[2].DSN != "4.5.3" {
		t.Errorf("452: %s", res.Recipients[2].DSN)
	}
}

// TestPoolDeadDestination: after DeadAfter walks that found no server, the remaining jobs for
// the destination are deferred at once, without dialling.
func TestPoolDeadDestination(t *testing.T) {
	p, d := newPool(t) // every address refuses
	for i := 0; i < DeadAfter+2; i++ {
		res := p.Deliver(t.Context(), poolJob(t, "a@example.test"))
		status(t, res, outcome.Deferred)
		if res.Recipients[0].DSN != "4.4.1" {
			t.Errorf("job %d: %s %s", i, res.Recipients[0].DSN, res.Recipients[0].Describe())
		}
	}
	if len(d.tried) != DeadAfter {
		t.Errorf("dialled %d times, want %d", len(d.tried), DeadAfter)
	}
}

// TestPoolDeadFor: with DeadFor, a dead destination is tried again (one walk) once DeadFor has
// passed since its last failed walk, and is dead again at once when that walk fails.
func TestPoolDeadFor(t *testing.T) {
	d := &dialer{to: map[string]string{}}
	p := NewPool(deliverer(oneMX, d), PoolOptions{MaxConns: 1, DeadFor: 300 * time.Millisecond})
	t.Cleanup(p.Close)
	for i := 0; i < DeadAfter+1; i++ {
		status(t, p.Deliver(t.Context(), poolJob(t, "a@example.test")), outcome.Deferred)
	}
	if len(d.tried) != DeadAfter {
		t.Fatalf("dialled %d times, want %d", len(d.tried), DeadAfter)
	}
	time.Sleep(350 * time.Millisecond)
	for i := 0; i < 2; i++ {
		status(t, p.Deliver(t.Context(), poolJob(t, "a@example.test")), outcome.Deferred)
	}
	if len(d.tried) != DeadAfter+1 {
		t.Errorf("dialled %d times after DeadFor, want %d (one more walk, then dead again)", len(d.tried), DeadAfter+1)
	}
}

// portRoutes routes a.test and b.test to one relay name, 127.0.0.1, on two ports.
type portRoutes map[string]uint16

func (r portRoutes) Lookup(sender, host string) (route.Static, error) {
	p, ok := r[host]
	if !ok {
		return route.Static{ByMX: true, Port: 25}, nil // no route: by MX
	}
	return route.Static{Relay: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: p}, nil
}

// TestPoolRelayPorts: two routes to the same relay on different ports never share a session.
func TestPoolRelayPorts(t *testing.T) {
	srvA := smtptest.Start(t, greetEHLO+tx("x@a.test", "250 a")+"\n> QUIT")
	srvB := smtptest.Start(t, greetEHLO+tx("x@b.test", "250 b")+"\n> QUIT")
	port := func(s *smtptest.Server) uint16 { return netip.MustParseAddrPort(s.Addr()).Port() }
	e := New(Config{HeloHost: "helo.test", TimeoutConnect: time.Second, TimeoutRemote: 5 * time.Second,
		Routes: portRoutes{"a.test": port(srvA), "b.test": port(srvB)}, Planner: &route.Planner{}})
	p := NewPool(e, PoolOptions{})
	for _, h := range []string{"a.test", "b.test"} {
		job := poolJob(t, "x@"+h)
		job.Host = h
		status(t, p.Deliver(t.Context(), job), outcome.Delivered)
	}
	p.Close()
	if opened, _, reused := p.Stats(); opened != 2 || reused != 0 {
		t.Errorf("opened %d sessions, reused %d; want 2 and 0", opened, reused)
	}
}

// TestPoolLimits: with -c 2, eight concurrent jobs to one destination share two connections.
func TestPoolLimits(t *testing.T) {
	var mu sync.Mutex
	got := 0
	srv := &sink.Server{Name: "mx", OnMessage: func(sink.Message) { mu.Lock(); got++; mu.Unlock() }}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	d := &dialer{to: map[string]string{"192.0.2.1:25": srv.Addr().String()}}
	p := NewPool(deliverer(oneMX, d), PoolOptions{MaxConns: 2})
	done := make(chan *Result)
	for i := 0; i < 8; i++ {
		go func() { done <- p.Deliver(context.Background(), poolJob(t, "a@example.test")) }()
	}
	for i := 0; i < 8; i++ {
		status(t, <-done, outcome.Delivered)
	}
	p.Close()
	srv.Close()
	opened, txs, _ := p.Stats()
	if opened > 2 || txs != 8 || got != 8 || len(d.tried) != opened {
		t.Errorf("opened %d sessions (dialled %d) for %d transactions, %d messages arrived; want at most 2 for 8",
			opened, len(d.tried), txs, got)
	}
}

// TestPoolPipelinesAcrossMessages: with a job waiting, the next message's MAIL, RCPT and DATA
// leave in the same write as the previous final dot (RFC 2920 §3.1); the script answers the dot
// only after it has read them, so a client that waited for the reply would hang here.
func TestPoolPipelinesAcrossMessages(t *testing.T) {
	srv := smtptest.Start(t, greetEHLO+`
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> DATA
< 250 ok
< 250 ok
! sleep 150ms
< 354 go
! data
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> DATA
< 250 first
< 250 ok
< 250 ok
< 354 go
! data
< 250 second
> QUIT`)
	p, _ := newPool(t, srv)
	done := make(chan *Result, 2)
	for i := 0; i < 2; i++ {
		go func() { done <- p.Deliver(t.Context(), poolJob(t, "a@example.test")) }()
	}
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		res := <-done
		status(t, res, outcome.Delivered)
		if res.Message.Reply != nil {
			got[res.Message.Reply.Lines[0]] = true
		}
	}
	if !got["250 first"] || !got["250 second"] {
		t.Errorf("replies %v: each message must get its own", got)
	}
}

// TestPoolPipelinedDotLost: the connection dies after a dot that the next message's commands
// followed: the first message is a possible duplicate, the second runs on a new session.
func TestPoolPipelinedDotLost(t *testing.T) {
	srv := smtptest.StartOpts(t, smtptest.Options{}, greetEHLO+`
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> DATA
< 250 ok
< 250 ok
! sleep 150ms
< 354 go
! data
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> DATA
! close`, greetEHLO+tx("a@example.test", "250 again")+"\n> QUIT")
	p, _ := newPool(t, srv)
	done := make(chan *Result, 2)
	for i := 0; i < 2; i++ {
		go func() { done <- p.Deliver(t.Context(), poolJob(t, "a@example.test")) }()
	}
	var dup, ok int
	for i := 0; i < 2; i++ {
		res := <-done
		switch o := res.Recipients[0]; {
		case o.Status == outcome.Deferred && o.DuplicateRisk:
			dup++
		case o.Status == outcome.Delivered && o.Reply.Lines[0] == "250 again":
			ok++
		default:
			t.Errorf("unexpected outcome %s", o.Describe())
		}
	}
	if dup != 1 || ok != 1 {
		t.Errorf("%d possible duplicates, %d delivered; want 1 and 1", dup, ok)
	}
}
