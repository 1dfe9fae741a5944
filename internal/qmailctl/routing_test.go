package qmailctl

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// routingFrom loads the routing files of files (name -> content) from a
// temporary control directory.
func routingFrom(t *testing.T, files map[string]string) *Routing {
	t.Helper()
	r, err := loadRouting(filepath.Join(newHome(t, files), "control"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoutingOrder(t *testing.T) {
	files := map[string]string{
		"authsenders": "info@example.test:auth-whole.test|u1|p1\n" +
			"@example.test:auth-at.test|u2|p2\n" +
			".example.test:auth-dot.test|u3|p3\n" +
			".last@other.test:auth-localdot.test|u4|p4\n" +
			"@y@other.test:auth-innerat.test|u5|p5\n" +
			"no@optout.test:\n" +
			"@optout.test:auth-optout-domain.test|u6|p6\n" +
			"example.test:auth-bare.test|u7|p7\n",
		"qmtproutes": "q.test:qmtp-exact.test\n" +
			".mixed.test:qmtp-dot.test\n" +
			"qmx.test:\n",
		"smtproutes": "q.test:smtp-exact.test\n" +
			"a.mixed.test:smtp-specific.test\n" +
			"b.mixed.test:\n" +
			"!@:bounce.test;27\n" +
			".netq.test:netq.test:2525\n" +
			":catchall.test;s\n",
	}
	r := routingFrom(t, files)
	tests := []struct {
		name, sender, host string
		table              Table
		relay              string
		proto              Protocol
		mx                 bool
	}{
		{"authsenders whole sender", "info@example.test", "q.test", TableAuthSenders, "auth-whole.test", ProtocolSMTP, false},
		{"authsenders case-insensitive", "INFO@Example.TEST", "q.test", TableAuthSenders, "auth-whole.test", ProtocolSMTP, false},
		{"authsenders @domain", "other@example.test", "q.test", TableAuthSenders, "auth-at.test", ProtocolSMTP, false},
		{"authsenders .suffix", "x@mail.example.test", "q.test", TableAuthSenders, "auth-dot.test", ProtocolSMTP, false},
		{"authsenders bare domain key matches no address", "x@sub.other.test", "q.test", TableQMTPRoutes, "qmtp-exact.test", ProtocolQMTP, false},
		// s/qmail 3.x also tries ".last@other.test" and "@y@other.test".
		{"local-part dot is no key", "first.last@other.test", "q.test", TableQMTPRoutes, "qmtp-exact.test", ProtocolQMTP, false},
		{"only the last @ splits", "x@y@other.test", "q.test", TableQMTPRoutes, "qmtp-exact.test", ProtocolQMTP, false},
		{"authsenders empty value opts out", "no@optout.test", "a.mixed.test", TableSMTPRoutes, "smtp-specific.test", ProtocolSMTP, false},
		{"authsenders opt-out is per key", "yes@optout.test", "a.mixed.test", TableAuthSenders, "auth-optout-domain.test", ProtocolSMTP, false},
		{"qmtproutes before smtproutes at one key", "x@none.test", "q.test", TableQMTPRoutes, "qmtp-exact.test", ProtocolQMTP, false},
		{"specific smtproutes beats wider qmtproutes", "x@none.test", "a.mixed.test", TableSMTPRoutes, "smtp-specific.test", ProtocolSMTP, false},
		{"wider qmtproutes beats smtproutes catch-all", "x@none.test", "c.mixed.test", TableQMTPRoutes, "qmtp-dot.test", ProtocolQMTP, false},
		{"smtproutes empty value stops", "x@none.test", "b.mixed.test", TableSMTPRoutes, "", ProtocolSMTP, true},
		{"qmtproutes empty value is qmtp by mx", "x@none.test", "qmx.test", TableQMTPRoutes, "", ProtocolQMTP, true},
		{"netqmail line through Routing", "x@none.test", "h.netq.test", TableSMTPRoutes, "netq.test", ProtocolSMTP, false},
		{"catch-all", "x@none.test", "elsewhere.test", TableSMTPRoutes, "catchall.test", ProtocolSMTP, false},
		{"bounce route beats host routes", "", "q.test", TableSMTPRoutes, "bounce.test", ProtocolSMTP, false},
		{"bang-at only for the null sender", "x@none.test", "!@", TableSMTPRoutes, "catchall.test", ProtocolSMTP, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Lookup(tt.sender, tt.host)
			if err != nil {
				t.Fatal(err)
			}
			if got.Table != tt.table || got.Relay != tt.relay || got.Protocol != tt.proto || got.MX() != tt.mx {
				t.Errorf("Lookup(%q, %q) = %+v mx=%v; want table %v relay %q %v mx=%v",
					tt.sender, tt.host, got, got.MX(), tt.table, tt.relay, tt.proto, tt.mx)
			}
		})
	}
}

func TestRoutingBounce(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		table Table
		relay string
		proto Protocol
		mx    bool
	}{
		{"qmtproutes bang-at first", map[string]string{"qmtproutes": "!@:qb.test\n", "smtproutes": "!@:sb.test\n"},
			TableQMTPRoutes, "qb.test", ProtocolQMTP, false},
		{"smtproutes bang-at", map[string]string{"qmtproutes": "h.test:q.test\n", "smtproutes": "!@:sb.test\n"},
			TableSMTPRoutes, "sb.test", ProtocolSMTP, false},
		// s/qmail 3.x ignores an empty "!@" value and routes by host; mxout sends by MX.
		{"empty bang-at is mx", map[string]string{"smtproutes": "!@:\nh.test:relay.test\n"},
			TableSMTPRoutes, "", ProtocolSMTP, true},
		// s/qmail 3.x keeps QMTP switched on after an empty qmtproutes "!@" and
		// then speaks QMTP to an smtproutes relay; here the qmtproutes entry decides.
		{"empty qmtp bang-at is qmtp by mx", map[string]string{"qmtproutes": "!@:\n", "smtproutes": "h.test:relay.test\n"},
			TableQMTPRoutes, "", ProtocolQMTP, true},
		{"no bang-at: host routes", map[string]string{"smtproutes": "h.test:relay.test\n"},
			TableSMTPRoutes, "relay.test", ProtocolSMTP, false},
		{"authsenders catch-all takes bounces", map[string]string{"authsenders": ":auth.test|u|p\n", "smtproutes": "!@:sb.test\n"},
			TableAuthSenders, "auth.test", ProtocolSMTP, false},
		{"authsenders @domain does not", map[string]string{"authsenders": "@x.test:auth.test|u|p\n", "smtproutes": "!@:sb.test\n"},
			TableSMTPRoutes, "sb.test", ProtocolSMTP, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := routingFrom(t, tt.files).Lookup("", "h.test")
			if err != nil {
				t.Fatal(err)
			}
			if got.Table != tt.table || got.Relay != tt.relay || got.Protocol != tt.proto || got.MX() != tt.mx {
				t.Errorf("got %+v mx=%v; want table %v relay %q %v mx=%v", got, got.MX(), tt.table, tt.relay, tt.proto, tt.mx)
			}
		})
	}
}

