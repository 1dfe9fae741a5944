package deliver

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/mxout/mxout/internal/idn"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// Router finds the static route of a message from sender to host (route.Table): the qmail
// front end's is qmailctl.Routing.Table (authsenders, qmtproutes, smtproutes, domainips in
// s/qmail's order), mxout's commands add -F and --auth-file. A route with MX() true goes by MX
// but may still set the source address, the EHLO name and the credentials. An error (wrapping
// route.ErrSourceAddress) means the message must not go now.
type Router = route.Table

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
	Routes                        Router // nil: by MX, over SMTP, no AUTH, no source address
	Planner                       *route.Planner
	// Dial opens a TCP connection; nil means a net.Dialer with TimeoutConnect, bound to the
	// route's source address (domainips) when there is one. A Dial of its own binds nothing.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Transcript, when set, receives each session's dialogue (opt-in).
	Transcript io.Writer
	// TLSRules and ClientCerts are the TLS rules and client certificates, neutral data the
	// front end builds (qmail's from control/tlsdestinations and control/domaincerts); nil:
	// opportunistic STARTTLS, no client certificate. TLSA looks up DANE records; nil disables
	// DANE.
	TLSRules    tlspolicy.Rules
	ClientCerts tlspolicy.ClientCerts
	TLSA        TLSALookuper
	// WalkLimit bounds the walk over the plan: no new connection is started once this much
	// time has passed since the delivery began (one in progress runs to its end); 0 means
	// DefaultWalkLimit.
	WalkLimit time.Duration
	// ClearAfterTLSFailure retries an address once in clear when its TLS handshake failed
	// under a merely opportunistic policy (as Exim's tls_tempfail_tryclear), so that a server
	// with broken TLS still gets its mail. Never under a mandatory policy, DANE included.
	// mxout's own commands set it; qmail-remote keeps s/qmail's rule (only "?" does this).
	ClearAfterTLSFailure bool
	// AuthInClear reports whether PLAIN, LOGIN or XOAUTH2 may send their secret without TLS
	// to a relay (the route's relay as written, or the host for MX); nil: never
	// (control/authinclear, docs/auth.md).
	AuthInClear func(relay string) bool
	// AuthMechanisms limits the SASL mechanisms used (names, any case); empty: all, the
	// strongest offered first (control/authmechanisms).
	AuthMechanisms []string
	// LMTP speaks LMTP (RFC 2033) on every session instead of SMTP (mxout's -M): LHLO, and
	// one reply per accepted recipient after the final dot, each that recipient's Outcome
	// (docs/lmtp.md). An LMTP session is never handed to the next message with its dot's
	// replies unread.
	LMTP bool
	// Socket, when set, is the path of a UNIX socket that every job goes to (mxout's -F
	// unix:/path, with LMTP): no routing, no TLS, no loop check. Dial, when set, is called with
	// network "unix" and this path.
	Socket string
	// EightBit says what becomes of a message with 8-bit bytes: as is (the zero value, as
	// qmail-remote), downgraded for a server without 8BITMIME, or always downgraded (body.go,
	// docs/downgrade.md).
	EightBit EightBit
	// MTASTS finds the recipient domain's MTA-STS policy (RFC 8461), once per delivery,
	// before the walk over its MX hosts; nil switches MTA-STS off. Not for static routes and
	// address literals (LookupSTS).
	MTASTS STSResolver
	// STSRoots verifies MX certificates under an MTA-STS enforce policy; nil means the system
	// roots (the Web PKI, RFC 8461 §4.2).
	STSRoots *x509.CertPool
	// TLSReport records, for TLS-RPT (RFC 8460), every session made under a DANE or MTA-STS
	// policy and every failure of one; nil records nothing.
	TLSReport TLSReporter
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
	stsMemo stsMemo // recent MTA-STS states per domain (LookupSTS)
	// files keeps the CA sets and client certificates the TLS rules name, between deliveries
	// (reloaded when a file changes): the engine's own, no package-level state.
	files *tlspolicy.FileCache
}

// New returns an engine for cfg.
func New(cfg Config) *Engine { return &Engine{Config: cfg, files: tlspolicy.NewFileCache()} }

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
	plan, dest, sp, err := e.plan(ctx, job.Host, job.Sender, res)
	if err != nil {
		res.Message = classify(err)
		return
	}
	if sp.QMTP {
		e.walkQMTP(ctx, plan, dest, sp, job, res)
		return
	}
	e.walkPlan(ctx, plan, dest, sp, job, res, use)
}

