package qmailctl

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/secret"
)

// parseOne parses a one-line route file of kind f and returns the entry
// under key.
func parseOne(t *testing.T, f routeFile, text, key string) (Route, error) {
	t.Helper()
	r, err := f.parse(splitLines([]byte(text)))
	if err != nil {
		return Route{}, err
	}
	rt, ok := r.get(key)
	if !ok {
		t.Fatalf("%s: no entry under %q in %q", f.name, key, text)
	}
	return rt, nil
}

func TestRouteFileGrammar(t *testing.T) {
	a := netip.MustParseAddr
	smtp, qmtp, auth := smtpRoutesFile, qmtpRoutesFile, authSendersFile
	tests := []struct {
		name string
		f    routeFile
		line string
		key  string
		want Route
	}{
		// qmail-remote(8) of s/qmail 4.3, smtproutes examples.
		{"manual port", smtp, "inside.af.mil:firewall.af.mil;26", "inside.af.mil", Route{Relay: "firewall.af.mil", Port: 26}},
		{"manual implicit tls and auth", smtp, ":submission.myrelay.com;s587|myuserid|mypasswd", "",
			Route{Relay: "submission.myrelay.com", Port: 587, ImplicitTLS: true, User: "myuserid", Password: secret.New("mypasswd")}},
		{"manual localip v4", smtp, ":bouncehost.org||10.1.1.0", "", Route{Relay: "bouncehost.org", Port: 25, LocalIP: a("10.1.1.0")}},
		{"manual localip v6", smtp, ":partnermx.net;42||2001::fefe", "", Route{Relay: "partnermx.net", Port: 42, LocalIP: a("2001::fefe")}},
		{"manual bounce route", smtp, "!@:bouncehost.af.mil;27", "!@", Route{Relay: "bouncehost.af.mil", Port: 27}},
		{"manual mx wildcard", smtp, ".af.mil:", ".af.mil", Route{Port: 25, mx: true}},
		// Ports.
		{"empty port is default", smtp, "x:relay.test;", "x", Route{Relay: "relay.test", Port: 25}},
		{"s alone is 465", smtp, "x:relay.test;s", "x", Route{Relay: "relay.test", Port: 465, ImplicitTLS: true}},
		{"s with port", smtp, "x:relay.test;s25", "x", Route{Relay: "relay.test", Port: 25, ImplicitTLS: true}},
		{"465 is implicit tls", smtp, "x:relay.test;465", "x", Route{Relay: "relay.test", Port: 465, ImplicitTLS: true}},
		{"6209 means nothing for smtp", smtp, "x:relay.test;6209", "x", Route{Relay: "relay.test", Port: 6209}},
		{"colon port in s/qmail line", smtp, "x:relay.test:2525|u|p", "x", Route{Relay: "relay.test", Port: 2525, User: "u", Password: secret.New("p")}},
		{"colon s port", smtp, "x:relay.test:s|u|p", "x", Route{Relay: "relay.test", Port: 465, ImplicitTLS: true, User: "u", Password: secret.New("p")}},
		// netqmail lines keep their meaning; 465 is implicit TLS there too.
		{"netqmail 465", smtp, "x:relay.test:465", "x", Route{Relay: "relay.test", Port: 465, ImplicitTLS: true}},
		{"netqmail s port is junk", smtp, "x:relay.test:s465", "x", Route{Relay: "relay.test", Port: 0}},
		{"netqmail lenient port", smtp, "x:relay.test:2525abc", "x", Route{Relay: "relay.test", Port: 2525}},
		// Fields.
		{"four fields", smtp, "x:relay.test|u|p|192.0.2.7", "x", Route{Relay: "relay.test", Port: 25, User: "u", Password: secret.New("p"), LocalIP: a("192.0.2.7")}},
		{"localip in fourth field", smtp, "x:relay.test|||192.0.2.7", "x", Route{Relay: "relay.test", Port: 25, LocalIP: a("192.0.2.7")}},
		{"two empty fields", smtp, "x:relay.test||", "x", Route{Relay: "relay.test", Port: 25}},
		{"password keeps colon and semicolon", smtp, "x:relay.test;26|u:1|p;w:d", "x", Route{Relay: "relay.test", Port: 26, User: "u:1", Password: secret.New("p;w:d")}},
		{"link-local with interface", smtp, "x:relay.test||fe80::1%eth0", "x", Route{Relay: "relay.test", Port: 25, LocalIP: a("fe80::1%eth0")}},
		{"mx with localip", smtp, "x:||192.0.2.7", "x", Route{Port: 25, LocalIP: a("192.0.2.7"), mx: true}},
		{"all bars empty is mx", smtp, "x:|||", "x", Route{Port: 25, mx: true}},
		// Relays.
		{"bare v4 literal", smtp, "x:192.0.2.1;26", "x", Route{Relay: "192.0.2.1", Addr: a("192.0.2.1"), Port: 26}},
		{"bracketed v6 semicolon", smtp, "x:[::1];587", "x", Route{Relay: "::1", Addr: a("::1"), Port: 587}},
		{"ipv6 tag colon port", smtp, "x:[IPv6:2001:db8::1]:587|u|p", "x",
			Route{Relay: "2001:db8::1", Addr: a("2001:db8::1"), Port: 587, User: "u", Password: secret.New("p")}},
		{"bare v6 before semicolon", smtp, "x:2001:db8::1;587", "x", Route{Relay: "2001:db8::1", Addr: a("2001:db8::1"), Port: 587}},
		{"bare v6 default port", smtp, "x:2001:db8::1;", "x", Route{Relay: "2001:db8::1", Addr: a("2001:db8::1"), Port: 25}},
		{"bracketed v6 no port", smtp, "x:[2001:db8::2]|u|p", "x", Route{Relay: "2001:db8::2", Addr: a("2001:db8::2"), Port: 25, User: "u", Password: secret.New("p")}},
		{"ipv6 host key", smtp, "[IPv6:2001:db8::1]:relay.test;26", "[ipv6:2001:db8::1]", Route{Relay: "relay.test", Port: 26}},
		{"name case kept", smtp, "x:Relay.Test;26", "x", Route{Relay: "Relay.Test", Port: 26}},
		// qmtproutes.
		{"qmtp default port", qmtp, "x:relay.test", "x", Route{Relay: "relay.test", Port: 209, Protocol: ProtocolQMTP}},
		{"qmtps 6209", qmtp, "x:relay.test;6209", "x", Route{Relay: "relay.test", Port: 6209, Protocol: ProtocolQMTP, ImplicitTLS: true}},
		{"qmtp s alone", qmtp, "x:relay.test;s", "x", Route{Relay: "relay.test", Port: 6209, Protocol: ProtocolQMTP, ImplicitTLS: true}},
		{"qmtp s port", qmtp, "x:relay.test;s7000", "x", Route{Relay: "relay.test", Port: 7000, Protocol: ProtocolQMTP, ImplicitTLS: true}},
		{"qmtp 465 is plain", qmtp, "x:relay.test;465", "x", Route{Relay: "relay.test", Port: 465, Protocol: ProtocolQMTP}},
		{"qmtp colon port", qmtp, "x:relay.test:7000", "x", Route{Relay: "relay.test", Port: 7000, Protocol: ProtocolQMTP}},
		{"qmtp empty colon port is default", qmtp, "x:relay.test:", "x", Route{Relay: "relay.test", Port: 209, Protocol: ProtocolQMTP}},
		{"qmtp empty is mx", qmtp, "x:", "x", Route{Port: 209, Protocol: ProtocolQMTP, mx: true}},
		{"qmtp localip", qmtp, "x:relay.test||192.0.2.7", "x", Route{Relay: "relay.test", Port: 209, Protocol: ProtocolQMTP, LocalIP: a("192.0.2.7")}},
		// authsenders, manual examples.
		{"auth domain", auth, "@example.com:relay.example.com|user|passwd", "@example.com",
			Route{Relay: "relay.example.com", Port: 25, User: "user", Password: secret.New("passwd")}},
		{"auth address with port", auth, "info@example.com:relay.example.com;26|infouser|infopasswd", "info@example.com",
			Route{Relay: "relay.example.com", Port: 26, User: "infouser", Password: secret.New("infopasswd")}},
		{"auth catch-all", auth, ":mailrelay.example.com|e=mc2|testpass", "", Route{Relay: "mailrelay.example.com", Port: 25, User: "e=mc2", Password: secret.New("testpass")}},
		{"auth without credentials", auth, "@x.test:relay.test;s587", "@x.test", Route{Relay: "relay.test", Port: 587, ImplicitTLS: true}},
		{"auth old colon port", auth, "@x.test:relay.test:587|u|p", "@x.test", Route{Relay: "relay.test", Port: 587, User: "u", Password: secret.New("p")}},
		{"auth empty is opt-out", auth, "@x.test:", "@x.test", Route{Port: 25, mx: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOne(t, tt.f, tt.line, tt.key)
			if err != nil {
				t.Fatalf("%s %q: %v", tt.f.name, tt.line, err)
			}
			if got != tt.want {
				t.Errorf("%s %q:\n got %#v\nwant %#v", tt.f.name, tt.line, got, tt.want)
			}
			if got.Password.Reveal() != tt.want.Password.Reveal() {
				t.Errorf("password %q, want %q", got.Password.Reveal(), tt.want.Password.Reveal())
			}
		})
	}
}

