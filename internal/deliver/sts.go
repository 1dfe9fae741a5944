package deliver

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mxout/mxout/internal/dane"
	"github.com/mxout/mxout/internal/idn"
	"github.com/mxout/mxout/internal/mtasts"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
	"github.com/mxout/mxout/internal/tlsrpt"
)

// STSResolver finds the MTA-STS policy of a recipient domain (RFC 8461); *mtasts.Resolver
// implements it, with its disk cache and downgrade resistance. A non-nil policy applies even
// with an error; a nil policy means "deliver as without MTA-STS".
type STSResolver interface {
	Get(ctx context.Context, domain string) (*mtasts.Policy, mtasts.Source, error)
}

// TLSReporter receives one result per TLS session (or failed attempt) made under a policy,
// for TLS-RPT (RFC 8460); *tlsrpt.Store implements it. An error is ignored: a report that
// undercounts must not hold up mail.
type TLSReporter interface {
	Add(tlsrpt.Result) error
}

// STS is the MTA-STS state of one destination domain, looked up once per delivery before
// the walk over its MX hosts.
type STS struct {
	Domain string         // the recipient domain, in A-labels
	Policy *mtasts.Policy // nil: none applies (none published, none reachable and none cached)
	Source mtasts.Source
	Err    error // what failed on the way (also with a Policy: a refresh that failed)
}

// LookupSTS returns the MTA-STS state of host, the destination of a job from sender (routes
// may depend on the sender), or nil when MTA-STS
// does not apply: Config.MTASTS is nil, host is an address literal, or a static route sends
// the mail to a relay of the operator's choosing (RFC 8461 §3.4 leaves smart hosts to
// configuration). A failed fetch whose error names an RFC 8460 failure type is recorded for
// TLS-RPT.
func (e *Engine) LookupSTS(ctx context.Context, host, sender string) *STS {
	dest := idn.Host(host)
	if e.MTASTS == nil || isLiteral(dest) {
		return nil
	}
	if e.Routes != nil {
		if r, err := e.Routes.Lookup(sender, dest); err == nil && !r.MX() {
			return nil
		}
	}
	now := time.Now()
	if st := e.stsMemo.get(dest, now); st != nil {
		return st
	}
	p, src, err := e.MTASTS.Get(ctx, dest)
	st := &STS{Domain: dest, Policy: p, Source: src, Err: err}
	if t := fetchFailure(err); t != "" {
		e.record(tlsrpt.Result{Policy: tlsrpt.Policy{Type: tlsrpt.PolicySTS, Domain: dest},
			Failure: &tlsrpt.Failure{ResultType: t, AdditionalInfo: err.Error()}})
	}
	if ctx.Err() == nil { // an answer cut short by the caller is not the domain's
		e.stsMemo.put(dest, st, now)
	}
	return st
}

// stsMemoTTL is how long a process that delivers many messages (mxout transport) reuses the
// MTA-STS state of a domain before it asks again: one TXT lookup and one cache read per domain
// and minute instead of per message. Short enough that a changed policy id is seen soon (RFC
// 8461 §5.1 wants the record checked when sending); a one-shot qmail-remote never reuses it.
const stsMemoTTL = time.Minute

// stsMemoMax bounds the memo; when full it is emptied (a cheap bound for a rare case).
const stsMemoMax = 10000

// stsMemo remembers recent STS states per domain. The zero value is ready to use.
type stsMemo struct {
	mu sync.Mutex
	m  map[string]stsMemoEntry
}

type stsMemoEntry struct {
	st      *STS
	expires time.Time
}

func (m *stsMemo) get(domain string, now time.Time) *STS {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.m[domain]; ok && now.Before(e.expires) {
		return e.st
	}
	return nil
}

func (m *stsMemo) put(domain string, st *STS, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= stsMemoMax {
		m.m = map[string]stsMemoEntry{}
	}
	m.m[domain] = stsMemoEntry{st: st, expires: now.Add(stsMemoTTL)}
}

// effect is what the state asks of one MX host; nil when there is no state.
func (st *STS) effect(host string) *mtasts.Effect {
	if st == nil {
		return nil
	}
	eff := st.Policy.Effect(host)
	return &eff
}

// isLiteral reports whether an A-label destination is an address literal.
func isLiteral(dest string) bool {
	if strings.HasPrefix(dest, "[") {
		return true
	}
	_, err := netip.ParseAddr(dest)
	return err == nil
}

// fetchFailure is the RFC 8460 §4.3.2 result type of a policy lookup error, "" for an error
// that is none of them (no record, a DNS failure, a cache write).
func fetchFailure(err error) tlsrpt.ResultType {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, mtasts.ErrWebPKI):
		return tlsrpt.STSWebPKIInvalid
	case errors.Is(err, mtasts.ErrPolicySyntax):
		return tlsrpt.STSPolicyInvalid
	case errors.Is(err, mtasts.ErrFetch):
		return tlsrpt.STSPolicyFetchError
	}
	return ""
}

