package deliver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/mxout/mxout/internal/idn"
	"github.com/mxout/mxout/internal/qmailctl"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
)

// Router finds the static route for a host; *qmailctl.Routes implements it.
type Router interface {
	Lookup(host string) (qmailctl.Route, bool)
}

// Config is what every delivery shares. The qmail front end builds it from the control files,
// the mxout commands from their flags. Zero timeouts mean no limit beyond the context.
type Config struct {
	HeloHost       string
	TimeoutConnect time.Duration
	TimeoutRemote  time.Duration
	// Timeouts bound each phase of a session on its own; a zero field takes TimeoutRemote.
	Timeouts smtp.Timeouts
	// NoPipelining and EHLOOnlyIfESMTP are mxout's -P and -E (smtp.Options).
	NoPipelining, EHLOOnlyIfESMTP bool
	Routes                        Router // nil: no static routes
	Planner                       *route.Planner
	// Dial opens a TCP connection; nil means a net.Dialer with TimeoutConnect.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Transcript, when set, receives each session's dialogue (opt-in).
	Transcript io.Writer
	// TLSDestinations and DomainCerts are the TLS rules (nil: opportunistic STARTTLS, no
	// client certificate). TLSA looks up DANE records; nil disables DANE.
	TLSDestinations *qmailctl.TLSDestinations
	DomainCerts     *qmailctl.DomainCerts
	TLSA            TLSALookuper
	// WalkLimit bounds the walk over the plan: no new connection is started once this much
	// time has passed since the delivery began (one in progress runs to its end); 0 means
	// DefaultWalkLimit.
	WalkLimit time.Duration
	// ClearAfterTLSFailure retries an address once in clear when its TLS handshake failed
	// under a merely opportunistic policy (as Exim's tls_tempfail_tryclear), so that a server
	// with broken TLS still gets its mail. Never under a mandatory policy, DANE included.
	// mxout's own commands set it; qmail-remote keeps s/qmail's rule (only "?" does this).
	ClearAfterTLSFailure bool
	// Chunking sends message texts with BDAT (RFC 3030) to servers that offer CHUNKING; without
	// it, and to other servers, DATA. mxout's own commands set it; qmail-remote keeps DATA, the
	// command its reports name.
	Chunking bool
	// HonourTLSRequiredNo lets a message's "TLS-Required: No" header field (RFC 8689) relax
	// the recipient's TLS policies for it: no DANE (and no MTA-STS), TLS only opportunistic.
	// Local tlsdestinations rules still apply, and a REQUIRETLS job ignores the field. mxout's
	// own commands set it; qmail-remote keeps DANE for every message.
	HonourTLSRequiredNo bool
}

// DefaultWalkLimit is the WalkLimit when none is set. With at most 16 hosts of 5 addresses
// (route), qmail's default timeouts (60 s to connect, 1200 s per reply) would otherwise let one
// plan of dead or stalling servers keep a process for a day; after 15 minutes the last failure
// is reported (temporarily) and the queue tries again later.
const DefaultWalkLimit = 15 * time.Minute

// Engine delivers jobs. Deliver runs one job on sessions of its own and closes them; a Pool
// runs many jobs over sessions it keeps.
type Engine struct {
	Config
}

// New returns an engine for cfg.
func New(cfg Config) *Engine { return &Engine{Config: cfg} }

// Deliver routes the job and tries its hops until one session carries the transaction, then
// ends that session. Every recipient of the result has its Outcome.
func (e *Engine) Deliver(ctx context.Context, job *Job) *Result {
	res := newResult(job)
	defer res.finish()
	e.walk(ctx, job, res, func(s *Session) bool {
		s.Transact(ctx, job, res, nil)
		s.Close(ctx)
		return true
	})
	return res
}

// walk routes job and opens sessions along the plan, address after address, until use takes
// one (returns true). A failure to open moves on (qmail-remote contract, decision 3); when
// every address failed, or the walk limit passed, the last failure is the message's Outcome.
func (e *Engine) walk(ctx context.Context, job *Job, res *Result, use func(*Session) bool) {
	plan, dest, err := e.plan(ctx, job.Host, res)
	if err != nil {
		res.Message = classify(err)
		return
	}
	e.walkPlan(ctx, plan, dest, job, res, use)
}

