package dns

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"
)

// maxCNAMEs bounds the CNAME links followed in one lookup, in answers and by our own queries
// together; a longer chain is a temporary failure. It also bounds the queries of one lookup
// to maxCNAMEs+1.
const maxCNAMEs = 8

// Result says how far an answer can be trusted.
type Result struct {
	// Authentic is true when every response used for the answer had the AD bit set: the
	// response to the first query and to each query that followed a CNAME. It describes
	// records, a NODATA denial (no records, nil error) or an NXDOMAIN (ErrNotFound) alike;
	// it is false on a temporary failure and when no query was sent.
	Authentic bool
	// Canonical is the end of the CNAME chain when the name looked up was an alias: the fully
	// expanded name, in A-labels without the final dot. It is "" when no CNAME was followed.
	// DANE looks TLSA records up there first when the chain is secure (RFC 7672 §2.2.2).
	Canonical string
}

// MX is one mail exchanger (RFC 1035 §3.3.9).
type MX struct {
	Host string // the exchange without its trailing dot; a null MX (RFC 7505 §3) has Host "."
	Pref uint16 // the preference; lower is preferred
}

// TLSA is one TLSA record (RFC 6698 §2.1).
type TLSA struct {
	Usage        uint8
	Selector     uint8
	MatchingType uint8
	Data         []byte // the certificate association data, decoded from the record
}

var (
	errLoop      = errors.New("cname loop")
	errLongChain = errors.New("cname chain too long")
)

// LookupMX returns the MX records of name in the order the server gave them. NODATA is an
// empty slice with a nil error. Errors are *Error wrapping ErrNotFound or ErrTemporary.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]MX, Result, error) {
	rrs, res, err := r.resolve(ctx, name, mdns.TypeMX)
	if err != nil {
		return nil, res, err
	}
	return mxRecords(rrs), res, nil
}

func mxRecords(rrs []mdns.RR) []MX {
	mxs := make([]MX, 0, len(rrs))
	for _, rr := range rrs {
		mx, ok := rr.(*mdns.MX)
		if !ok {
			continue
		}
		host := mx.Mx
		if host != "." {
			host = strings.TrimSuffix(host, ".")
		}
		mxs = append(mxs, MX{Host: host, Pref: mx.Preference})
	}
	return mxs
}

// LookupTLSA returns the TLSA records of _port._tcp.host (RFC 6698 §3, RFC 7672 §2.2.3).
// NODATA is an empty slice with a nil error; an NXDOMAIN is ErrNotFound with Result saying
// whether that denial was authenticated, which DANE needs to tell "no TLSA" from "unknown".
//
// host is converted to A-labels before the owner name is built: IDNA refuses the '_' of
// "_25._tcp", so converting the whole owner would fail. A host from which no owner name can be
// made (not convertible, an empty label, too long) is a temporary failure without a query,
// never ErrNotFound: a caller must not read it as "no TLSA records", since the name it meant may
// well publish them (RFC 7672 §2.2: a TLSA lookup that fails makes the host unusable).
func (r *Resolver) LookupTLSA(ctx context.Context, port uint16, host string) ([]TLSA, Result, error) {
	owner := fmt.Sprintf("_%d._tcp.%s", port, host)
	qhost, err := queryName(host) // or "" would become "_25._tcp."
	if err == nil {
		owner = fmt.Sprintf("_%d._tcp.%s", port, strings.TrimSuffix(qhost, "."))
		_, err = queryName(owner)
	}
	if err != nil {
		return nil, Result{}, &Error{Name: owner, Type: "TLSA", Err: temporary(errBadName)}
	}
	rrs, res, err := r.resolve(ctx, owner, mdns.TypeTLSA)
	if err != nil {
		return nil, res, err
	}
	return tlsaRecords(rrs), res, nil
}

func tlsaRecords(rrs []mdns.RR) []TLSA {
	out := make([]TLSA, 0, len(rrs))
	for _, rr := range rrs {
		t, ok := rr.(*mdns.TLSA)
		if !ok {
			continue
		}
		data, err := hex.DecodeString(t.Certificate)
		if err != nil {
			continue // cannot happen for a record unpacked from the wire; never guess
		}
		out = append(out, TLSA{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data})
	}
	return out
}

