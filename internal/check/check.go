package check

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/mtasts"
	"github.com/mxout/mxout/internal/route"
)

// defaultTimeout is Options.Timeout when zero: long enough for a slow greeting, short
// enough for an operator waiting at a terminal.
const defaultTimeout = 30 * time.Second

// Resolver is the DNS check needs; *dns.Resolver implements it. Answers must carry the
// DNSSEC status (dns.Result.Authentic) and errors must wrap dns.ErrNotFound or
// dns.ErrTemporary, as route.Lookuper says. It is called from several goroutines at once.
type Resolver interface {
	route.Lookuper
	deliver.TLSALookuper
}

// Options configure Run. Resolver is required; every other zero value is documented.
type Options struct {
	Resolver Resolver
	// Port is the SMTP port of every host; 0 means 25.
	Port uint16
	// HeloHost is the EHLO name; "" means "localhost".
	HeloHost string
	// Timeout bounds each connect and each reply of every session; 0 means 30 seconds.
	Timeout time.Duration
	// Dial opens the TCP connections of the probe and of the engine (tests send them to
	// scripted servers); nil means a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Roots is the CA set the certificate facts (TLS.CATrusted) are judged against; nil means
	// the system roots. It plays no part in the verdict, which follows the TLS policy, except
	// under an MTA-STS enforce policy, whose Web PKI check uses it (deliver.Config.STSRoots).
	Roots *x509.CertPool
	// Now is the clock for Report.CheckedAt and the certificates' dates; nil means time.Now.
	Now func() time.Time
	// MTASTS finds the domain's MTA-STS policy, as the engine does (the same cache when it
	// is an *mtasts.Resolver on the state directory); nil: MTA-STS is not checked and the
	// verdict ignores it, as a delivery with MTA-STS switched off would.
	MTASTS deliver.STSResolver
}

// checker is one run of Run.
type checker struct {
	o      Options
	now    time.Time
	engine *deliver.Engine
	tlsa   *tlsaRecorder
}