func TestRoutingNoEntry(t *testing.T) {
	want := Route{Port: 25, mx: true}
	for name, r := range map[string]*Routing{"nil": nil, "zero": {}, "empty files": routingFrom(t, nil)} {
		got, err := r.Lookup("a@b.test", "c.test")
		if err != nil || got != want || !got.MX() || got.Table != TableNone {
			t.Errorf("%s: %+v, %v; want MX by SMTP port 25", name, got, err)
		}
	}
}

func TestRoutingCredentials(t *testing.T) {
	r := routingFrom(t, map[string]string{
		"authsenders": "@example.test:relay.test;s587|user|pass word\n",
		"smtproutes":  ":submission.test;587|suser|spass\n",
	})
	got, _ := r.Lookup("a@example.test", "dest.test")
	if got.User != "user" || got.Password.Reveal() != "pass word" || got.Port != 587 || !got.ImplicitTLS {
		t.Errorf("authsenders route %+v", got)
	}
	got, _ = r.Lookup("a@other.test", "dest.test")
	if got.User != "suser" || got.Password.Reveal() != "spass" || got.ImplicitTLS {
		t.Errorf("smtproutes route %+v", got)
	}
}

func TestRoutingIPv6HostLiteral(t *testing.T) {
	r := routingFrom(t, map[string]string{"smtproutes": "[IPv6:2001:db8::1]:v6.test;26\n[192.0.2.1]:v4.test\n"})
	for host, relay := range map[string]string{"[IPv6:2001:db8::1]": "v6.test", "[ipv6:2001:DB8::1]": "v6.test", "[192.0.2.1]": "v4.test", "[2001:db8::1]": ""} {
		got, _ := r.Lookup("a@b.test", host)
		if got.Relay != relay {
			t.Errorf("%s: relay %q, want %q", host, got.Relay, relay)
		}
	}
}

