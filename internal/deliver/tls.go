package deliver

import (
	"context"
	"errors"
	"strings"

	"github.com/mxout/mxout/internal/dane"
	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// TLSALookuper looks up TLSA records; *dns.Resolver implements it.
type TLSALookuper interface {
	LookupTLSA(ctx context.Context, port uint16, host string) ([]dns.TLSA, dns.Result, error)
}

// policy settles what TLS the hop requires before anything is sent, and the port to dial: the
// tlsdestinations rule, and DANE when the hop was reached through DNSSEC-secure answers
// (RFC 7672 §2.2). The port is decided first, once, so that the TLSA records are those of the
// port that is dialled (_port._tcp.host).
//
// sts is the destination's MTA-STS state (nil: none); its effect on this host goes into the
// decision, which applies the who-wins table (docs/tls.md).
func (e *Engine) policy(ctx context.Context, job *Job, dest string, hop route.Hop, sts *STS) (*tlspolicy.Policy, uint16, error) {
	if e.Socket != "" {
		return &tlspolicy.Policy{Mode: tlspolicy.Never}, 0, nil // a local socket: nothing to protect from
	}
	in := tlspolicy.Input{Destination: dest, ServerName: hop.Name, SenderDomain: senderDomain(job.Sender),
		STS: sts.effect(hop.Name), STSRoots: e.STSRoots, RequireTLS: job.RequireTLS, Files: e.files}
	port := hop.Port
	if p := tlspolicy.RulePort(e.TLSRules, dest, in.SenderDomain); p != 0 {
		port = p
	}
	if e.TLSA != nil && !e.tlsOptional(job) && hop.MXAuthentic && hop.AddrAuthentic &&
		tlspolicy.NeedTLSA(e.TLSRules, dest, in.SenderDomain) {
		in.TLSA = e.lookupTLSA(ctx, port, hop)
	}
	pol, err := tlspolicy.Decide(e.TLSRules, e.ClientCerts, in)
	return pol, port, err
}

// lookupTLSA asks for _port._tcp.host. Only an authenticated answer counts; a failed lookup
// (bogus or SERVFAIL) makes the hop unusable, since an attacker could cause it (RFC 7672 §2.2.1).
//
// When the host is an alias (hop.Canonical), the records are looked up at the expanded name
// first, and at the host's own name only when the expanded name securely has none (RFC 7672
// §2.2.2, RFC 7671 §7). The caller asks only for hops whose address answers were all
// authenticated, so every CNAME on the way was secure; a failure at the expanded name fails the
// hop as any other.
func (e *Engine) lookupTLSA(ctx context.Context, port uint16, hop route.Hop) tlspolicy.TLSAState {
	if hop.Canonical != "" && !strings.EqualFold(hop.Canonical, hop.Name) {
		st := e.tlsaAt(ctx, port, hop.Canonical)
		if st.Err != nil || st.Secure && len(st.Records) > 0 {
			st.Name = hop.Canonical
			return st
		}
	}
	return e.tlsaAt(ctx, port, hop.Name)
}

// tlsaAt looks up the TLSA records of _port._tcp.host.
func (e *Engine) tlsaAt(ctx context.Context, port uint16, host string) tlspolicy.TLSAState {
	recs, res, err := e.TLSA.LookupTLSA(ctx, port, host)
	st := tlspolicy.TLSAState{Looked: true, Secure: res.Authentic}
	switch {
	case errors.Is(err, dns.ErrNotFound):
		return st
	case err != nil:
		st.Err = err
		return st
	}
	for _, r := range recs {
		st.Records = append(st.Records, dane.Record{Usage: r.Usage, Selector: r.Selector, MatchingType: r.MatchingType, Data: r.Data})
	}
	return st
}

// senderDomain is the text after the first '@' of the sender, as s/qmail takes it.
func senderDomain(sender string) string {
	if _, dom, ok := strings.Cut(sender, "@"); ok {
		return dom
	}
	return ""
}