// Run checks domain: DNS first, then every address of every host, one at a time, in the
// engine's order. It always returns a Report; what failed is recorded in it. The verdict is
// the engine's: Run builds a deliver.Engine with the same routing as `mxout deliver` (no
// static routes, no tlsdestinations, ClearAfterTLSFailure), without the loop check
// (docs/check.md says why).
func Run(ctx context.Context, domain string, o Options) *Report {
	if o.Port == 0 {
		o.Port = 25
	}
	if o.HeloHost == "" {
		o.HeloHost = "localhost"
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	c := &checker{o: o, now: now().UTC().Truncate(time.Second), tlsa: &tlsaRecorder{r: o.Resolver}}
	c.engine = deliver.New(deliver.Config{
		HeloHost:             o.HeloHost,
		TimeoutConnect:       o.Timeout,
		TimeoutRemote:        o.Timeout,
		Planner:              &route.Planner{Resolver: o.Resolver, Port: o.Port},
		Dial:                 o.Dial,
		TLSA:                 c.tlsa,
		ClearAfterTLSFailure: true,
		MTASTS:               o.MTASTS,
		STSRoots:             o.Roots,
	})
	rep := &Report{Domain: domain, Port: o.Port, CheckedAt: c.now, Hosts: []Host{}}
	rep.MX = c.lookupMX(ctx, domain)
	plan, dest, err := c.engine.Plan(ctx, domain)
	if err != nil {
		rep.MTASTS = c.mtasts(ctx, c.engine.LookupSTS(ctx, domain, ""))
		var re *route.Error
		rep.MX.NullMX = errors.As(err, &re) && re.Kind == route.KindNullMX
		rep.Hosts = append(rep.Hosts, c.unplanned(ctx, rep.MX, nil)...)
		rep.Verdict = planVerdict(err)
		return rep
	}
	sts := c.engine.LookupSTS(ctx, domain, "")
	rep.MTASTS = c.mtasts(ctx, sts)
	for _, hop := range plan.Hops {
		rep.Hosts = append(rep.Hosts, c.host(ctx, dest, hop, sts))
	}
	rep.Hosts = append(rep.Hosts, c.unplanned(ctx, rep.MX, plan)...)
	rep.Verdict = overall(rep.Hosts)
	return rep
}

// lookupMX records the MX answer as the operator should see it; the plan is the engine's.
func (c *checker) lookupMX(ctx context.Context, domain string) MX {
	mx := MX{Records: []MXRecord{}}
	if isLiteral(domain) {
		return mx // an address literal has no MX (RFC 5321 §5.1); the plan goes to it directly
	}
	mxs, res, err := c.o.Resolver.LookupMX(ctx, domain)
	if err != nil {
		mx.Error = err.Error()
		return mx
	}
	mx.DNSSEC = dnssec(res)
	for _, r := range mxs {
		mx.Records = append(mx.Records, MXRecord{Pref: r.Pref, Host: r.Host})
	}
	mx.ImplicitMX = len(mxs) == 0 // RFC 5321 §5.1; NullMX is route's decision, set by Run
	return mx
}

// isLiteral reports whether domain is an address literal, which route plans without DNS.
func isLiteral(domain string) bool {
	if strings.HasPrefix(domain, "[") {
		return true
	}
	_, err := netip.ParseAddr(domain)
	return err == nil
}

func dnssec(res dns.Result) string {
	if res.Authentic {
		return Secure
	}
	return Insecure
}

// host checks one hop of the plan: its policy as the engine settles it, its TLSA records,
// and each address.
func (c *checker) host(ctx context.Context, dest string, hop route.Hop, sts *deliver.STS) Host {
	h := Host{Name: hop.Name, Pref: hop.Pref, Planned: true, DNSSEC: Insecure, Addresses: []Address{}}
	if hop.MXAuthentic && hop.AddrAuthentic {
		h.DNSSEC = Secure
	}
	c.tlsa.take() // forget lookups of earlier hops
	if sts != nil && sts.Policy.Effect(hop.Name).Report {
		m := sts.Policy.Match(hop.Name)
		h.MTASTSMatch = &m
	}
	pol, port, perr := c.engine.HopPolicy(ctx, dest, "", hop, sts)
	looked, used := c.tlsa.take()
	h.Policy = &Policy{Port: port}
	if perr != nil {
		h.Policy.Error = perr.Error()
	} else {
		h.Policy.Name, h.Policy.Require, h.Policy.Rule = pol.Name(), pol.Require.String(), pol.Rule
	}
	if !isLiteral(hop.Name) { // an address literal has no TLSA records to look up
		h.TLSA = c.tlsaFacts(ctx, port, hop, looked, used)
	}
	names := referenceNames(hop.Name, dest)
	for _, addr := range hop.Addrs {
		peer := netip.AddrPortFrom(addr, port)
		a := c.probe(ctx, hop.Name, peer, pol, names)
		if perr != nil {
			a.Verdict = failed(perr)
		} else {
			a.Verdict = c.open(ctx, hop.Name, peer, pol)
		}
		h.Addresses = append(h.Addresses, a)
	}
	return h
}

// referenceNames are the names a DANE-TA chain may be issued to (RFC 7672 §3.2.2): the MX
// host and the destination, as tlspolicy passes them to dane.Verify; never an IP literal.
func referenceNames(host, dest string) []string {
	var names []string
	for _, n := range []string{host, dest} {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n == "" || isLiteral(n) || slices.Contains(names, n) {
			continue
		}
		names = append(names, n)
	}
	return names
}

// unplanned lists the MX hosts the plan left out (or every MX host when there is no plan),
// with the reason found by a lookup of their addresses.
func (c *checker) unplanned(ctx context.Context, mx MX, plan *route.Plan) []Host {
	inPlan := map[string]bool{}
	if plan != nil {
		for _, h := range plan.Hops {
			inPlan[strings.ToLower(h.Name)] = true
		}
	}
	var out []Host
	for _, r := range mx.Records {
		key := strings.ToLower(r.Host)
		if r.Host == "." || r.Host == "" || inPlan[key] {
			continue
		}
		inPlan[key] = true // once per host, at its best preference (records come in any order)
		h := Host{Name: r.Host, Pref: bestPref(mx.Records, key), Addresses: []Address{}}
		addrs, res, err := c.o.Resolver.LookupIP(ctx, r.Host)
		h.DNSSEC = Insecure
		if err == nil && mx.DNSSEC == Secure && res.Authentic {
			h.DNSSEC = Secure
		}
		switch {
		case err != nil:
			h.AddressError = err.Error()
		case len(addrs) == 0:
			h.AddressError = "no addresses (NODATA)"
		default:
			h.AddressError = "not tried: its addresses belong to a host tried before, or it is beyond the first 16 MX hosts"
		}
		out = append(out, h)
	}
	return out
}

func bestPref(recs []MXRecord, key string) int {
	best := -1
	for _, r := range recs {
		if strings.ToLower(r.Host) == key && (best < 0 || int(r.Pref) < best) {
			best = int(r.Pref)
		}
	}
	return best
}

// tlsaAnswer is one TLSA lookup as the engine made it.
type tlsaAnswer struct {
	name string // "_25._tcp.mx1.example.test"
	recs []dns.TLSA
	res  dns.Result
	err  error
}

// tlsaRecorder passes the engine's TLSA lookups through and keeps the last one, so that the
// report shows exactly the answer the policy was decided on: when the engine asks more than
// once for a hop (an alias's expanded name, then its own, RFC 7672 §2.2.2), the last answer
// is the one that decided. Run calls take after each HopPolicy.
type tlsaRecorder struct {
	r    deliver.TLSALookuper
	mu   sync.Mutex
	last *tlsaAnswer
}

func tlsaName(port uint16, host string) string { return fmt.Sprintf("_%d._tcp.%s", port, host) }

// LookupTLSA implements deliver.TLSALookuper.
func (t *tlsaRecorder) LookupTLSA(ctx context.Context, port uint16, host string) ([]dns.TLSA, dns.Result, error) {
	recs, res, err := t.r.LookupTLSA(ctx, port, host)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = &tlsaAnswer{tlsaName(port, host), recs, res, err}
	return recs, res, err
}

// take returns the last lookup since the previous take, if any.
func (t *tlsaRecorder) take() (tlsaAnswer, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.last
	t.last = nil
	if a == nil {
		return tlsaAnswer{}, false
	}
	return *a, true
}

// tlsaFacts reports the TLSA answer the engine decided the policy on (used); when it made
// none, check asks itself, for the operator, and says why the records do not count.
func (c *checker) tlsaFacts(ctx context.Context, port uint16, hop route.Hop, a tlsaAnswer, used bool) *TLSA {
	if !used {
		a.name = tlsaName(port, hop.Name)
		a.recs, a.res, a.err = c.o.Resolver.LookupTLSA(ctx, port, hop.Name)
	}
	t := &TLSA{Name: a.name, Used: used, Records: []TLSARecord{}}
	switch {
	case a.err != nil && !errors.Is(a.err, dns.ErrNotFound) || errors.Is(a.err, dns.ErrTemporary):
		t.Error = a.err.Error()
	default:
		t.DNSSEC = dnssec(a.res)
		for _, r := range a.recs {
			t.Records = append(t.Records, tlsaRecord(r))
		}
	}
	switch {
	case !used && !(hop.MXAuthentic && hop.AddrAuthentic):
		t.Note = "not used: the MX or address answers are not DNSSEC-secure, so DANE does not apply (RFC 7672 §2.2.1)"
	case !used:
		t.Note = "not used: the TLS rules switch TLSA lookups off for this destination"
	case t.Error != "":
		t.Note = "the lookup failed: the host is not tried, since an attacker could cause the failure (RFC 7672 §2.2.1)"
	case t.DNSSEC != Secure && len(t.Records) > 0:
		t.Note = "not used: the TLSA answer is not DNSSEC-secure"
	}
	return t
}

// mtasts reports the MTA-STS state the engine found (nil: not checked), with the TXT record
// as published now when the resolver can look it up.
func (c *checker) mtasts(ctx context.Context, sts *deliver.STS) *MTASTS {
	if sts == nil {
		return nil
	}
	m := &MTASTS{}
	if r, ok := c.o.Resolver.(mtasts.TXTResolver); ok {
		txts, res, err := r.LookupTXT(ctx, "_mta-sts."+sts.Domain)
		if err == nil {
			m.DNSSEC = dnssec(res)
			var rec mtasts.Record
			if rec, err = mtasts.SelectRecord(txts); err == nil {
				m.Record = &STSRecord{Text: selected(txts), ID: rec.ID}
			}
		}
		if err != nil {
			m.RecordError = err.Error()
		}
	}
	if p := sts.Policy; p != nil {
		m.Policy = &STSPolicy{Mode: p.Mode.String(), MX: append([]string{}, p.MX...),
			MaxAge: int64(p.MaxAge / time.Second), Source: sts.Source.String()}
	}
	if sts.Err != nil && !(m.Policy == nil && errors.Is(sts.Err, mtasts.ErrNoRecord)) {
		m.Error = sts.Err.Error() // a domain without MTA-STS is no error; record_error says so
	}
	return m
}

// selected is the one TXT string that is an MTA-STS record (SelectRecord found exactly one).
func selected(txts []string) string {
	for _, t := range txts {
		if _, err := mtasts.SelectRecord([]string{t}); err == nil {
			return t
		}
	}
	return ""
}
