package route

import (
	"net"
	"net/netip"
	"testing"
)

// spare returns n addresses of prefix (after its first) that are on none of this machine's
// interfaces, so the tests hold on a machine whose own addresses are in the test ranges.
func spare(t *testing.T, prefix string, n int) []netip.Addr {
	t.Helper()
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	taken := map[netip.Addr]bool{}
	for _, ia := range ifaddrs {
		if ipn, ok := ia.(*net.IPNet); ok {
			if a, ok := netip.AddrFromSlice(ipn.IP); ok {
				taken[a.Unmap()] = true
			}
		}
	}
	p := netip.MustParsePrefix(prefix)
	var out []netip.Addr
	for a := p.Addr().Next(); p.Contains(a) && len(out) < n; a = a.Next() {
		if !taken[a] {
			out = append(out, a)
		}
	}
	if len(out) < n {
		t.Fatalf("no %d spare addresses in %s", n, prefix)
	}
	return out
}

func TestLocalAddrs(t *testing.T) {
	t.Parallel()
	doc := spare(t, "192.0.2.0/24", 2) // usually 192.0.2.1 and 192.0.2.2
	x, y := doc[0], doc[1]
	lo := spare(t, "127.0.0.1/8", 1)[0] // usually 127.0.0.2
	v6 := spare(t, "2001:db8::/64", 1)[0]
	pfx := func(ps ...netip.Prefix) []netip.Prefix { return ps }
	host := func(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }
	tests := []struct {
		name      string
		more, not []netip.Prefix
		addr      netip.Addr
		want      bool
	}{
		{"loopback", nil, nil, netip.MustParseAddr("127.0.0.1"), true},
		{"mapped loopback", nil, nil, netip.MustParseAddr("::ffff:127.0.0.1"), true},
		{"unspecified v4", nil, nil, netip.IPv4Unspecified(), true},
		{"unspecified v6", nil, nil, netip.IPv6Unspecified(), true},
		{"not on an interface", nil, nil, x, false},
		{"other loopback", nil, nil, lo, false},
		{"notipme", nil, pfx(netip.MustParsePrefix("127.0.0.0/8")), netip.MustParseAddr("127.0.0.1"), false},
		{"notipme, other address", nil, pfx(netip.MustParsePrefix("127.0.0.0/8")), netip.IPv4Unspecified(), true},
		{"moreipme", pfx(host(x)), nil, x, true},
		{"moreipme, neighbour", pfx(host(x)), nil, y, false},
		{"moreipme prefix", pfx(netip.MustParsePrefix("192.0.2.0/24")), nil, y, true},
		{"not wins over more", pfx(netip.MustParsePrefix("192.0.2.0/24")), pfx(host(x)), x, false},
		{"more outside not", pfx(netip.MustParsePrefix("192.0.2.0/24")), pfx(host(x)), y, true},
		{"v6 more", pfx(netip.MustParsePrefix("2001:db8::/64")), nil, v6, true},
		{"v6 with zone", pfx(netip.MustParsePrefix("2001:db8::/64")), nil, v6.WithZone("eth0"), true},
	}
	for _, tt := range tests {
		is, err := LocalAddrs(tt.more, tt.not)
		if err != nil {
			t.Fatal(err)
		}
		if got := is(tt.addr); got != tt.want {
			t.Errorf("%s: LocalAddrs(%v, %v)(%s) = %v, want %v", tt.name, tt.more, tt.not, tt.addr, got, tt.want)
		}
	}
}

// TestLocalAddrsCopiesPrefixes checks that changing the caller's slices later changes nothing.
func TestLocalAddrsCopiesPrefixes(t *testing.T) {
	t.Parallel()
	ab := spare(t, "192.0.2.0/24", 2)
	more := []netip.Prefix{netip.PrefixFrom(ab[0], 32)}
	is, err := LocalAddrs(more, nil)
	if err != nil {
		t.Fatal(err)
	}
	more[0] = netip.PrefixFrom(ab[1], 32)
	if !is(ab[0]) || is(ab[1]) {
		t.Error("the predicate follows changes to the caller's slice")
	}
}