// walkPlan is walk once the plan is made for dest (in A-labels), with the sessions the
// route's spec asks for.
func (e *Engine) walkPlan(ctx context.Context, plan *route.Plan, dest string, sp spec, job *Job, res *Result, use func(*Session) bool) {
	stop := time.Now().Add(e.walkLimit())
	var sts *STS
	if !e.tlsOptional(job) { // "TLS-Required: No": no MTA-STS for this message (RFC 8689 §5)
		sts = e.LookupSTS(ctx, job.Host, job.Sender)
	}
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
		pol, port, err := e.policy(ctx, job, dest, hop, sts)
		if err != nil {
			e.reportHop(sts, hop, name, netip.AddrPort{}, nil, err, nil, nil)
			// A hop whose TLS requirements cannot be settled is not tried (fail closed). One
			// that MTA-STS does not allow is reported only when no other hop was tried.
			if !stsRefused(err) || last == nil || stsRefused(last) {
				last, lastHost = err, name
			}
			continue
		}
		if sp.Implicit {
			pol = implicit(pol)
		}
		lastHost = name
		for _, addr := range hop.Addrs {
			if last != nil && time.Now().After(stop) {
				break
			}
			peer := netip.AddrPortFrom(addr, port)
			lastPeer = peer
			s, err := e.openSpec(ctx, name, peer, pol, sp)
			e.reportHop(sts, hop, name, peer, pol, nil, s, err)
			if err != nil && job.RequireTLS {
				err = requireTLSOpenError(err)
				refused.note(err, name, peer)
			}
			if err != nil {
				last = err
				continue
			}
			if job.RequireTLS {
				// A host that DNSSEC, the operator or an MTA-STS enforce policy names vouches
				// for the certificate's name (RFC 8689 §4.2.1).
				s.vouched = e.vouched(job, dest, hop) || pol.MTASTS()
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
	var se *smtp.Error
	if e.LMTP && errors.As(last, &se) {
		res.Message.Protocol = "lmtp" // the server was spoken to: its refusal answered LHLO
	}
}

func (e *Engine) walkLimit() time.Duration {
	if e.WalkLimit <= 0 {
		return DefaultWalkLimit
	}
	return e.WalkLimit
}

// groupKey names the sessions a job may share: those to the same destination, opened under
// the same TLS rules, from the same source address with the same EHLO name, authenticated as
// the same user with the same password (or not at all). TLS rules may depend on the sender's
// domain (tlsdestinations "|domain", domaincerts); only then is the sender's domain part of the
// key. The spec's part holds the password only as a hash.
func (e *Engine) groupKey(dest, sender string, sp spec) string {
	key := dest + "|" + sp.key()
	if e.TLSRules != nil || e.ClientCerts != nil {
		key += "|" + senderDomain(sender)
	}
	return key
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

// plan applies the routes (Config.Routes: authsenders, qmtproutes, smtproutes, domainips),
// then MX routing, to the A-label form of host for a message from sender. It returns the plan,
// the destination it was made for, in A-labels (the host, or the route's relay), and the spec
// of the sessions the route asks for. The destination is converted once, here, and that form is
// used for every lookup, every tlsdestinations and route match and SNI (control files convert
// their keys the same way when read). Result.Destination, the host name of the destination
// itself and route.Error.Name keep the bytes the user gave, for the reports. A route by MX over
// QMTP (an empty qmtproutes value) dials the MX hosts on the route's port (209).
func (e *Engine) plan(ctx context.Context, host, sender string, res *Result) (*route.Plan, string, spec, error) {
	if e.Socket != "" {
		plan, dest, err := e.socketPlan(res)
		return plan, dest, spec{}, err
	}
	dest := idn.Host(host)
	if e.Routes == nil {
		plan, err := e.Planner.Domain(ctx, dest)
		return plan, dest, spec{Relay: host}, asGiven(err, host)
	}
	r, err := e.Routes.Lookup(sender, dest)
	if err != nil {
		return nil, dest, spec{}, err
	}
	sp := specOf(r, host)
	if !r.MX() {
		res.Destination = r.Relay
		relay := idn.Host(r.Relay)
		plan, err := e.Planner.Relay(ctx, relay, r.Addr, r.Port)
		return plan, relay, sp, asGiven(err, r.Relay)
	}
	plan, err := e.Planner.Domain(ctx, dest)
	if err == nil && sp.QMTP {
		for i := range plan.Hops {
			plan.Hops[i].Port = r.Port
		}
	}
	return plan, dest, sp, asGiven(err, host)
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
	network, address := "tcp", peer.String()
	if e.Socket != "" {
		network, address = "unix", e.Socket
	}
	if e.Dial != nil {
		return e.Dial(ctx, network, address)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, address)
}

// socketPlan is the plan of every job under Config.Socket: one hop, the socket, named
// "unix:PATH" in the Outcomes, with no IP address (Outcome.Peer stays invalid).
func (e *Engine) socketPlan(res *Result) (*route.Plan, string, error) {
	name := "unix:" + e.Socket
	res.Destination = name
	return &route.Plan{Domain: name, Hops: []route.Hop{{Name: name, Addrs: []netip.Addr{{}}}}}, name, nil
}
