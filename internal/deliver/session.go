package deliver

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// Session is an SMTP session ready for transactions: connected, greeted, EHLO (or HELO) done,
// TLS set up as its policy requires. It can carry many transactions, one at a time, from one
// goroutine. Opening a session and running a transaction are separate steps so that the
// engine can keep sessions for later messages.
type Session struct {
	c        *smtp.Client
	Host     string // the server's name (MX host or relay)
	Peer     netip.AddrPort
	TLS      *tlspolicy.Facts // nil in clear
	Protocol string           // "esmtp" after EHLO, "smtp" after HELO, "lmtp" after LHLO
	// AuthSkipped: the route has credentials but the server offered no mechanism that could
	// use them, and the session went on unauthenticated (s/qmail's behaviour).
	AuthSkipped bool
	key         string // the pool group it belongs to
	dest        string // the destination it was opened for (the pool's limits)
	policy      *tlspolicy.Policy
	eightBit    EightBit // Config.EightBit: what becomes of 8-bit messages (body.go)
	chunking    bool     // Config.Chunking: BDAT where the server offers CHUNKING
	vouched     bool     // the hop's name is trusted for REQUIRETLS (Engine.vouched)

	pending      *pendingDot // a transaction whose final dot's reply the next one reads
	transactions int         // transactions begun on this session
	dirty        bool        // the last transaction did not end with a reply to its dot: RSET first
	idleSince    time.Time   // when the session was last handed back to the pool
}

// ErrTLSNotOffered: TLS is required for the hop but the server did not offer STARTTLS (or
// refused it). Nothing but EHLO, STARTTLS and QUIT was sent in clear.
var ErrTLSNotOffered = errors.New("deliver: tls required but not available")

// errRetryPlain asks the caller to try the same address again without TLS.
var errRetryPlain = errors.New("deliver: tls failed, plaintext allowed")

// Open dials peer and brings a session to the point where a transaction can start: implicit
// TLS or STARTTLS as the policy requires, greeting, EHLO/HELO. On failure the error says why
// (a *ConnectError, an *smtp.Error) and the caller moves on to the next address; a session that
// was still in step got its QUIT. When TLS is mandatory nothing after EHLO is ever sent in
// clear. After a failed handshake under a policy that allows it (a "?" rule, or
// Config.ClearAfterTLSFailure under an opportunistic policy) the same address is tried once
// more in clear.
func (e *Engine) Open(ctx context.Context, host string, peer netip.AddrPort, pol *tlspolicy.Policy) (*Session, error) {
	return e.openSpec(ctx, host, peer, pol, spec{Relay: host})
}

// openSpec is Open for a route's spec: source address, EHLO name, credentials.
func (e *Engine) openSpec(ctx context.Context, host string, peer netip.AddrPort, pol *tlspolicy.Policy, sp spec) (*Session, error) {
	s, err := e.open(ctx, host, peer, pol, sp)
	if errors.Is(err, errRetryPlain) {
		return e.open(ctx, host, peer, &tlspolicy.Policy{Mode: tlspolicy.Never}, sp)
	}
	return s, err
}

func (e *Engine) open(ctx context.Context, host string, peer netip.AddrPort, pol *tlspolicy.Policy, sp spec) (*Session, error) {
	conn, err := e.dialFrom(ctx, peer, sp.Local)
	var be *BindError
	switch {
	case errors.As(err, &be):
		return nil, be
	case err != nil:
		return nil, &ConnectError{Peer: peer, Last: err}
	}
	c := smtp.NewClient(conn, smtp.Options{Peer: peer, Timeout: e.TimeoutRemote, Timeouts: e.Timeouts,
		Transcript: e.Transcript, NoPipelining: e.NoPipelining, EHLOOnlyIfESMTP: e.EHLOOnlyIfESMTP, LMTP: e.LMTP})
	s := &Session{c: c, Host: host, Peer: peer, policy: pol, eightBit: e.EightBit,
		// LMTP answers BDAT LAST with one reply per recipient (RFC 2033 §4.2 with RFC 3030);
		// LMTP sessions keep DATA, whose replies per recipient lmtp.go reads.
		chunking: e.Chunking && !e.LMTP}
	if err := e.setUp(ctx, s, pol, sp); err != nil {
		c.Quit(ctx)
		c.Close()
		return nil, err
	}
	s.Protocol = "smtp"
	if c.Extended() {
		s.Protocol = "esmtp"
	}
	if e.LMTP {
		s.Protocol = "lmtp"
	}
	return s, nil
}

