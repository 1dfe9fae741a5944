package qmailctl

import (
	"net/netip"
	"strings"

	"github.com/mxout/mxout/internal/secret"
)

// Ports a route gets when it names none, or names only "s".
const (
	defaultSMTPPort = 25   // RFC 5321 §4.5.4.2
	defaultQMTPPort = 209  // QMTP's registered port
	smtpsPort       = 465  // SMTP submission over implicit TLS, RFC 8314 §3.3
	qmtpsPort       = 6209 // QMTP over TLS, as s/qmail uses it
)

// Route says where and how to send a message: the result of one line of
// smtproutes, qmtproutes or authsenders, and of Routing.Lookup, which also
// fills in the domainips fields. Zero fields mean "not given". A Route may
// be printed or logged whole: Password never prints its value.
type Route struct {
	// Relay is the relay name as written; for an address literal the
	// brackets and an "IPv6:" tag are removed. "" with MX() true means
	// "look up the MX records of the original host".
	Relay string
	// Addr is valid when the relay is an IP literal: a dotted quad with or
	// without brackets, or an IPv6 address in brackets (or, in s/qmail
	// syntax, bare before ';'). No DNS is needed then.
	Addr netip.Addr
	// Port is the TCP port. netqmail lines: 25 when not given, otherwise
	// the leading digits of the port text modulo 65536 (0 when there are
	// none). s/qmail lines: 1-65535, default 25 (SMTP) or 209 (QMTP), 465
	// or 6209 for a bare "s".
	Port uint16
	// Protocol is ProtocolQMTP for qmtproutes entries, else ProtocolSMTP.
	Protocol Protocol
	// ImplicitTLS means TLS from the first byte, no STARTTLS: an "s" before
	// the port, port 465 for SMTP (RFC 8314 §3.3) or 6209 for QMTP (QMTPS).
	ImplicitTLS bool
	// User and Password are the SMTP AUTH credentials; both or neither.
	User     string
	Password secret.Secret
	// LocalIP is the source address to bind: the route's own "|localip",
	// else the sender domain's domainips address. An IPv6 link-local
	// address carries its interface as zone ("fe80::1%eth0"). Invalid =
	// let the system choose.
	LocalIP netip.Addr
	// HeloHost is the EHLO/HELO name from domainips; "" = control/helohost.
	HeloHost string
	// Table is the file the route came from; set by Routing.Lookup only.
	Table Table

	mx bool
}

// MX reports whether the entry had an empty value: deliver by the MX records
// of the original host, exactly as if no route existed. A value that names
// an empty relay with a port (":2525") is not an MX route; it names the
// host "" as netqmail does.
func (r Route) MX() bool { return r.mx }

// Routes is a parsed route file: control/smtproutes (Config.SMTPRoutes),
// and inside Routing also qmtproutes and authsenders. The zero value and nil
// hold no routes. It is read-only after Load and safe for concurrent use.
type Routes struct {
	m map[string]Route // key in A-labels, lowered with asciiLower (hostKey)
}

// parseRoute parses the value of one netqmail smtproutes line (netqmail
// grammar plus bracketed literals). It never fails: netqmail accepts every
// value.
func parseRoute(value string) Route {
	if value == "" {
		return Route{mx: true, Port: defaultSMTPPort}
	}
	relay, portText, hasPort := splitRelay(value)
	r := Route{Relay: relay, Port: defaultSMTPPort}
	if hasPort {
		r.Port = scanPort(portText)
		r.ImplicitTLS = r.Port == smtpsPort
	}
	if a, ok := parseLiteral(relay); ok {
		r.Addr = a
		r.Relay = unbracket(relay)
	}
	return r
}

// splitRelay splits a route value into relay and port text. netqmail splits
// at the first ':'. Extension: a value starting with a bracketed IP literal
// ("[::1]", "[IPv6:2001:db8::1]") is split just after its ']', so IPv6
// literals work; when the brackets hold no IP address or are followed by
// something other than ':', the netqmail rule applies.
func splitRelay(value string) (relay, portText string, hasPort bool) {
	if strings.HasPrefix(value, "[") {
		if end := strings.IndexByte(value, ']'); end > 0 {
			lit, rest := value[:end+1], value[end+1:]
			if _, ok := parseLiteral(lit); ok {
				if rest == "" {
					return lit, "", false
				}
				if rest[0] == ':' {
					return lit, rest[1:], true
				}
			}
		}
	}
	return strings.Cut(value, ":")
}

// scanPort reads leading decimal digits as C scan_ulong does and truncates
// the result to 16 bits as the sockaddr does: "2525abc" gives 2525, "" gives
// 0, "65561" gives 25. Reducing modulo 65536 at every step gives the same
// result as scan_ulong's wrap at 2^64 followed by the truncation.
func scanPort(s string) uint16 {
	var p uint16
	for i := 0; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		p = p*10 + uint16(s[i]-'0')
	}
	return p
}

// parseLiteral recognises a relay that needs no DNS: "1.2.3.4", "[1.2.3.4]",
// "[::1]", "[IPv6:2001:db8::1]" (RFC 5321 §4.1.3). An IPv6 address with a
// zone is refused, and so is an IPv6 address without brackets (it cannot be
// written in netqmail's grammar anyway).
func parseLiteral(s string) (netip.Addr, bool) {
	inner := unbracket(s)
	a, err := netip.ParseAddr(inner)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	if inner == s && !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// unbracket removes the brackets of an address literal and an "IPv6:" tag
// (matched case-insensitively); other strings are returned unchanged.
func unbracket(s string) string {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return s
	}
	s = s[1 : len(s)-1]
	if len(s) >= 5 && strings.EqualFold(s[:5], "IPv6:") {
		s = s[5:]
	}
	return s
}

// Lookup returns the route for host (qmail-remote's first argument). Keys
// are tried from most to least specific: "a.b.test", ".b.test", ".test",
// then the empty key; the first hit wins and ok is true. A hit whose MX()
// is true ends the search: no less specific key is tried. Comparison is
// ASCII case-insensitive; host must be in A-labels to match a key written
// in Unicode. Lookup on a nil *Routes finds nothing.
func (r *Routes) Lookup(host string) (Route, bool) {
	if r == nil {
		return Route{}, false
	}
	for _, k := range suffixKeys(asciiLower(host), true) {
		if rt, ok := r.m[k]; ok {
			return rt, true
		}
	}
	return Route{}, false
}

// get returns the entry under the lower-cased key k; nil-safe.
func (r *Routes) get(k string) (Route, bool) {
	if r == nil {
		return Route{}, false
	}
	rt, ok := r.m[k]
	return rt, ok
}
