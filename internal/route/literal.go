package route

import (
	"net/netip"
	"strings"
)

// parseLiteral recognises a host that is an address, not a name: "[192.0.2.1]",
// "[IPv6:2001:db8::1]" (RFC 5321 §4.1.3; the tag in any case), "[2001:db8::1]" without the
// tag (lenient, as several MTAs are), and a bare dotted quad "192.0.2.1" (qmail's dns_mxip
// accepts it). A bare IPv6 address is not a literal: it cannot be told from a malformed name
// in a mail domain. Zones are refused. Anything else is a name for DNS.
func parseLiteral(s string) (netip.Addr, bool) {
	inner, ok := strings.CutPrefix(s, "[")
	if !ok {
		a, err := netip.ParseAddr(s)
		return a, err == nil && a.Is4()
	}
	inner, ok = strings.CutSuffix(inner, "]")
	if !ok {
		return netip.Addr{}, false
	}
	tagged := len(inner) >= 5 && strings.EqualFold(inner[:5], "IPv6:")
	if tagged {
		inner = inner[5:]
	}
	a, err := netip.ParseAddr(inner)
	if err != nil || a.Zone() != "" || tagged && !a.Is6() {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
