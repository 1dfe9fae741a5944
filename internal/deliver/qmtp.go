package deliver

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/qmtp"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// ErrQMTPNoTLS: tlsdestinations requires TLS for the relay of a qmtproutes entry that is not
// QMTPS. QMTP has no STARTTLS, so nothing is sent (fail closed).
var ErrQMTPNoTLS = errors.New("deliver: tls required but the qmtproutes entry is not QMTPS (port 6209 or s)")

// walkQMTP delivers job over QMTP (a qmtproutes entry): the plan's addresses in turn until one
// takes a connection (TLS from the first byte for QMTPS), then one package per recipient on
// that connection (docs/qmtp.md: mailfront, the QMTP server of Debian, answers once per package
// instead of once per recipient, and a package per recipient gives the right answer from both
// kinds of server). Each response is its recipient's Outcome (outcome.FromQMTP). A connection
// that fails before any response moves on to the next address, as for SMTP; one that fails
// later ends the job: the recipient under way gets the failure (with the duplicate risk when its
// package had gone out), the ones after it the failure without that risk.
func (e *Engine) walkQMTP(ctx context.Context, plan *route.Plan, dest string, sp spec, job *Job, res *Result) {
	res.QMTP = true
	stop := time.Now().Add(e.walkLimit())
	var last error
	var lastHost string
	var lastPeer netip.AddrPort
	for _, hop := range plan.Hops {
		name := hop.Name
		if name == dest {
			name = res.Destination
		}
		lastHost = name
		pol, _, err := e.policy(ctx, job, dest, hop, nil) // QMTPS: no MTA-STS (an SMTP policy)
		if err != nil {
			last = err
			continue
		}
		for _, addr := range hop.Addrs {
			if last != nil && time.Now().After(stop) {
				break
			}
			peer := netip.AddrPortFrom(addr, hop.Port)
			lastPeer = peer
			c, facts, err := e.openQMTP(ctx, peer, pol, sp)
			if err != nil {
				last = err
				continue
			}
			stamp := func(o *outcome.Outcome) {
				o.Host, o.Peer, o.TLS, o.Protocol = name, peer, facts, "qmtp"
			}
			answered, err := e.sendQMTP(ctx, c, job, res, stamp)
			c.Close()
			if err != nil && answered == 0 && untouchedQMTP(err) {
				last = err
				continue
			}
			e.qmtpMessage(res, err, stamp)
			return
		}
	}
	res.Message = classify(last)
	res.Message.Host, res.Message.Peer = lastHost, lastPeer
}

// openQMTP dials peer (from the spec's source address) and, for QMTPS, runs the handshake under
// the hop's TLS policy. QMTP has no STARTTLS: without implicit TLS the session is in clear, and
// a policy that requires TLS refuses it before dialling.
func (e *Engine) openQMTP(ctx context.Context, peer netip.AddrPort, pol *tlspolicy.Policy, sp spec) (*qmtp.Client, *tlspolicy.Facts, error) {
	if !sp.Implicit && pol.Mode == tlspolicy.Mandatory {
		return nil, nil, &qmtp.Error{Phase: qmtp.PhaseTLS, Peer: peer, Err: errors.Join(qmtp.ErrTLS, ErrQMTPNoTLS)}
	}
	conn, err := e.dialFrom(ctx, peer, sp.Local)
	var be *BindError
	switch {
	case errors.As(err, &be):
		return nil, nil, be
	case err != nil:
		return nil, nil, &ConnectError{Peer: peer, Last: err}
	}
	var facts *tlspolicy.Facts
	if sp.Implicit {
		cfg, f := implicit(pol).Config()
		tc, err := qmtp.HandshakeTLS(ctx, conn, cfg, peer, e.TimeoutRemote)
		if err != nil {
			conn.Close()
			return nil, nil, err
		}
		conn, facts = tc, f
	}
	return qmtp.NewClient(conn, qmtp.Options{Peer: peer, Timeout: e.TimeoutRemote, Transcript: e.Transcript}), facts, nil
}

// sendQMTP sends one package per recipient, in order, and records each response. It stops at
// the first failure and returns it, with the number of responses read.
func (e *Engine) sendQMTP(ctx context.Context, c *qmtp.Client, job *Job, res *Result, stamp func(*outcome.Outcome)) (int, error) {
	answered := 0
	for i, rcpt := range job.Recipients {
		resp, err := c.Send(ctx, job.Message, job.Sender, []string{rcpt})
		if err != nil {
			o := classify(err)
			stamp(&o)
			res.Recipients[i] = o
			rest := o
			rest.DuplicateRisk = false // their packages never went out
			for j := i + 1; j < len(job.Recipients); j++ {
				res.Recipients[j] = rest
			}
			return answered, err
		}
		o := outcome.FromQMTP(resp[0])
		stamp(&o)
		res.Recipients[i] = o
		answered++
	}
	return answered, nil
}

// untouchedQMTP reports a failure that left nothing at the server: the first package did not
// go out whole (a server must discard an incomplete package, qmtp.txt §2), and not for a local
// reason that another address cannot mend.
func untouchedQMTP(err error) bool {
	var qe *qmtp.Error
	return errors.As(err, &qe) && qe.Phase == qmtp.PhaseSend && !errors.Is(qe, qmtp.ErrMessageRead)
}

// qmtpMessage sets the message's Outcome from the recipients': delivered when any recipient's
// response was K (the recipient reports say which), else the session's failure, else the
// first Z (deferred), else the first D.
func (e *Engine) qmtpMessage(res *Result, err error, stamp func(*outcome.Outcome)) {
	var first, firstZ *outcome.Outcome
	for i := range res.Recipients {
		o := &res.Recipients[i]
		switch {
		case o.QMTP == nil:
		case o.Status == outcome.Delivered:
			res.Message = *o
			return
		case o.Status == outcome.Deferred && firstZ == nil:
			firstZ = o
		case first == nil:
			first = o
		}
	}
	switch {
	case err != nil:
		res.Message = classify(err)
		stamp(&res.Message)
	case firstZ != nil:
		res.Message = *firstZ
	case first != nil:
		res.Message = *first
	default: // no recipients: nothing to send
		res.Message = outcome.Local(outcome.NoneAccepted, smtp.PhaseRcpt, "no recipients", nil)
	}
}