// LookupIP queries AAAA and A concurrently and returns the IPv6 addresses first, then the
// IPv4 ones, each in the server's order. Result.Authentic is the AND over the answers whose
// addresses or denial are returned.
//
// When one family fails temporarily and the other has addresses, those addresses are returned
// with a nil error: a mail host is reachable over the family that answered. The price: its
// addresses of the failed family are not tried on this run. With no address at all, a
// temporary failure wins over NXDOMAIN (a permanent verdict needs agreeing evidence), and
// NXDOMAIN wins over NODATA.
func (r *Resolver) LookupIP(ctx context.Context, name string) ([]netip.Addr, Result, error) {
	type half struct {
		rrs []mdns.RR
		res Result
		err error
	}
	v6 := make(chan half, 1)
	go func() {
		rrs, res, err := r.resolve(ctx, name, mdns.TypeAAAA)
		v6 <- half{rrs, res, err}
	}()
	rrs4, res4, err4 := r.resolve(ctx, name, mdns.TypeA)
	h6 := <-v6
	halves := []half{h6, {rrs4, res4, err4}}

	var addrs []netip.Addr
	res := Result{Authentic: true}
	var temp, notFound error
	canonical := map[string]bool{}
	for _, h := range halves {
		switch {
		case errors.Is(h.err, ErrTemporary):
			temp = h.err
			continue
		case h.err != nil:
			notFound = h.err
		}
		res.Authentic = res.Authentic && h.res.Authentic
		addrs = appendAddrs(addrs, h.rrs)
		canonical[strings.ToLower(h.res.Canonical)] = true
		res.Canonical = h.res.Canonical
	}
	if len(canonical) > 1 {
		res.Canonical = "" // the two families disagree on where the alias leads: use neither
	}
	switch {
	case len(addrs) > 0:
		return addrs, res, nil
	case temp != nil:
		return nil, Result{}, temp
	case notFound != nil:
		return nil, res, notFound
	}
	return []netip.Addr{}, res, nil
}

func appendAddrs(addrs []netip.Addr, rrs []mdns.RR) []netip.Addr {
	for _, rr := range rrs {
		var a netip.Addr
		var ok bool
		switch rr := rr.(type) {
		case *mdns.A:
			a, ok = netip.AddrFromSlice(rr.A.To4())
		case *mdns.AAAA:
			a, ok = netip.AddrFromSlice(rr.AAAA.To16())
		}
		if ok {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// resolve looks up records of qtype at name and follows CNAMEs (RFC 1034 §3.6.2): it takes the
// records of qtype owned by the end of the chain in the answer, and when the chain ends
// without them, it asks for the chain's end itself. The price of always asking again: a
// resolver that did follow the chain to a NODATA costs one more query.
//
// On error, Result.Authentic describes an NXDOMAIN from a server, and is false otherwise.
func (r *Resolver) resolve(ctx context.Context, name string, qtype uint16) ([]mdns.RR, Result, error) {
	typ := mdns.TypeToString[qtype]
	qname, err := queryName(name)
	if err != nil {
		return nil, Result{}, &Error{Name: name, Type: typ, Err: err}
	}
	res := Result{Authentic: true}
	seen := map[string]bool{}
	links := 0
	for {
		resp, err := r.exchange(ctx, qname, qtype)
		if err != nil {
			return nil, Result{}, &Error{Name: name, Type: typ, Err: err}
		}
		res.Authentic = res.Authentic && resp.AuthenticatedData
		end, rrs, n, err := readAnswer(resp, qname, qtype, seen)
		links += n
		if err == nil && links > maxCNAMEs {
			err = errLongChain
		}
		if links > 0 {
			res.Canonical = strings.ToLower(strings.TrimSuffix(end, "."))
		}
		switch {
		case err != nil:
			return nil, Result{}, &Error{Name: name, Type: typ, Err: temporary(err)}
		case len(rrs) > 0:
			return rrs, res, nil
		case resp.Rcode == mdns.RcodeNameError: // names the end of the chain (RFC 6604 §2.1)
			return nil, res, &Error{Name: name, Type: typ, Err: fmt.Errorf("%w: NXDOMAIN", ErrNotFound)}
		case n == 0:
			return []mdns.RR{}, res, nil // NODATA (RFC 2308 §2.2)
		}
		qname = end
	}
}

// readAnswer walks the CNAME chain that starts at qname through the answer section and
// returns its end, the records of qtype owned by that end, and the number of links walked.
// seen holds the names already on the chain (lower case) across the queries of one lookup; a
// name met twice is a loop.
func readAnswer(resp *mdns.Msg, qname string, qtype uint16, seen map[string]bool) (string, []mdns.RR, int, error) {
	seen[strings.ToLower(qname)] = true
	end, links := qname, 0
	for next := cnameTarget(resp.Answer, end); next != ""; next = cnameTarget(resp.Answer, end) {
		key := strings.ToLower(next)
		if seen[key] {
			return "", nil, links, errLoop
		}
		seen[key] = true
		end = next
		links++
	}
	var rrs []mdns.RR
	for _, rr := range resp.Answer {
		h := rr.Header()
		if h.Rrtype == qtype && h.Class == mdns.ClassINET && strings.EqualFold(h.Name, end) {
			rrs = append(rrs, rr)
		}
	}
	return end, rrs, links, nil
}

// cnameTarget returns the target of the first CNAME owned by owner in rrs, or "".
func cnameTarget(rrs []mdns.RR, owner string) string {
	for _, rr := range rrs {
		if c, ok := rr.(*mdns.CNAME); ok && c.Hdr.Class == mdns.ClassINET && strings.EqualFold(c.Hdr.Name, owner) {
			return c.Target
		}
	}
	return ""
}
