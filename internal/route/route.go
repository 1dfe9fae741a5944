package route

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/mxout/mxout/internal/dns"
)

// maxHosts bounds the MX hosts of one plan, so that one domain cannot make us try hundreds of
// hosts. The best ones by preference are kept, after the loop check. qmail has no bound; 16 is
// well above what real domains publish.
const maxHosts = 16

// maxLookups bounds the MX hosts whose addresses are looked up. It is more than maxHosts because
// the loop check must see every host of the preference at which the cut falls: with 20 equal MX
// of which one is this machine, cutting to 16 first would drop this machine from the plan in a
// fifth of the runs and deliver to a peer instead of failing (#5.4.6). A preference shared by
// more hosts than this is cut, and the loop check cannot see the rest.
const maxLookups = 64

// maxAddrsPerHost bounds the addresses tried for one host (Postfix's smtp_mx_address_limit is 5
// in all): an answer of 64 KiB holds some 4,000 A records, and each costs a connection attempt
// of up to timeoutconnect. IPv6 still comes first, but a host with both families keeps at least
// one IPv4 address.
const maxAddrsPerHost = 5

// Lookuper is the DNS a Planner needs. *dns.Resolver implements it. Errors must wrap
// dns.ErrNotFound for a name that does not exist; any other error counts as temporary.
// Domain calls LookupIP from several goroutines at once.
type Lookuper interface {
	LookupMX(ctx context.Context, name string) ([]dns.MX, dns.Result, error)
	LookupIP(ctx context.Context, name string) ([]netip.Addr, dns.Result, error)
}

// Hop is one next hop: a host and the addresses to try for it, in order.
type Hop struct {
	Name          string       // MX host, relay name, or the literal as written
	Pref          int          // MX preference; 0 for relays, literals and the implicit MX
	Addrs         []netip.Addr // in the order to try: IPv6, then IPv4; never empty
	Port          uint16       // TCP port
	Canonical     string       // the CNAME-expanded name when Name is an alias (see dns.Result), else ""
	MXAuthentic   bool         // the MX answer (or the NODATA that made the implicit MX) was DNSSEC-authenticated; false for relays and literals
	AddrAuthentic bool         // the address answer was authenticated; false for literals
}

// Plan is the ordered list of hops for one destination; Hops is never empty.
type Plan struct {
	Domain string // the destination as given: the domain or literal for Domain, the relay for Relay
	Hops   []Hop
}

// Planner makes plans. Its fields are read, never changed, so one Planner may serve
// concurrent calls if Resolver and IsLocal are safe for concurrent use.
type Planner struct {
	Resolver Lookuper              // nil fails every plan that needs DNS (KindTemporary)
	Port     uint16                // port for hops that come from DNS or a domain literal; 0 means 25
	IsLocal  func(netip.Addr) bool // "this machine" test for the loop check; nil means never local
	// NoMX skips the MX lookup: the domain's own addresses are the only hop (mxout's -x).
	NoMX bool
	// Interleave alternates IPv6 and IPv4 addresses within a hop (mxout's default, so that a
	// broken IPv6 path costs one attempt, not five); false keeps IPv6 first, as qmail-remote
	// and mxout's -6 do.
	Interleave bool
	// IgnoreMXLookupError: when the MX query fails for now (SERVFAIL, timeout; not NXDOMAIN),
	// plan as if the domain had no MX records and deliver to its own addresses (Postfix's
	// ignore_mx_lookup_error, mxout's --ignore-mx-lookup-error). Off by default: the MX records
	// may name other hosts, and waiting for the name server is the safe choice.
	IgnoreMXLookupError bool
}

var errNoResolver = errors.New("route: no resolver configured")

func (p *Planner) port() uint16 {
	if p.Port == 0 {
		return 25
	}
	return p.Port
}

// Domain plans delivery to domain by MX (RFC 5321 §5.1), or directly to an address literal
// ("[192.0.2.1]", "[IPv6:2001:db8::1]", "[2001:db8::1]" or a bare dotted quad "192.0.2.1")
// without DNS. Hops come sorted by preference, in random order among equal preferences, at
// most 16 of them, each with at most 5 addresses. Errors are *Error.
func (p *Planner) Domain(ctx context.Context, domain string) (*Plan, error) {
	plan, err := p.domain(ctx, domain)
	return p.finish(plan), err
}