func TestRoutingDomainIPs(t *testing.T) {
	a := netip.MustParseAddr
	r := routingFrom(t, map[string]string{
		"domainips": "*:192.0.2.99|default.test\n" +
			"example.test:192.0.2.1|helo.example.test\n" +
			".example.test:2001:db8::1\n" +
			"v6.test:::1|v6.helo.test\n" +
			"ll.test:fe80::1%eth0\n" +
			"EXAMPLE.org:192.0.2.3\n" +
			"example.org:192.0.2.4\n" +
			"optout.test:\n" +
			"heloonly.test:|only.helo.test\n" +
			":192.0.2.50\n" +
			"bad.test:999.1.1.1|bad.helo.test\n" +
			"badll.test:fe80::2\n" +
			"nocolon\n",
		"smtproutes": "own.test:relay.test||192.0.2.200\n",
	})
	tests := []struct {
		sender, host string
		ip           netip.Addr
		helo         string
		bad          bool
	}{
		{"a@example.test", "x.test", a("192.0.2.1"), "helo.example.test", false},
		{"a@mail.example.test", "x.test", a("2001:db8::1"), "", false},
		{"a@v6.test", "x.test", a("::1"), "v6.helo.test", false}, // s/qmail 3.x reads "::1" as IPv4 and fails
		{"a@ll.test", "x.test", a("fe80::1%eth0"), "", false},
		{"a@example.org", "x.test", a("192.0.2.4"), "", false}, // last duplicate wins, keys case-insensitive
		{"a@optout.test", "x.test", netip.Addr{}, "", false},
		{"a@heloonly.test", "x.test", netip.Addr{}, "only.helo.test", false},
		{"a@other.test", "x.test", a("192.0.2.50"), "", false}, // empty key before "*"
		{"", "x.test", a("192.0.2.50"), "", false},             // bounce: the empty key
		{"noat", "x.test", a("192.0.2.50"), "", false},
		{"a@x@example.test", "x.test", a("192.0.2.1"), "helo.example.test", false},   // last '@'
		{"a@example.test", "own.test", a("192.0.2.200"), "helo.example.test", false}, // the route's own address wins
		{"a@bad.test", "x.test", netip.Addr{}, "bad.helo.test", true},
		{"a@badll.test", "x.test", netip.Addr{}, "", true},
	}
	for _, tt := range tests {
		got, err := r.Lookup(tt.sender, tt.host)
		if got.LocalIP != tt.ip || got.HeloHost != tt.helo {
			t.Errorf("Lookup(%q, %q) = ip %v helo %q; want %v %q", tt.sender, tt.host, got.LocalIP, got.HeloHost, tt.ip, tt.helo)
		}
		if tt.bad != (err != nil) {
			t.Errorf("Lookup(%q): err = %v, want error %v", tt.sender, err, tt.bad)
		}
		if err != nil && (!errors.Is(err, ErrDomainIP) || errors.Is(err, ErrControl)) {
			t.Errorf("err = %v: want ErrDomainIP and not ErrControl", err)
		}
	}
	star := routingFrom(t, map[string]string{"domainips": "*:192.0.2.99|default.test\n"})
	if got, _ := star.Lookup("a@any.test", "x.test"); got.LocalIP != a("192.0.2.99") || got.HeloHost != "default.test" {
		t.Errorf("'*' default: %+v", got)
	}
}

func TestDomainIPsRefuses(t *testing.T) {
	for _, l := range []string{"x.test:192.0.2.1|bad helo", "x.test:192.0.2.1|a|b", "x.test:|h\x01"} {
		_, err := parseDomainIPs(splitLines([]byte("ok.test:192.0.2.1\n" + l)))
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != "domainips" || fe.Line != 2 {
			t.Errorf("%q: err = %v, want FileError at line 2", l, err)
		}
	}
}

func TestLoadRouting(t *testing.T) {
	c, err := Load(newHome(t, map[string]string{
		"me":          "me.test\n",
		"smtproutes":  "x.test:relay.test;2525|u|p\n",
		"qmtproutes":  "q.test:qrelay.test\n",
		"authsenders": "@a.test:arelay.test|au|ap\n",
		"domainips":   "a.test:bad-address\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if rt, ok := c.SMTPRoutes.Lookup("x.test"); !ok || rt.Port != 2525 || rt.User != "u" {
		t.Errorf("SMTPRoutes holds %+v %v", rt, ok)
	}
	if rt, _ := c.Routing.Lookup("b@b.test", "q.test"); rt.Relay != "qrelay.test" || rt.Port != 209 {
		t.Errorf("qmtproutes route %+v", rt)
	}
	// A bad domainips address fails only mail from that domain.
	if rt, err := c.Routing.Lookup("b@a.test", "q.test"); !errors.Is(err, ErrDomainIP) || rt.Relay != "arelay.test" {
		t.Errorf("Lookup from a.test = %+v, %v", rt, err)
	}
	for _, name := range []string{"smtproutes", "qmtproutes", "authsenders", "domainips"} {
		t.Run(name, func(t *testing.T) {
			bad := map[string]string{"smtproutes": "x:r|u\n", "qmtproutes": "x:r;0\n", "authsenders": "x:|u|p\n", "domainips": "x:|a b\n"}
			_, err := Load(newHome(t, map[string]string{"me": "me.test\n", name: "# c\n" + bad[name]}))
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != name || fe.Line != 2 || !errors.Is(err, ErrControl) {
				t.Errorf("malformed %s: err = %v", name, err)
			}
			home := newHome(t, map[string]string{"me": "me.test\n"})
			if err := os.Mkdir(filepath.Join(home, "control", name), 0o755); err != nil {
				t.Fatal(err)
			}
			_, err = Load(home)
			if !errors.As(err, &fe) || fe.File != name || !errors.Is(err, ErrControl) {
				t.Errorf("%s is a directory: err = %v", name, err)
			}
		})
	}
}