// walkPlan is walk once the plan is made for dest (in A-labels).
func (e *Engine) walkPlan(ctx context.Context, plan *route.Plan, dest string, job *Job, res *Result, use func(*Session) bool) {
	stop := time.Now().Add(e.walkLimit())
	var last error
	var lastHost string
	var lastPeer netip.AddrPort
	var refused refusal // the last host that could not carry a REQUIRETLS message
	for _, hop := range plan.Hops {
		if last != nil && time.Now().After(stop) {
			break
		}
		name := hop.Name
		if name == dest {
			name = res.Destination // the destination itself (implicit MX, relay): as the user wrote it
		}
		lastHost = name
		pol, port, err := e.policy(ctx, job, dest, hop)
		if err != nil {
			last = err // a hop whose TLS requirements cannot be settled is not tried (fail closed)
			continue
		}
		for _, addr := range hop.Addrs {
			if last != nil && time.Now().After(stop) {
				break
			}
			peer := netip.AddrPortFrom(addr, port)
			lastPeer = peer
			s, err := e.Open(ctx, name, peer, pol)
			if err != nil && job.RequireTLS {
				err = requireTLSOpenError(err)
				refused.note(err, name, peer)
			}
			if err != nil {
				last = err
				continue
			}
			if job.RequireTLS {
				s.vouched = e.vouched(job, dest, hop)
				if err := s.requireTLSRefusal(); err != nil {
					s.Close(ctx) // nothing of the transaction was sent (RFC 8689 §4.2.1: QUIT, next host)
					last = err
					refused.note(err, name, peer)
					continue
				}
			}
			if use(s) {
				return
			}
		}
	}
	if refused.err != nil {
		last, lastHost, lastPeer = refused.err, refused.host, refused.peer
	}
	res.Message = classify(last)
	res.Message.Host, res.Message.Peer = lastHost, lastPeer
}

func (e *Engine) walkLimit() time.Duration {
	if e.WalkLimit <= 0 {
		return DefaultWalkLimit
	}
	return e.WalkLimit
}

// groupKey names the sessions a job may share: those to the same destination, opened under
// the same TLS rules. Rules may depend on the sender's domain (tlsdestinations "|domain",
// domaincerts); only then is the sender's domain part of the key.
func (e *Engine) groupKey(dest, sender string) string {
	if e.TLSDestinations != nil || e.DomainCerts != nil {
		return dest + "|" + senderDomain(sender)
	}
	return dest
}

// tlsGroup is the part of a job's pool group its own TLS wishes add: a REQUIRETLS job's
// sessions were opened under a raised policy and checked, a "TLS-Required: No" job's without
// DANE; neither may be shared with ordinary jobs.
func (e *Engine) tlsGroup(job *Job) string {
	switch {
	case job.RequireTLS:
		return "|requiretls"
	case e.tlsOptional(job):
		return "|tls-optional"
	}
	return ""
}

// plan applies the static routes, then MX routing, to the A-label form of host. It returns the
// plan and the destination it was made for, in A-labels: the host, or the static route's relay.
// The destination is converted once, here, and that form is used for every lookup, every
// tlsdestinations and smtproutes match and SNI (control files convert their keys the same way
// when read). Result.Destination, the host name of the destination itself and
// route.Error.Name keep the bytes the user gave, for the reports.
func (e *Engine) plan(ctx context.Context, host string, res *Result) (*route.Plan, string, error) {
	dest := idn.Host(host)
	if e.Routes != nil {
		if r, ok := e.Routes.Lookup(dest); ok && !r.MX() {
			res.Destination = r.Relay
			relay := idn.Host(r.Relay)
			plan, err := e.Planner.Relay(ctx, relay, r.Addr, r.Port)
			return plan, relay, asGiven(err, r.Relay)
		}
	}
	plan, err := e.Planner.Domain(ctx, dest)
	return plan, dest, asGiven(err, host)
}

// asGiven names the destination in a routing error as the user wrote it, for the report.
func asGiven(err error, name string) error {
	var re *route.Error
	if !errors.As(err, &re) {
		return err
	}
	named := *re
	named.Name = name
	return &named
}

func (e *Engine) dial(ctx context.Context, peer netip.AddrPort) (net.Conn, error) {
	if e.TimeoutConnect > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.TimeoutConnect)
		defer cancel()
	}
	if e.Dial != nil {
		return e.Dial(ctx, "tcp", peer.String())
	}
	var nd net.Dialer
	return nd.DialContext(ctx, "tcp", peer.String())
}