func (p *Planner) domain(ctx context.Context, domain string) (*Plan, error) {
	if a, ok := parseLiteral(domain); ok {
		hop := Hop{Name: domain, Addrs: []netip.Addr{a}, Port: p.port()}
		return p.checkLoop(domain, []Hop{hop}, noTemp)
	}
	if p.Resolver == nil {
		return nil, &Error{Kind: KindTemporary, Name: domain, Err: errNoResolver}
	}
	if p.NoMX {
		return p.implicitMX(ctx, domain, false)
	}
	mxs, res, err := p.Resolver.LookupMX(ctx, domain)
	if err != nil && p.IgnoreMXLookupError && !notFound(err) && ctx.Err() == nil {
		return p.implicitMX(ctx, domain, false)
	}
	if err != nil {
		return nil, lookupError(domain, err)
	}
	if len(mxs) == 0 {
		return p.implicitMX(ctx, domain, res.Authentic)
	}
	hosts, err := mxHosts(domain, mxs)
	if err != nil {
		return nil, err
	}
	hops, temp, err := p.resolveHosts(ctx, domain, hosts, res.Authentic)
	if err != nil {
		return nil, err
	}
	return p.checkLoop(domain, hops, temp)
}

// Relay plans delivery to a static relay from smtproutes: addr when it is valid, else relay
// itself when it is an address literal, else the addresses of relay (A and AAAA, no MX).
// There is no loop check: a route to this machine is the administrator's choice, as in qmail.
// port is used as given, even 0 (qmail then fails to connect, temporarily).
func (p *Planner) Relay(ctx context.Context, relay string, addr netip.Addr, port uint16) (*Plan, error) {
	plan, err := p.relay(ctx, relay, addr, port)
	return p.finish(plan), err
}

func (p *Planner) relay(ctx context.Context, relay string, addr netip.Addr, port uint16) (*Plan, error) {
	hop := Hop{Name: relay, Port: port}
	if !addr.IsValid() {
		addr, _ = parseLiteral(relay)
	}
	if addr.IsValid() {
		hop.Addrs = []netip.Addr{addr.Unmap()}
		return &Plan{Domain: relay, Hops: []Hop{hop}}, nil
	}
	if p.Resolver == nil {
		return nil, &Error{Kind: KindTemporary, Name: relay, Err: errNoResolver}
	}
	addrs, res, err := p.Resolver.LookupIP(ctx, relay)
	if err != nil {
		return nil, lookupError(relay, err)
	}
	if hop.Addrs = capAddrs(orderAddrs(addrs)); len(hop.Addrs) == 0 {
		return nil, &Error{Kind: KindNoAddress, Name: relay}
	}
	hop.AddrAuthentic, hop.Canonical = res.Authentic, res.Canonical
	return &Plan{Domain: relay, Hops: []Hop{hop}}, nil
}

// implicitMX plans delivery to the domain itself when it has no MX records (RFC 5321 §5.1).
func (p *Planner) implicitMX(ctx context.Context, domain string, mxAuthentic bool) (*Plan, error) {
	addrs, res, err := p.Resolver.LookupIP(ctx, domain)
	if err != nil {
		return nil, lookupError(domain, err)
	}
	hop := Hop{Name: domain, Addrs: orderAddrs(addrs), Port: p.port(), Canonical: res.Canonical,
		MXAuthentic: mxAuthentic, AddrAuthentic: res.Authentic}
	if len(hop.Addrs) == 0 {
		return nil, &Error{Kind: KindNoAddress, Name: domain}
	}
	return p.checkLoop(domain, []Hop{hop}, noTemp)
}

// lookupError classifies a failed lookup of name: NXDOMAIN is KindNoHost, anything else
// (dns.ErrTemporary, a cancelled context, an unknown error) is KindTemporary.
func lookupError(name string, err error) error {
	if notFound(err) {
		return &Error{Kind: KindNoHost, Name: name, Err: err}
	}
	return &Error{Kind: KindTemporary, Name: name, Err: err}
}

func notFound(err error) bool {
	return errors.Is(err, dns.ErrNotFound) && !errors.Is(err, dns.ErrTemporary)
}