// record hands r to Config.TLSReport, stamped with the time.
func (e *Engine) record(r tlsrpt.Result) {
	if e.TLSReport == nil {
		return
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	_ = e.TLSReport.Add(r) // bounded store: a full day loses results, never mail
}

// reportHop records, for TLS-RPT, what became of one attempt at a hop under a policy: pol
// and perr are what policy returned, s and err what Open returned (both nil when the hop was
// not tried). Nothing is recorded without a policy (DANE or MTA-STS testing/enforce), nor for
// a failure that came before any TLS negotiation (a refused connection, a bad greeting).
func (e *Engine) reportHop(sts *STS, hop route.Hop, name string, peer netip.AddrPort, pol *tlspolicy.Policy, perr error, s *Session, err error) {
	if e.TLSReport == nil {
		return
	}
	rp, ok := reportPolicy(sts, hop, pol, perr)
	if !ok {
		return
	}
	fail := &tlsrpt.Failure{ReceivingMXHostname: name}
	if peer.IsValid() {
		fail.ReceivingIP = peer.Addr().String()
	}
	switch {
	case perr != nil:
		fail.ResultType = policyFailure(perr)
		fail.AdditionalInfo = perr.Error()
	case err != nil:
		fail.ResultType = sessionFailure(err)
		fail.AdditionalInfo = err.Error()
	case rp.Type == tlsrpt.PolicySTS && !sts.Policy.Match(hop.Name):
		// testing: enforce would not have connected at all
		fail.ResultType = tlsrpt.ValidationFailure
		fail.AdditionalInfo = "the mx host matches no mx pattern of the policy"
	case s.TLS == nil:
		fail.ResultType = tlsrpt.StartTLSNotSupported // a testing policy went on in clear
	case s.TLS.STSTested && s.TLS.STSFailure != nil:
		fail.ResultType = certFailure(s.TLS.STSFailure)
		fail.AdditionalInfo = s.TLS.STSFailure.Error()
	default:
		fail = nil
	}
	if fail != nil && fail.ResultType == "" {
		return // not a TLS matter
	}
	e.record(tlsrpt.Result{Policy: rp, Failure: fail})
}

// reportPolicy is the RFC 8460 policy a hop's session is counted under: DANE's when TLSA
// records decided or their lookup failed (policy domain: the MX host, RFC 8460 §3), else the
// MTA-STS policy's when it is in testing or enforce mode (policy domain: the recipient
// domain), else none.
func reportPolicy(sts *STS, hop route.Hop, pol *tlspolicy.Policy, perr error) (tlsrpt.Policy, bool) {
	var pe *tlspolicy.Error
	switch {
	case pol != nil && len(pol.DANE) > 0:
		p := tlsrpt.Policy{Type: tlsrpt.PolicyTLSA, Domain: strings.ToLower(pol.TLSAName())}
		for _, r := range pol.DANE {
			p.Strings = append(p.Strings, tlsaString(r))
		}
		return p, true
	case errors.As(perr, &pe) && pe.Kind == tlspolicy.KindTLSALookup:
		return tlsrpt.Policy{Type: tlsrpt.PolicyTLSA, Domain: strings.ToLower(hop.Name)}, true
	case sts != nil && sts.Policy.Effect(hop.Name).Report:
		return tlsrpt.Policy{Type: tlsrpt.PolicySTS, Domain: sts.Domain, Strings: sts.Policy.Lines(), MXHost: sts.Policy.MX}, true
	}
	return tlsrpt.Policy{}, false
}

// tlsaString is a TLSA record in presentation form ("3 1 1 ab12..."), as RFC 8460 §4.4's
// policy-string asks.
func tlsaString(r dane.Record) string {
	return fmt.Sprintf("%d %d %d %x", r.Usage, r.Selector, r.MatchingType, r.Data)
}

// policyFailure is the result type of a hop refused before dialling.
func policyFailure(err error) tlsrpt.ResultType {
	var pe *tlspolicy.Error
	if errors.As(err, &pe) {
		switch pe.Kind {
		case tlspolicy.KindTLSALookup:
			return tlsrpt.DNSSECInvalid
		case tlspolicy.KindMTASTS:
			return tlsrpt.ValidationFailure
		}
	}
	return "" // local configuration: not the receiver's business
}

// sessionFailure is the result type of a failed Open (docs/mta-sts.md has the table), "" when
// the failure had nothing to do with TLS.
func sessionFailure(err error) tlsrpt.ResultType {
	var se *smtp.Error
	switch {
	case errors.Is(err, ErrTLSNotOffered):
		return tlsrpt.StartTLSNotSupported
	case errors.As(err, &se) && se.Phase == smtp.PhaseStartTLS && se.Reply != nil:
		return tlsrpt.StartTLSNotSupported // STARTTLS refused
	case errors.Is(err, tlspolicy.ErrDANE):
		return tlsrpt.TLSAInvalid
	case errors.Is(err, tlspolicy.ErrName), errors.Is(err, tlspolicy.ErrCAVerify),
		errors.Is(err, tlspolicy.ErrNoCertificate), errors.Is(err, tlspolicy.ErrPin):
		return certFailure(err)
	case errors.Is(err, smtp.ErrTLS):
		return tlsrpt.StartTLSNotSupported // the handshake itself failed
	}
	return ""
}

// certFailure tells the certificate failures of RFC 8460 §4.3.1 apart by their crypto/x509
// cause.
func certFailure(err error) tlsrpt.ResultType {
	var (
		he x509.HostnameError
		ce x509.CertificateInvalidError
		ue x509.UnknownAuthorityError
	)
	switch {
	case errors.As(err, &he), errors.Is(err, tlspolicy.ErrName):
		return tlsrpt.CertificateHostMismatch
	case errors.As(err, &ce) && ce.Reason == x509.Expired:
		return tlsrpt.CertificateExpired
	case errors.As(err, &ue), errors.Is(err, tlspolicy.ErrCAVerify):
		return tlsrpt.CertificateNotTrusted
	}
	return tlsrpt.ValidationFailure
}
