package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/qmailctl"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// Job is one message for one destination.
type Job struct {
	Host       string // destination: a domain, or an address literal such as [192.0.2.1]
	Sender     string // "" for the null sender
	Recipients []string
	Message    *message.Message
}

// Status is what became of one recipient.
type Status int

// Recipient statuses. Unknown means the session ended before the recipient was answered: the
// message outcome applies to it.
const (
	Unknown Status = iota
	Accepted
	Temporary
	Permanent
)

// Recipient is the outcome for one recipient. Reply is the server's answer to RCPT TO; it is
// nil when the outcome was decided locally, and then Err says why.
type Recipient struct {
	Status Status
	Reply  *smtp.Reply
	Err    error
}

// Result is the outcome of a job. Err is nil only when the server answered the final dot with
// a 2xx (Final). Otherwise it is a *route.Error, a *ConnectError, an *smtp.Error, or a local
// error; Recipients still hold every recipient's own outcome so far.
type Result struct {
	Recipients  []Recipient // one per Job.Recipients, in order
	Destination string      // what TLS rules were looked up by: the job's host, or the smtproutes relay
	Hop         string      // host name of the hop last tried ("" before routing succeeded)
	Peer        netip.AddrPort
	TLS         *tlspolicy.Facts // the TLS session the transaction ran in; nil in clear
	Final       smtp.Reply
	Err         error
}

// ConnectError says no address of the plan accepted a connection. Last is the last attempt's
// error (all of them are failures to connect).
type ConnectError struct {
	Peer netip.AddrPort
	Last error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("deliver: no connection could be made (last: %s: %v)", e.Peer, e.Last)
}

func (e *ConnectError) Unwrap() error { return e.Last }

// Router finds the smtproutes entry for a host; *qmailctl.Routes implements it.
type Router interface {
	Lookup(host string) (qmailctl.Route, bool)
}

// Deliverer holds what every delivery shares. Zero timeouts mean no limit beyond the context.
type Deliverer struct {
	HeloHost       string
	TimeoutConnect time.Duration
	TimeoutRemote  time.Duration
	Routes         Router // nil: no static routes
	Planner        *route.Planner
	// Dial opens a TCP connection; nil means a net.Dialer with TimeoutConnect.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Transcript, when set, receives each session's dialogue (opt-in).
	Transcript io.Writer
	// TLSDestinations and DomainCerts are the TLS rules (nil: opportunistic STARTTLS, no
	// client certificate). TLSA looks up DANE records; nil disables DANE.
	TLSDestinations *qmailctl.TLSDestinations
	DomainCerts     *qmailctl.DomainCerts
	TLSA            TLSALookuper
}

// Deliver routes the job and tries its hops until one session carries the transaction.
func (d *Deliverer) Deliver(ctx context.Context, job *Job) *Result {
	res := &Result{Recipients: make([]Recipient, len(job.Recipients)), Destination: job.Host}
	plan, err := d.plan(ctx, job.Host, res)
	if err != nil {
		res.Err = err
		return res
	}
	var last error
	for _, hop := range plan.Hops {
		res.Hop = hop.Name
		pol, err := d.policy(ctx, job, res.Destination, hop)
		if err != nil {
			last = err // a hop whose TLS requirements cannot be settled is not tried (fail closed)
			continue
		}
		port := hop.Port
		if pol.Port != 0 {
			port = pol.Port
		}
		for _, addr := range hop.Addrs {
			peer := netip.AddrPortFrom(addr, port)
			res.Peer = peer
			c, facts, err := d.open(ctx, peer, pol)
			if errors.Is(err, errRetryPlain) {
				// "?" rule: the TLS handshake failed and the rule allows this address in clear.
				c, facts, err = d.open(ctx, peer, &tlspolicy.Policy{Mode: tlspolicy.Never})
			}
			if err != nil {
				last = err
				continue
			}
			res.TLS = facts
			d.transact(ctx, c, job, res)
			c.Close()
			return res
		}
	}
	res.Err = last
	return res
}

// plan applies smtproutes, then MX routing.
func (d *Deliverer) plan(ctx context.Context, host string, res *Result) (*route.Plan, error) {
	if d.Routes != nil {
		if r, ok := d.Routes.Lookup(host); ok && !r.MX() {
			res.Destination = r.Relay
			return d.Planner.Relay(ctx, r.Relay, r.Addr, r.Port)
		}
	}
	return d.Planner.Domain(ctx, host)
}

func (d *Deliverer) dial(ctx context.Context, peer netip.AddrPort) (net.Conn, error) {
	if d.TimeoutConnect > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.TimeoutConnect)
		defer cancel()
	}
	if d.Dial != nil {
		return d.Dial(ctx, "tcp", peer.String())
	}
	var nd net.Dialer
	return nd.DialContext(ctx, "tcp", peer.String())
}

// transact runs one transaction on an open session and records every outcome in res. It ends
// the session with QUIT unless the connection is out of step.
func (d *Deliverer) transact(ctx context.Context, c *smtp.Client, job *Job, res *Result) {
	var to []string
	var idx []int
	for i, rcpt := range job.Recipients {
		if !smtp.ValidRecipient(rcpt) {
			res.Recipients[i] = Recipient{Status: Permanent, Err: smtp.ErrAddress}
			continue
		}
		to = append(to, rcpt)
		idx = append(idx, i)
	}
	msg := job.Message
	sent, err := c.Envelope(ctx, smtp.Envelope{
		From: job.Sender, To: to, Size: msg.WireSize(), EightBit: msg.EightBit,
	})
	for k, r := range sent.Rcpt {
		res.Recipients[idx[k]] = recipient(r)
	}
	if err != nil {
		res.Err = err
		c.Quit(ctx)
		return
	}
	if msg.Partial() {
		// Nothing of the text is sent and no dot: dropping the connection makes the server
		// discard the transaction (RFC 5321 §4.1.1.4), and no QUIT follows, as in the reference.
		c.Close()
		res.Err = &smtp.Error{Phase: smtp.PhaseBody, Peer: c.Peer(), Err: smtp.ErrPartialLine}
		return
	}
	res.Final, res.Err = c.Body(ctx, msg.Open())
	c.Quit(ctx)
}

// recipient turns a RCPT reply into an outcome: acceptance as the smtp package decides it, a
// 5xx permanent, anything else (4xx, malformed) temporary.
func recipient(r smtp.Reply) Recipient {
	reply := r
	switch {
	case smtp.RcptAccepted(r):
		return Recipient{Status: Accepted, Reply: &reply}
	case r.Class() == 5:
		return Recipient{Status: Permanent, Reply: &reply}
	}
	return Recipient{Status: Temporary, Reply: &reply}
}
