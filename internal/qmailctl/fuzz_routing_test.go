package qmailctl

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/secret"
)

// checkRoute fails t when rt breaks an invariant every parsed route keeps.
func checkRoute(t *testing.T, rt Route) {
	t.Helper()
	if (rt.User == "") != rt.Password.IsZero() {
		t.Fatalf("user without password or the reverse: %+v", rt)
	}
	if rt.MX() && (rt.Relay != "" || rt.Addr.IsValid() || rt.User != "") {
		t.Fatalf("MX route with relay data: %+v", rt)
	}
	if rt.Addr.IsValid() && rt.Addr.Zone() != "" {
		t.Fatalf("zone in relay address: %+v", rt)
	}
	if z := rt.LocalIP.Zone(); z != "" && (!rt.LocalIP.IsLinkLocalUnicast() || strings.ContainsAny(z, " /")) {
		t.Fatalf("bad zone in local address: %+v", rt)
	}
	if rt.Protocol == ProtocolQMTP && (rt.User != "" || rt.Port == 0) {
		t.Fatalf("bad QMTP route: %+v", rt)
	}
	if rt.Port == tlsPort(rt.Protocol) && !rt.ImplicitTLS {
		t.Fatalf("TLS port without implicit TLS: %+v", rt)
	}
	// Printing does not depend on the password (beyond whether there is one).
	other := rt
	if !other.Password.IsZero() {
		other.Password = secret.New(other.Password.Reveal() + "x")
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if a, b := fmt.Sprintf(f, rt), fmt.Sprintf(f, other); a != b {
			t.Fatalf("%s depends on the password: %s", f, a)
		}
	}
}

// checkParseError fails t when a parse error is not a *FileError of file
// or shows the text of the table's values.
func checkParseError(t *testing.T, err error, file string) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != file || fe.Line < 1 || !errors.Is(err, ErrControl) {
		t.Fatalf("parse error %v is not a FileError of %s", err, file)
	}
}

func FuzzAuthSenders(f *testing.F) {
	f.Add("@example.com:relay.example.com|user|passwd\ninfo@example.com:relay.example.com;26|infouser|infopasswd\n:mailrelay.example.com|e=mc2|testpass\n", "info@example.com")
	f.Add("@x.test:\n.test:[IPv6:::1]:s587|u|p|fe80::1%lo\n", "a@b.x.test")
	f.Add("a.b@c.test:r;s|u|p\n", "")
	f.Fuzz(func(t *testing.T, table, sender string) {
		auth, err := authSendersFile.parse(splitLines([]byte(table)))
		if err != nil {
			checkParseError(t, err, "authsenders")
			return
		}
		rt, err := (&Routing{auth: auth}).Lookup(sender, "host.test")
		if err != nil {
			t.Fatalf("lookup error without domainips: %v", err)
		}
		checkRoute(t, rt)
		switch rt.Table {
		case TableAuthSenders:
			if rt.MX() || rt.Relay == "" || rt.Port == 0 || rt.Protocol != ProtocolSMTP {
				t.Fatalf("authsenders route without relay: %+v", rt)
			}
		case TableNone:
			if !rt.MX() || rt.Port != 25 {
				t.Fatalf("no route but %+v", rt)
			}
		default:
			t.Fatalf("route from %v", rt.Table)
		}
		if rt2, _ := (&Routing{auth: auth}).Lookup(asciiUpper(sender), "host.test"); rt2 != rt {
			t.Fatalf("case changes result: %+v vs %+v", rt, rt2)
		}
	})
}

func FuzzExtendedRoutes(f *testing.F) {
	f.Add("inside.af.mil:firewall.af.mil;26\n:submission.myrelay.com;s587|myuserid|mypasswd\n!@:bouncehost.af.mil;27\n", "", "inside.af.mil")
	f.Add(":bouncehost.org||10.1.1.0\n:partnermx.net;42||2001::fefe\n.af.mil:\nx:relay:2525abc\n", "a@b.test", "a.af.mil")
	f.Add("[IPv6:2001:db8::1]:2001:db8::2;25|u|p|fe80::1%eth0\n", "a@b.test", "[IPv6:2001:db8::1]")
	f.Fuzz(func(t *testing.T, table, sender, host string) {
		smtp, err := smtpRoutesFile.parse(splitLines([]byte(table)))
		if err != nil {
			checkParseError(t, err, "smtproutes")
			return
		}
		r := &Routing{smtp: smtp}
		rt, err := r.Lookup(sender, host)
		if err != nil {
			t.Fatalf("lookup error without domainips: %v", err)
		}
		checkRoute(t, rt)
		if rt.Table != TableSMTPRoutes && (rt.Table != TableNone || !rt.MX()) {
			t.Fatalf("route %+v from %v", rt, rt.Table)
		}
		if rt2, _ := r.Lookup(sender, asciiUpper(host)); rt2 != rt {
			t.Fatalf("case changes result: %+v vs %+v", rt, rt2)
		}
		// The old API sees the same smtproutes entry for a non-bounce.
		if sender != "" {
			old, ok := smtp.Lookup(host)
			if ok && old != (Route{}) && host != bounceKey {
				old.Table = TableSMTPRoutes
				if old != rt {
					t.Fatalf("Routes.Lookup %+v, Routing.Lookup %+v", old, rt)
				}
			}
		}
	})
}

func FuzzQMTPRoutes(f *testing.F) {
	f.Add("x.test:relay.test;6209\n.test:\n!@:[::1];s\n:r:7000\n", "", "a.x.test")
	f.Add("x.test:relay.test||192.0.2.1\n", "a@b.test", "X.TEST")
	f.Fuzz(func(t *testing.T, table, sender, host string) {
		q, err := qmtpRoutesFile.parse(splitLines([]byte(table)))
		if err != nil {
			checkParseError(t, err, "qmtproutes")
			return
		}
		rt, err := (&Routing{qmtp: q}).Lookup(sender, host)
		if err != nil {
			t.Fatalf("lookup error without domainips: %v", err)
		}
		checkRoute(t, rt)
		if rt.Table == TableQMTPRoutes && (rt.Protocol != ProtocolQMTP || rt.Port == 0) {
			t.Fatalf("qmtproutes gave %+v", rt)
		}
		if rt.Table != TableQMTPRoutes && (rt.Table != TableNone || rt.Protocol != ProtocolSMTP) {
			t.Fatalf("route %+v from %v", rt, rt.Table)
		}
	})
}

func FuzzDomainIPs(f *testing.F) {
	f.Add("*:192.0.2.1|helo.test\nexample.test:fe80::1%eth0\n.test:::1\nbad.test:1.2.3\noptout.test:\n", "a@mail.example.test")
	f.Add(":|only.helo\n", "")
	f.Fuzz(func(t *testing.T, table, sender string) {
		ips, err := parseDomainIPs(splitLines([]byte(table)))
		if err != nil {
			checkParseError(t, err, "domainips")
			return
		}
		rt, err := (&Routing{ips: ips}).Lookup(sender, "host.test")
		if err != nil {
			if !errors.Is(err, ErrDomainIP) || errors.Is(err, ErrControl) || rt.LocalIP.IsValid() {
				t.Fatalf("bad delivery-time error %v with %+v", err, rt)
			}
		}
		checkRoute(t, rt)
		if hasControl(rt.HeloHost) || strings.ContainsAny(rt.HeloHost, " |") {
			t.Fatalf("bad helohost %q", rt.HeloHost)
		}
		if !rt.MX() || rt.Table != TableNone {
			t.Fatalf("domainips changed the route: %+v", rt)
		}
	})
}
