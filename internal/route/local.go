package route

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// LocalAddrs returns the loop-check predicate for Planner.IsLocal: an address is this machine
// when it is on one of its interfaces (read once, now), is 0.0.0.0 or ::, or lies in a prefix of
// more; but never when it lies in a prefix of not (not wins). This is qmail's ipme, plus
// moreipme and minus notipme. IPv4-mapped IPv6 addresses count as IPv4 and zones are ignored.
// Other loopback addresses than those on an interface (127.0.0.2) are not local unless listed
// in more, as in qmail. The predicate is safe for concurrent use; the slices are copied.
func LocalAddrs(more, not []netip.Prefix) (func(netip.Addr) bool, error) {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("route: listing this machine's addresses: %w", err)
	}
	local := map[netip.Addr]bool{netip.IPv4Unspecified(): true, netip.IPv6Unspecified(): true}
	for _, ia := range ifaddrs {
		var ip net.IP
		switch v := ia.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			local[a.Unmap()] = true
		}
	}
	more, not = slices.Clone(more), slices.Clone(not)
	in := func(ps []netip.Prefix, a netip.Addr) bool {
		return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	return func(a netip.Addr) bool {
		a = a.WithZone("").Unmap()
		if in(not, a) {
			return false
		}
		return local[a] || in(more, a)
	}, nil
}
