package deliver

import (
	"context"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/mxout/mxout/internal/qmailctl"
	"github.com/mxout/mxout/internal/route"
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
	// ClearAfterTLSFailure retries an address once in clear when its TLS handshake failed
	// under a merely opportunistic policy (as Exim's tls_tempfail_tryclear), so that a server
	// with broken TLS still gets its mail. Never under a mandatory policy, DANE included.
	// mxout's own commands set it; qmail-remote keeps s/qmail's rule (only "?" does this).
	ClearAfterTLSFailure bool
}

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
		s.Transact(ctx, job, res)
		s.Close(ctx)
		return true
	})
	return res
}

// walk routes job and opens sessions along the plan, address after address, until use takes
// one (returns true). A failure to open moves on (qmail-remote contract, decision 3); when
// every address failed, the last failure is the message's Outcome.
func (e *Engine) walk(ctx context.Context, job *Job, res *Result, use func(*Session) bool) {
	plan, err := e.plan(ctx, job.Host, res)
	if err != nil {
		res.Message = classify(err)
		return
	}
	e.walkPlan(ctx, plan, job, res, use)
}

// walkPlan is walk once the plan is made.
func (e *Engine) walkPlan(ctx context.Context, plan *route.Plan, job *Job, res *Result, use func(*Session) bool) {
	var last error
	var lastHost string
	var lastPeer netip.AddrPort
	for _, hop := range plan.Hops {
		lastHost = hop.Name
		pol, port, err := e.policy(ctx, job, res.Destination, hop)
		if err != nil {
			last = err // a hop whose TLS requirements cannot be settled is not tried (fail closed)
			continue
		}
		for _, addr := range hop.Addrs {
			peer := netip.AddrPortFrom(addr, port)
			lastPeer = peer
			s, err := e.Open(ctx, hop.Name, peer, pol)
			if err != nil {
				last = err
				continue
			}
			if use(s) {
				return
			}
		}
	}
	res.Message = classify(last)
	res.Message.Host, res.Message.Peer = lastHost, lastPeer
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

// plan applies the static routes, then MX routing.
func (e *Engine) plan(ctx context.Context, host string, res *Result) (*route.Plan, error) {
	if e.Routes != nil {
		if r, ok := e.Routes.Lookup(host); ok && !r.MX() {
			res.Destination = r.Relay
			return e.Planner.Relay(ctx, r.Relay, r.Addr, r.Port)
		}
	}
	return e.Planner.Domain(ctx, host)
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