func TestRouteFileRefuses(t *testing.T) {
	smtp, qmtp, auth := smtpRoutesFile, qmtpRoutesFile, authSendersFile
	tests := []struct {
		name string
		f    routeFile
		line string
	}{
		// s/qmail 3.x takes a password from beyond the string for one bar.
		{"single bar", smtp, "x:relay.test|hunter2"},
		{"single bar after port", smtp, "x:relay.test;26|hunter2"},
		{"trailing bar", smtp, "x:relay.test|"},
		{"five fields", smtp, "x:relay.test|u|hun|ter2|192.0.2.1"},
		{"user without password", smtp, "x:relay.test|u||192.0.2.1"},
		{"password without user", smtp, "x:relay.test||hunter2|192.0.2.1"},
		{"empty user then text is localip", smtp, "x:relay.test||hunter2"},
		{"cr from crlf file", smtp, "x:relay.test|u|hunter2\r"},
		{"control in user", smtp, "x:relay.test|u\x01|hunter2"},
		// Ports: s/qmail's scan_ulong would take 0 or the leading digits.
		{"port zero", smtp, "x:relay.test;0"},
		{"port too big", smtp, "x:relay.test;65536"},
		{"port junk", smtp, "x:relay.test;25abc"},
		{"port sign", smtp, "x:relay.test;-25"},
		{"capital s", smtp, "x:relay.test;S25"},
		{"s twice", smtp, "x:relay.test;ss25"},
		{"two ports", smtp, "x:relay.test;25;26"},
		// s/qmail 3.x would send to a relay named "relay.test:26".
		{"colon before semicolon", smtp, "x:relay.test:26;27"},
		{"bare v6 without semicolon", smtp, "x:2001:db8::1|u|hunter2"},
		{"bracket not ip", smtp, "x:[relay.test];26"},
		{"text after bracket", smtp, "x:[::1]x;26"},
		{"no closing bracket", smtp, "x:[::1;26"},
		{"zone in bare relay", smtp, "x:fe80::1%eth0;25"},
		{"zone in bracketed relay", smtp, "x:[fe80::1%eth0];25"},
		{"blank in relay", smtp, "x:relay .test;25"},
		{"at in relay", smtp, "x:user@relay.test;25"},
		{"port without relay", smtp, "x:;26"},
		{"credentials without relay", smtp, "x:|u|hunter2"},
		{"bad localip", smtp, "x:relay.test|u|hunter2|not-an-ip"},
		{"link-local without interface", smtp, "x:relay.test||fe80::1"},
		{"interface on v4", smtp, "x:relay.test||192.0.2.1%eth0"},
		{"interface on global v6", smtp, "x:relay.test||2001:db8::1%eth0"},
		{"bracketed localip", smtp, "x:relay.test||[192.0.2.1]"},
		{"qmtp credentials", qmtp, "x:relay.test|u|hunter2"},
		{"qmtp lenient port", qmtp, "x:relay.test:209x"},
		{"auth credentials without relay", auth, "@x.test:|u|hunter2"},
		{"auth localip without relay", auth, "@x.test:||192.0.2.1"},
		{"auth port without relay", auth, "@x.test:;587"},
		{"auth single bar", auth, "@x.test:relay.test|hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "# comment\nok.test:relay.test\n" + tt.line + "\n"
			_, err := tt.f.parse(splitLines([]byte(text)))
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != tt.f.name || fe.Line != 3 || !errors.Is(err, ErrControl) {
				t.Fatalf("%s %q: err = %v, want *FileError at line 3 wrapping ErrControl", tt.f.name, tt.line, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error text shows the password: %v", err)
			}
		})
	}
}