type mxHost struct {
	name string
	pref int
}

// mxHosts turns MX records into the hosts to resolve: sorted by preference, shuffled among
// equal preferences (RFC 5321 §5.1), each host once (at its best preference): the best maxHosts,
// and the rest of the preference the maxHosts-th host has, up to maxLookups in all. A domain
// whose only targets are "." has a null MX (RFC 7505 §3).
func mxHosts(domain string, mxs []dns.MX) ([]mxHost, error) {
	hosts := make([]mxHost, 0, len(mxs))
	for _, mx := range mxs {
		// A "." target mixed with real ones breaks RFC 7505 §3 ("MUST NOT" publish others);
		// the real ones are used and "." is ignored, since "." can never be connected to.
		if mx.Host == "." || mx.Host == "" {
			continue
		}
		hosts = append(hosts, mxHost{name: mx.Host, pref: int(mx.Pref)})
	}
	if len(hosts) == 0 {
		return nil, &Error{Kind: KindNullMX, Name: domain}
	}
	rand.Shuffle(len(hosts), func(i, j int) { hosts[i], hosts[j] = hosts[j], hosts[i] })
	slices.SortStableFunc(hosts, func(a, b mxHost) int { return cmp.Compare(a.pref, b.pref) })
	seen := make(map[string]bool, len(hosts))
	hosts = slices.DeleteFunc(hosts, func(h mxHost) bool {
		key := strings.ToLower(strings.TrimSuffix(h.name, "."))
		dup := seen[key]
		seen[key] = true
		return dup
	})
	n := min(len(hosts), maxHosts)
	for n > 0 && n < len(hosts) && n < maxLookups && hosts[n].pref == hosts[n-1].pref {
		n++
	}
	return hosts[:n], nil
}

// tempFailure remembers the best (lowest) preference among MX hosts whose lookup failed
// temporarily, and the last such error.
type tempFailure struct {
	pref int
	err  error
}

var noTemp = tempFailure{pref: -1}

// resolveHosts looks up the addresses of every host at once and returns the hops that have
// addresses, in the order of hosts.
//
// A host whose lookup fails (temporarily, or NXDOMAIN) is skipped; the plan fails only when no
// host has an address: KindTemporary if some lookup failed temporarily, else KindNoAddress.
// This departs from qmail-remote, which fails the whole delivery temporarily as soon as one MX
// host's lookup does. The price: mail may go to a backup MX while the primary's DNS is
// briefly broken, which RFC 5321 §5.1 allows.
func (p *Planner) resolveHosts(ctx context.Context, domain string, hosts []mxHost, mxAuthentic bool) ([]Hop, tempFailure, error) {
	type answer struct {
		addrs []netip.Addr
		res   dns.Result
		err   error
	}
	answers := make([]answer, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() {
			a := &answers[i]
			a.addrs, a.res, a.err = p.Resolver.LookupIP(ctx, h.name)
		})
	}
	wg.Wait()

	var hops []Hop
	temp := noTemp
	for i, h := range hosts {
		a := answers[i]
		if a.err != nil {
			if !notFound(a.err) && (temp.err == nil || h.pref < temp.pref) {
				temp = tempFailure{pref: h.pref, err: a.err}
			}
			continue
		}
		if addrs := orderAddrs(a.addrs); len(addrs) > 0 {
			hops = append(hops, Hop{Name: h.name, Pref: h.pref, Addrs: addrs, Port: p.port(), Canonical: a.res.Canonical,
				MXAuthentic: mxAuthentic, AddrAuthentic: a.res.Authentic})
		}
	}
	switch {
	case len(hops) > 0:
		return hops, temp, nil
	case temp.err != nil:
		return nil, temp, &Error{Kind: KindTemporary, Name: domain, Err: temp.err}
	}
	return nil, temp, &Error{Kind: KindNoAddress, Name: domain}
}

