package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

const (
	// defaultTimeout and defaultAttempts are resolv.conf(5)'s defaults.
	defaultTimeout  = 5 * time.Second
	defaultAttempts = 2
	// ednsSize is the UDP payload size advertised in every query (RFC 6891 §6.2.5; the 1232
	// of DNS Flag Day 2020, which avoids IP fragmentation on common paths).
	ednsSize = 1232
	// resolvConf is read by FromList when the list is empty.
	resolvConf = "/etc/resolv.conf"
)

// Resolver sends queries to Servers in order: a server that fails (no answer within Timeout,
// a network error, SERVFAIL, REFUSED or another error code, a malformed response) is followed
// by the next one, and the whole list is tried Attempts times. NXDOMAIN and NOERROR answers
// end the search. A Resolver is safe for concurrent use as long as its fields are not changed.
//
// Each server is trusted to validate DNSSEC and set the AD bit honestly; use a resolver on
// this machine or on a path that nobody can tamper with (RFC 6698 §1.3).
type Resolver struct {
	Servers  []string      // "host:port" with an IP address as host, e.g. "127.0.0.1:53", "[::1]:53"
	Timeout  time.Duration // per query attempt (UDP plus a TCP retry); 0 means 5 seconds
	Attempts int           // passes over Servers; 0 or less means 2
}

// FromList builds a Resolver from list, a comma-separated list of "host:port" where host is an
// IP address ("[v6]:port" for IPv6; a bare address gets port 53), as $MXOUT_DNS holds it, or,
// when list is empty, from /etc/resolv.conf: its nameserver lines, port, "options timeout:" and
// "options attempts:". A resolv.conf without nameserver lines means 127.0.0.1, as in
// resolv.conf(5). It reads only that file, never the process environment: callers pass what
// their own environment says, so tests can inject it. No query is sent.
func FromList(list string) (*Resolver, error) {
	return fromEnv(list, resolvConf)
}

func fromEnv(list, path string) (*Resolver, error) {
	if list != "" {
		servers, err := parseServers(list)
		if err != nil {
			return nil, err
		}
		return &Resolver{Servers: servers}, nil
	}
	cc, err := mdns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("dns: reading resolver configuration: %w", err)
	}
	var servers []string
	for _, s := range cc.Servers {
		// A nameserver that is not an IP address would itself need DNS; glibc skips it too.
		if a, err := netip.ParseAddr(s); err == nil {
			servers = append(servers, net.JoinHostPort(a.String(), cc.Port))
		}
	}
	if len(servers) == 0 {
		servers = []string{net.JoinHostPort("127.0.0.1", cc.Port)}
	}
	return &Resolver{
		Servers:  servers,
		Timeout:  time.Duration(cc.Timeout) * time.Second,
		Attempts: cc.Attempts,
	}, nil
}

// parseServers reads the $MXOUT_DNS list. Empty items (",,", a trailing comma) are skipped;
// names are refused, because finding a DNS server by name would need DNS.
func parseServers(list string) ([]string, error) {
	var servers []string
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		s, err := parseServer(item)
		if err != nil {
			return nil, err
		}
		servers = append(servers, s)
	}
	if len(servers) == 0 {
		return nil, errors.New("dns: MXOUT_DNS lists no server")
	}
	return servers, nil
}

// parseServer reads one item: an IP address ("::1" is IPv6, never "::" with port 1), "[v6]",
// or "address:port" with IPv6 in brackets.
func parseServer(item string) (string, error) {
	host, port := item, "53"
	if _, err := netip.ParseAddr(item); err != nil || strings.ContainsAny(item, "[]") {
		if inner, ok := strings.CutPrefix(item, "["); ok && strings.HasSuffix(inner, "]") {
			host = strings.TrimSuffix(inner, "]")
		} else if host, port, err = net.SplitHostPort(item); err != nil {
			return "", fmt.Errorf("dns: MXOUT_DNS: bad server %q", item)
		}
	}
	a, err := netip.ParseAddr(host)
	if err != nil || strings.ContainsAny(a.Zone(), "[]") {
		return "", fmt.Errorf("dns: MXOUT_DNS: server %q is not an IP address", item)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return "", fmt.Errorf("dns: MXOUT_DNS: bad port in %q", item)
	}
	return net.JoinHostPort(a.String(), strconv.FormatUint(p, 10)), nil
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout <= 0 {
		return defaultTimeout
	}
	return r.Timeout
}

func (r *Resolver) attempts() int {
	if r.Attempts <= 0 {
		return defaultAttempts
	}
	return r.Attempts
}

// The causes below are never returned alone: they always follow ErrTemporary or ErrNotFound,
// whose text carries the package prefix.
var errNoServers = errors.New("no servers configured")

// exchange asks name/qtype and returns the first response whose RCODE is NOERROR or NXDOMAIN.
// Every failure is returned wrapping ErrTemporary, with the last server's cause. A cancelled or
// expired ctx stops the search before the next attempt; a deadline also shortens the attempt
// in progress.
func (r *Resolver) exchange(ctx context.Context, name string, qtype uint16) (*mdns.Msg, error) {
	last := errNoServers
	for range r.attempts() {
		for _, server := range r.Servers {
			if err := ctx.Err(); err != nil {
				return nil, temporary(err)
			}
			resp, err := r.exchangeOne(ctx, server, name, qtype)
			if err == nil {
				return resp, nil
			}
			last = err
		}
	}
	return nil, temporary(last)
}

// exchangeOne is one attempt at one server: UDP, then TCP if the UDP answer was truncated
// (RFC 7766 §5), both within one Timeout.
func (r *Resolver) exchangeOne(ctx context.Context, server, name string, qtype uint16) (*mdns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	q := newQuery(name, qtype)
	c := mdns.Client{Net: "udp", UDPSize: ednsSize, Timeout: r.timeout()}
	resp, _, err := c.ExchangeContext(ctx, q, server)
	if err == nil && resp.Truncated {
		c.Net = "tcp"
		resp, _, err = c.ExchangeContext(ctx, q, server)
	}
	if err == nil {
		err = checkResponse(q, resp)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", server, err)
	}
	return resp, nil
}

// newQuery builds a recursive query with EDNS0, the DO bit (RFC 3225 §3) and the AD bit
// (RFC 6840 §5.7: asks the resolver to say whether the answer was validated).
func newQuery(name string, qtype uint16) *mdns.Msg {
	q := new(mdns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = true
	q.AuthenticatedData = true
	q.SetEdns0(ednsSize, true)
	return q
}

// checkResponse refuses a response that does not answer q, or whose RCODE is neither NOERROR
// nor NXDOMAIN. All its errors are causes of a temporary failure (no package prefix).
func checkResponse(q, resp *mdns.Msg) error {
	switch {
	case resp.Id != q.Id:
		return errors.New("response id mismatch")
	case !resp.Response || resp.Opcode != mdns.OpcodeQuery:
		return errors.New("malformed response")
	case len(resp.Question) != 1 || !sameQuestion(q.Question[0], resp.Question[0]):
		return errors.New("response to another question")
	case resp.Truncated:
		return errors.New("truncated response over tcp")
	}
	switch resp.Rcode {
	case mdns.RcodeSuccess, mdns.RcodeNameError:
		return nil
	}
	rc, ok := mdns.RcodeToString[resp.Rcode]
	if !ok {
		rc = "RCODE " + strconv.Itoa(resp.Rcode)
	}
	return fmt.Errorf("server answered %s", rc)
}

func sameQuestion(a, b mdns.Question) bool {
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

func temporary(cause error) error { return fmt.Errorf("%w: %w", ErrTemporary, cause) }