// TestNetqmailLinesUnchanged: smtproutes lines without ';' or '|' never fail
// and mean what netqmail makes of them, even where s/qmail syntax would
// refuse them.
func TestNetqmailLinesUnchanged(t *testing.T) {
	for _, l := range []string{"x:relay.test:26;27x", "x:relay.test:0", "x:2001:db8::1", "x:[relay.test]:26", "x::2525", "x:relay .test"} {
		if strings.ContainsAny(strings.TrimPrefix(l, "x:"), ";|") {
			if _, err := smtpRoutesFile.parse(splitLines([]byte(l))); err == nil {
				t.Errorf("%q: s/qmail line accepted", l)
			}
			continue
		}
		got, err := parseOne(t, smtpRoutesFile, l, "x")
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if want := parseRoute(strings.TrimPrefix(l, "x:")); got != want {
			t.Errorf("%q: %+v, want netqmail's %+v", l, got, want)
		}
	}
}

func TestSplitRouteKey(t *testing.T) {
	tests := []struct{ in, key, value string }{
		{"a:b:c", "a", "b:c"},
		{"[IPv6:::1]:relay", "[IPv6:::1]", "relay"},
		{"[::1]:relay;25", "[::1]", "relay;25"},
		{"[127.0.0.1]:r", "[127.0.0.1]", "r"},
		{"[::1]x:relay", "[", ":1]x:relay"}, // ']' not followed by ':': constmap's split
		{"[::1]", "[", ":1]"},
		{"[abc]:", "[abc]", ""},
	}
	for _, tt := range tests {
		k, v, ok := splitRouteKey(tt.in)
		if !ok || k != tt.key || v != tt.value {
			t.Errorf("splitRouteKey(%q) = %q, %q, %v; want %q, %q", tt.in, k, v, ok, tt.key, tt.value)
		}
	}
	if _, _, ok := splitRouteKey("[abc]"); ok {
		t.Error("line without ':' split")
	}
}