// setUp runs the steps of Open on a connected client: TLS as the policy requires, EHLO with
// the spec's name, then AUTH when the spec has credentials (after STARTTLS, on the EHLO that
// followed it).
func (e *Engine) setUp(ctx context.Context, s *Session, pol *tlspolicy.Policy, sp spec) error {
	if err := e.setUpTLS(ctx, s, pol, e.helo(sp)); err != nil {
		return err
	}
	if sp.User == "" {
		return nil
	}
	return e.authenticate(ctx, s, sp)
}

// setUpTLS is setUp up to the last EHLO.
func (e *Engine) setUpTLS(ctx context.Context, s *Session, pol *tlspolicy.Policy, helo string) error {
	c := s.c
	if pol.Implicit {
		cfg, f := pol.Config()
		if _, err := c.Handshake(ctx, cfg); err != nil {
			return e.tlsFailed(err, pol)
		}
		s.TLS = f
	}
	if _, err := c.Greeting(ctx); err != nil {
		return err
	}
	if err := c.Hello(ctx, helo); err != nil {
		return err
	}
	if pol.Implicit || pol.Mode == tlspolicy.Never {
		return nil
	}
	if !c.Extensions().Has("STARTTLS") {
		if pol.Mode == tlspolicy.Mandatory {
			return &smtp.Error{Phase: smtp.PhaseStartTLS, Peer: c.Peer(), Err: ErrTLSNotOffered}
		}
		return nil // opportunistic: in clear, as documented
	}
	cfg, f := pol.Config()
	_, err := c.StartTLS(ctx, cfg)
	var se *smtp.Error
	switch {
	case err == nil:
	case errors.As(err, &se) && se.Reply != nil && pol.Mode != tlspolicy.Mandatory:
		return nil // STARTTLS refused; the session is in step and TLS was only wished for
	default:
		return e.tlsFailed(err, pol)
	}
	if err := c.Hello(ctx, helo); err != nil {
		return err
	}
	s.TLS = f
	return nil
}

// implicit is pol with TLS from the first byte, as a route's "s" port (or 465, 6209) asks,
// whatever tlsdestinations said: a "!" rule cannot make a TLS port speak clear text, so a
// Never policy becomes opportunistic (unverified) TLS. No clear-text retry follows a failed
// handshake on such a port (tlsFailed).
func implicit(pol *tlspolicy.Policy) *tlspolicy.Policy {
	p := *pol
	p.Implicit = true
	if p.Mode == tlspolicy.Never {
		p.Mode = tlspolicy.Opportunistic
	}
	return &p
}

// tlsFailed decides whether a failed handshake may be retried in clear: only under a policy
// that is merely opportunistic, and only when its rule ("?") or the front end allows it.
func (e *Engine) tlsFailed(err error, pol *tlspolicy.Policy) error {
	if errors.Is(err, smtp.ErrTLS) && pol.Mode == tlspolicy.Opportunistic && !pol.Implicit && (pol.Fallback || e.ClearAfterTLSFailure) {
		return errRetryPlain
	}
	return err
}

// Close ends the session: QUIT when it is still in step (without waiting for the 221, as
// qmail-remote), then the connection is closed.
func (s *Session) Close(ctx context.Context) {
	s.settle(ctx)
	s.c.Quit(ctx)
	s.c.Close()
}

// Usable reports whether another transaction may run on the session.
func (s *Session) Usable() bool { return !s.c.Botched() }