// checkLoop applies qmail's "best MX is me" rule (RFC 5321 §5.1): prefme is the lowest
// preference of a hop with an address of this machine, and every hop at or after prefme is
// dropped. Nothing left is KindLoop, unless a host better than prefme failed to resolve for
// now (temp), which makes it KindTemporary: that host may be the one to deliver to. Only then
// are the hops cut to maxHosts (the check must see them all), an address listed under several
// hops kept only under the first, and each hop's addresses cut to maxAddrsPerHost (the check
// must see those too).
func (p *Planner) checkLoop(domain string, hops []Hop, temp tempFailure) (*Plan, error) {
	prefme := -1
	for _, h := range hops {
		if p.IsLocal != nil && slices.ContainsFunc(h.Addrs, p.IsLocal) && (prefme < 0 || h.Pref < prefme) {
			prefme = h.Pref
		}
	}
	if prefme >= 0 {
		hops = slices.DeleteFunc(hops, func(h Hop) bool { return h.Pref >= prefme })
	}
	if len(hops) == 0 {
		if temp.err != nil && temp.pref < prefme {
			return nil, &Error{Kind: KindTemporary, Name: domain, Err: temp.err}
		}
		return nil, &Error{Kind: KindLoop, Name: domain}
	}
	hops = dedupeAcross(hops[:min(len(hops), maxHosts)])
	for i := range hops {
		hops[i].Addrs = capAddrs(hops[i].Addrs)
	}
	return &Plan{Domain: domain, Hops: hops}, nil
}

// orderAddrs returns addrs without invalid entries and duplicates, IPv4-mapped IPv6 addresses
// as IPv4, IPv6 before IPv4, and otherwise in the order given.
func orderAddrs(addrs []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(addrs))
	seen := make(map[netip.Addr]bool, len(addrs)) // thousands of records must not cost millions of compares
	for _, a := range addrs {
		if a = a.Unmap(); a.IsValid() && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b netip.Addr) int { return cmp.Compare(family(a), family(b)) })
	return out
}

// finish applies the address order the Planner asks for to every hop of plan (nil-safe).
func (p *Planner) finish(plan *Plan) *Plan {
	if plan == nil || !p.Interleave {
		return plan
	}
	for i := range plan.Hops {
		plan.Hops[i].Addrs = interleave(plan.Hops[i].Addrs)
	}
	return plan
}

// interleave alternates the families of addrs (ordered IPv6 first), starting with IPv6.
func interleave(addrs []netip.Addr) []netip.Addr {
	n6 := slices.IndexFunc(addrs, netip.Addr.Is4)
	if n6 <= 0 || n6 == len(addrs) {
		return addrs
	}
	v6, v4 := addrs[:n6], addrs[n6:]
	out := make([]netip.Addr, 0, len(addrs))
	for i := 0; i < len(v6) || i < len(v4); i++ {
		if i < len(v6) {
			out = append(out, v6[i])
		}
		if i < len(v4) {
			out = append(out, v4[i])
		}
	}
	return out
}

// capAddrs keeps at most maxAddrsPerHost of addrs (ordered by orderAddrs): the first IPv6
// addresses, then the first IPv4 ones, with room for at least one IPv4 address when there is one.
func capAddrs(addrs []netip.Addr) []netip.Addr {
	if len(addrs) <= maxAddrsPerHost {
		return addrs
	}
	n6 := slices.IndexFunc(addrs, netip.Addr.Is4)
	if n6 < 0 {
		n6 = len(addrs)
	}
	keep6 := min(n6, maxAddrsPerHost)
	if keep6 == maxAddrsPerHost && n6 < len(addrs) {
		keep6--
	}
	keep4 := min(len(addrs)-n6, maxAddrsPerHost-keep6)
	return append(slices.Clip(addrs[:keep6]), addrs[n6:n6+keep4]...)
}

// family sorts IPv6 (0) before IPv4 (1).
func family(a netip.Addr) int {
	if a.Is4() {
		return 1
	}
	return 0
}

// dedupeAcross removes from each hop the addresses of earlier hops, and hops left empty.
func dedupeAcross(hops []Hop) []Hop {
	seen := map[netip.Addr]bool{}
	out := hops[:0]
	for _, h := range hops {
		h.Addrs = slices.DeleteFunc(slices.Clone(h.Addrs), func(a netip.Addr) bool { return seen[a] })
		for _, a := range h.Addrs {
			seen[a] = true
		}
		if len(h.Addrs) > 0 {
			out = append(out, h)
		}
	}
	return out
}
