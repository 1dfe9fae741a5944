package qmailctl

import (
	"net/netip"
	"testing"
)

func routesFrom(content string) *Routes {
	r, _ := parseSMTPRoutes(splitLines([]byte(content)))
	return r
}

func TestRoutesLookup(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name, table, host string
		want              Route
		ok                bool
	}{
		{"exact", "example.test:relay.test\n", "example.test", Route{Relay: "relay.test", Port: 25}, true},
		{"no route", "example.test:relay.test\n", "other.test", Route{}, false},
		{"case-insensitive key", "EXAMPLE.Test:relay.test\n", "example.TEST", Route{Relay: "relay.test", Port: 25}, true},
		{"relay case kept", "example.test:Relay.Test\n", "example.test", Route{Relay: "Relay.Test", Port: 25}, true},
		{"duplicate last wins", "example.test:127.0.0.1:1\nexample.test:127.0.0.1:2\n", "example.test",
			Route{Relay: "127.0.0.1", Addr: a("127.0.0.1"), Port: 2}, true},
		{"duplicate different case last wins", "Example.test:first.test\nexample.TEST:second.test\n", "example.test",
			Route{Relay: "second.test", Port: 25}, true},
		{"empty relay stops search", "example.test:\n:127.0.0.1:1\n", "example.test", Route{Port: 25, mx: true}, true},
		{"empty relay on suffix stops search", ".example.test:\n:127.0.0.1:1\n", "a.example.test", Route{Port: 25, mx: true}, true},
		{"suffix", ".example.test:relay.test\n", "mx.a.example.test", Route{Relay: "relay.test", Port: 25}, true},
		{"suffix not itself", ".example.test:relay.test\n", "example.test", Route{}, false},
		{"catch-all", ":relay.test\n", "anything.test", Route{Relay: "relay.test", Port: 25}, true},
		{"specific beats wildcard", ":wild.test\n.example.test:dot.test\na.example.test:exact.test\n", "a.example.test",
			Route{Relay: "exact.test", Port: 25}, true},
		{"specific beats wildcard in any order", "a.example.test:exact.test\n.test:tld.test\n", "a.example.test",
			Route{Relay: "exact.test", Port: 25}, true},
		{"longer suffix first", ".test:tld.test\n.example.test:dom.test\n", "a.example.test",
			Route{Relay: "dom.test", Port: 25}, true},
		// Keys are stored in A-labels; lookups come in A-labels (deliver converts the host).
		{"unicode key", "bücher.example:relay.test\n", "xn--bcher-kva.example", Route{Relay: "relay.test", Port: 25}, true},
		{"unicode suffix key", ".BÜCHER.example:relay.test\n", "mx.xn--bcher-kva.example", Route{Relay: "relay.test", Port: 25}, true},
		{"a-label key", "xn--bcher-kva.example:relay.test\n", "xn--bcher-kva.example", Route{Relay: "relay.test", Port: 25}, true},
		{"leading blank in key", " example.test:relay.test\n", "example.test", Route{}, false},
		{"no colon ignored", "example.test relay.test\n", "example.test", Route{}, false},
		{"comment ignored", "#example.test:relay.test\n", "example.test", Route{}, false},
		{"last line without newline", "example.test:relay.test", "example.test", Route{Relay: "relay.test", Port: 25}, true},
		{"port", "example.test:relay.test:2525\n", "example.test", Route{Relay: "relay.test", Port: 2525}, true},
		{"port junk", "example.test:127.0.0.1:2525abc:def\n", "example.test",
			Route{Relay: "127.0.0.1", Addr: a("127.0.0.1"), Port: 2525}, true},
		{"empty port", "example.test:127.0.0.1:\n", "example.test",
			Route{Relay: "127.0.0.1", Addr: a("127.0.0.1"), Port: 0}, true},
		{"port without digits", "example.test:127.0.0.1:smtp\n", "example.test",
			Route{Relay: "127.0.0.1", Addr: a("127.0.0.1"), Port: 0}, true},
		{"port wraps", "example.test:127.0.0.1:67961\n", "example.test",
			Route{Relay: "127.0.0.1", Addr: a("127.0.0.1"), Port: 2425}, true},
		{"port wraps 65536", "example.test:127.0.0.1:65536\n", "example.test",
			Route{Relay: "127.0.0.1", Addr: a("127.0.0.1"), Port: 0}, true},
		{"port huge", "example.test:relay.test:18446744073709551641\n", "example.test", Route{Relay: "relay.test", Port: 25}, true},
		{"empty relay with port", "example.test::2525\n", "example.test", Route{Port: 2525}, true},
		{"host key with port", "example.test:2525:relay.test\n", "example.test", Route{Relay: "2525", Port: 0}, true},
		{"bracketed v4", "example.test:[127.0.0.1]\n", "example.test", Route{Relay: "127.0.0.1", Addr: a("127.0.0.1"), Port: 25}, true},
		{"bracketed v4 port", "example.test:[127.0.0.1]:26\n", "example.test", Route{Relay: "127.0.0.1", Addr: a("127.0.0.1"), Port: 26}, true},
		{"bracketed v6", "example.test:[::1]\n", "example.test", Route{Relay: "::1", Addr: a("::1"), Port: 25}, true},
		{"bracketed v6 port", "example.test:[::1]:2525x\n", "example.test", Route{Relay: "::1", Addr: a("::1"), Port: 2525}, true},
		{"ipv6 tag", "example.test:[IPv6:2001:db8::1]:587\n", "example.test",
			Route{Relay: "2001:db8::1", Addr: a("2001:db8::1"), Port: 587}, true},
		{"ipv6 tag lower case", "example.test:[ipv6:::1]\n", "example.test", Route{Relay: "::1", Addr: a("::1"), Port: 25}, true},
		{"brackets without address", "example.test:[relay.test]:26\n", "example.test", Route{Relay: "[relay.test]", Port: 26}, true},
		{"bracket junk falls back to netqmail split", "example.test:[::1]x\n", "example.test", Route{Relay: "[", Port: 0}, true},
		{"unbracketed v6 is netqmail split", "example.test:::1\n", "example.test", Route{Port: 0}, true},
		{"v6 zone refused", "example.test:[fe80::1%eth0]\n", "example.test", Route{Relay: "[fe80", Port: 0}, true},
		{"name is not literal", "example.test:relay1.test:26\n", "example.test", Route{Relay: "relay1.test", Port: 26}, true},
		{"host literal key", "[127.0.0.1]:relay.test\n", "[127.0.0.1]", Route{Relay: "relay.test", Port: 25}, true},
		{"empty host uses empty key", ":relay.test\n", "", Route{Relay: "relay.test", Port: 25}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := routesFrom(tt.table).Lookup(tt.host)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Lookup(%q) = %+v, %v; want %+v, %v", tt.host, got, ok, tt.want, tt.ok)
			}
			if got.MX() != tt.want.mx {
				t.Errorf("MX() = %v", got.MX())
			}
		})
	}
}

func TestRoutesNil(t *testing.T) {
	var r *Routes
	if _, ok := r.Lookup("example.test"); ok {
		t.Error("nil Routes found a route")
	}
	if _, ok := (&Routes{}).Lookup("example.test"); ok {
		t.Error("zero Routes found a route")
	}
}

func TestScanPort(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
	}{
		{"", 0}, {"25", 25}, {"2525abc", 2525}, {"x25", 0}, {"65535", 65535}, {"65536", 0},
		{"65561", 25}, {"0000025", 25}, {"18446744073709551616", 0}, // 2^64 wraps to 0
		{"18446744073709551641", 25}, // 2^64+25
	}
	for _, tt := range tests {
		if got := scanPort(tt.in); got != tt.want {
			t.Errorf("scanPort(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
