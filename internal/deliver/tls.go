package deliver

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/mxout/mxout/internal/dane"
	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// TLSALookuper looks up TLSA records; *dns.Resolver implements it.
type TLSALookuper interface {
	LookupTLSA(ctx context.Context, port uint16, host string) ([]dns.TLSA, dns.Result, error)
}

// ErrTLSNotOffered: TLS is required for the hop but the server did not offer STARTTLS (or
// refused it). Nothing but EHLO, STARTTLS and QUIT was sent in clear.
var ErrTLSNotOffered = errors.New("deliver: tls required but not available")

// errRetryPlain asks Deliver to try the same address again without TLS ("?" rule only).
var errRetryPlain = errors.New("deliver: tls failed, plaintext allowed")

// policy settles what TLS the hop requires before anything is sent: the tlsdestinations rule,
// and DANE when the hop was reached through DNSSEC-secure answers (RFC 7672 §2.2).
func (d *Deliverer) policy(ctx context.Context, job *Job, dest string, hop route.Hop) (*tlspolicy.Policy, error) {
	in := tlspolicy.Input{Destination: dest, ServerName: hop.Name, SenderDomain: senderDomain(job.Sender)}
	if d.TLSA != nil && hop.MXAuthentic && hop.AddrAuthentic &&
		tlspolicy.NeedTLSA(d.TLSDestinations, dest, in.SenderDomain) {
		in.TLSA = d.lookupTLSA(ctx, hop)
	}
	return tlspolicy.Decide(d.TLSDestinations, d.DomainCerts, in)
}

// lookupTLSA asks for _port._tcp.host. Only an authenticated answer counts; a failed lookup
// (bogus or SERVFAIL) makes the hop unusable, since an attacker could cause it (RFC 7672 §2.2.1).
//
// When the host is an alias (hop.Canonical), the records are looked up at the expanded name
// first, and at the host's own name only when the expanded name securely has none (RFC 7672
// §2.2.2, RFC 7671 §7). The caller asks only for hops whose address answers were all
// authenticated, so every CNAME on the way was secure; a failure at the expanded name fails the
// hop as any other.
func (d *Deliverer) lookupTLSA(ctx context.Context, hop route.Hop) tlspolicy.TLSAState {
	if hop.Canonical != "" && !strings.EqualFold(hop.Canonical, hop.Name) {
		st := d.tlsaAt(ctx, hop.Port, hop.Canonical)
		if st.Err != nil || st.Secure && len(st.Records) > 0 {
			st.Name = hop.Canonical
			return st
		}
	}
	return d.tlsaAt(ctx, hop.Port, hop.Name)
}

// tlsaAt looks up the TLSA records of _port._tcp.host.
func (d *Deliverer) tlsaAt(ctx context.Context, port uint16, host string) tlspolicy.TLSAState {
	recs, res, err := d.TLSA.LookupTLSA(ctx, port, host)
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

// open dials peer and brings the session to the point where a transaction can start: implicit
// TLS or STARTTLS as the policy requires, greeting, EHLO/HELO. Any failure lets the caller move
// on to the next address; a session that is still in step gets its QUIT. When TLS is mandatory
// nothing after EHLO is ever sent in clear.
func (d *Deliverer) open(ctx context.Context, peer netip.AddrPort, pol *tlspolicy.Policy) (*smtp.Client, *tlspolicy.Facts, error) {
	conn, err := d.dial(ctx, peer)
	if err != nil {
		return nil, nil, &ConnectError{Peer: peer, Last: err}
	}
	c := smtp.NewClient(conn, smtp.Options{Peer: peer, Timeout: d.TimeoutRemote, Transcript: d.Transcript})
	facts, err := d.session(ctx, c, pol)
	if err != nil {
		c.Quit(ctx)
		c.Close()
		return nil, nil, err
	}
	return c, facts, nil
}

// session runs the steps of open on a connected client.
func (d *Deliverer) session(ctx context.Context, c *smtp.Client, pol *tlspolicy.Policy) (*tlspolicy.Facts, error) {
	var facts *tlspolicy.Facts
	if pol.Implicit {
		cfg, f := pol.Config()
		if _, err := c.Handshake(ctx, cfg); err != nil {
			return nil, err
		}
		facts = f
	}
	if _, err := c.Greeting(ctx); err != nil {
		return nil, err
	}
	if err := c.Hello(ctx, d.HeloHost); err != nil {
		return nil, err
	}
	if pol.Implicit || pol.Mode == tlspolicy.Never {
		return facts, nil
	}
	if !c.Extensions().Has("STARTTLS") {
		if pol.Mode == tlspolicy.Mandatory {
			return nil, &smtp.Error{Phase: smtp.PhaseStartTLS, Peer: c.Peer(), Err: ErrTLSNotOffered}
		}
		return nil, nil // opportunistic: in clear, as documented
	}
	cfg, f := pol.Config()
	_, err := c.StartTLS(ctx, cfg)
	var se *smtp.Error
	switch {
	case err == nil:
	case errors.As(err, &se) && se.Reply != nil && pol.Mode != tlspolicy.Mandatory:
		return nil, nil // STARTTLS refused; the session is in step and TLS was only wished for
	case errors.Is(err, smtp.ErrTLS) && pol.Fallback && pol.Mode != tlspolicy.Mandatory:
		return nil, errRetryPlain
	default:
		return nil, err
	}
	if err := c.Hello(ctx, d.HeloHost); err != nil {
		return nil, err
	}
	return f, nil
}