// facts stamps an Outcome with the session it was reached in.
func (s *Session) facts(o *outcome.Outcome) {
	o.Host, o.Peer, o.TLS, o.Protocol = s.Host, s.Peer, s.TLS, s.Protocol
	if s.AuthSkipped && o.Local == "" {
		// For the status lines and JSON; the qmail report has its own line (report.AuthSkipped).
		o.Local = "unauthenticated: the server offered no usable AUTH mechanism"
	}
}

// Transact runs one transaction for job on the session and records every recipient's Outcome
// and the message's in res. fresh reports whether the transaction failed before the server
// said anything about it (a session found dead on reuse, a 421, a refused RSET): then nothing
// of it took effect, and the caller may run it again on a new session.
//
// next, when not nil, is offered the session once the text has gone out and the final dot is
// queued, if the server pipelines: when it takes the session (returns true), the next
// transaction sends its commands right behind this dot and reads this dot's reply first
// (RFC 2920 §3.1), and Transact waits for that reply. When next declines, or is nil, Transact
// sends the dot and reads the reply itself; the session is then the caller's again. An LMTP
// session is never offered: it reads its replies after the dot itself, one per accepted
// recipient, each that recipient's Outcome (lmtp.go).
//
// Before MAIL FROM the message is prepared for this server (body.go): sent as it is, or
// downgraded to 7 bits as Config.EightBit says; a message that cannot be downgraded fails
// here, with nothing sent.
func (s *Session) Transact(ctx context.Context, job *Job, res *Result, next func(*Session) bool) (fresh bool) {
	s.transactions++
	res.AuthSkipped = s.AuthSkipped
	if s.dirty {
		s.settle(ctx)
		if err := s.c.Reset(ctx); err != nil {
			s.fail(res, err)
			return true
		}
		s.dirty = false
	}
	var to []string
	var idx []int
	for i, rcpt := range job.Recipients {
		if !smtp.ValidRecipient(rcpt) {
			o := outcome.Local(outcome.BadRecipient, smtp.PhaseRcpt, "the recipient address cannot be written as an SMTP path",
				&smtp.Error{Phase: smtp.PhaseRcpt, Peer: s.Peer, Err: smtp.ErrAddress})
			s.facts(&o)
			res.Recipients[i] = o
			continue
		}
		to = append(to, rcpt)
		idx = append(idx, i)
	}
	if job.RequireTLS {
		if err := s.requireTLSRefusal(); err != nil {
			s.settle(ctx)
			s.fail(res, err) // a kept session is checked again: nothing is sent that could not go
			return false
		}
	}
	body, err := s.prepare(s.eightBit, job.Message)
	if err != nil {
		// A message this server cannot take (a downgrade failure) fails before MAIL FROM; the
		// session stays in step for the next job.
		s.settle(ctx)
		s.fail(res, err)
		return false
	}
	// Written out here, not by a method of text: through a call, Go 1.26 moves the recipient
	// list, which lives on the stack, to the heap (one allocation per message).
	env := smtp.Envelope{From: job.Sender, To: to, Size: body.scan.WireSize(),
		EightBit: body.scan.EightBit && !body.downgrade, UTF8: body.utf8,
		DSN: jobDSN(job, idx), RequireTLS: job.RequireTLS, Chunking: s.chunking, Binary: body.scan.Binary}
	var sent *smtp.Sent
	if pd := s.pending; pd != nil {
		s.pending = nil
		sent, err = s.c.EnvelopeAfterDot(ctx, env, pd.deliver)
	} else {
		sent, err = s.c.Envelope(ctx, env)
	}
	for k := range sent.Rcpt {
		r := sent.Rcpt[k]
		i := idx[k]
		if !smtp.RcptAccepted(r) {
			o := outcome.FromReply(smtp.PhaseRcpt, r, nil)
			s.facts(&o)
			res.Recipients[i] = o
		}
		res.Recipients[i].RcptReply = &r
	}
	if err != nil {
		s.dirty = true
		s.fail(res, err)
		return s.untouched(sent, err)
	}
	if body.scan.Partial() {
		// Nothing of the text is sent and no dot: dropping the connection makes the server
		// discard the transaction (RFC 5321 §4.1.1.4), and no QUIT follows, as in the reference.
		s.c.Close()
		s.fail(res, &smtp.Error{Phase: smtp.PhaseBody, Peer: s.Peer, Err: smtp.ErrPartialLine})
		return false
	}
	r, sentText := body.open()
	if sent.Chunked {
		// BDAT: the LAST chunk is queued as the final dot is, so the next job's commands can
		// follow it in the same write, and its reply is read the same way.
		err = s.c.SendBDAT(ctx, r, env.Size)
	} else {
		err = s.c.SendBody(ctx, r)
	}
	sentText()
	if err != nil {
		s.fail(res, err)
		return false
	}
	if s.c.LMTP() {
		// One reply per recipient after the dot: read here, never by the next transaction.
		s.finishLMTP(ctx, res, idx, sent)
		return false
	}
	if next != nil && s.c.Pipelining() {
		pd := &pendingDot{done: make(chan dotReply, 1)}
		s.pending = pd
		facts := *s // the session's facts, read after it has moved on
		if next(s) {
			r := <-pd.done
			facts.finish(res, r.reply, r.err)
			return false
		}
		s.pending = nil
	}
	final, err := s.c.DotReply(ctx)
	s.finish(res, final, err)
	return false
}

// jobDSN is the job's DSN parameters for the recipients that are sent (idx: their positions in
// the job), so that each ORCPT stays with its recipient.
func jobDSN(job *Job, idx []int) smtp.DSN {
	d := job.DSN
	if d.ORcpt == nil {
		return d
	}
	d.ORcpt = make([]string, len(idx))
	for k, i := range idx {
		if i < len(job.DSN.ORcpt) {
			d.ORcpt[k] = job.DSN.ORcpt[i]
		}
	}
	return d
}

// finish records the reply to the final dot (or the failure to get one) as the message's
// Outcome.
func (s *Session) finish(res *Result, final smtp.Reply, err error) {
	if err != nil {
		s.fail(res, err)
		return
	}
	res.Message = outcome.FromReply(smtp.PhaseDot, final, nil)
	s.facts(&res.Message)
}

// pendingDot is a transaction whose final dot went out ahead of the next transaction's commands;
// done receives its reply, read by the next transaction.
type pendingDot struct{ done chan dotReply }

type dotReply struct {
	reply smtp.Reply
	err   error
}

func (p *pendingDot) deliver(r smtp.Reply, err error) { p.done <- dotReply{r, err} }

// settle reads the reply to a dot still waiting for one, when the session is about to be used
// otherwise (RSET, QUIT, closing), so that its transaction learns its outcome.
func (s *Session) settle(ctx context.Context) {
	if pd := s.pending; pd != nil {
		s.pending = nil
		pd.deliver(s.c.DotReply(ctx))
	}
}

// fail records err as the message's Outcome.
func (s *Session) fail(res *Result, err error) {
	res.Message = classify(err)
	s.facts(&res.Message)
}

// untouched reports whether a failed envelope left no trace at the server: no reply at all was
// read, or the first reply was a 421 (the server closing before the transaction began).
func (s *Session) untouched(sent *smtp.Sent, err error) bool {
	var se *smtp.Error
	if !errors.As(err, &se) || se.Phase != smtp.PhaseMail {
		return false
	}
	return se.Reply == nil && !errors.Is(se.Err, smtp.ErrAddress) && !errors.Is(se.Err, smtp.ErrTooBig) &&
		!errors.Is(se.Err, smtp.ErrNeedsSMTPUTF8) && !errors.Is(se.Err, smtp.ErrRequireTLS) &&
		!errors.Is(se.Err, smtp.ErrDSN) || se.Reply != nil && se.Reply.Code == 421
}
