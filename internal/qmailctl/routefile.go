package qmailctl

import (
	"net/netip"
	"strings"

	"github.com/mxout/mxout/internal/secret"
)

// routeFile describes one of the three route files: how its lines read and
// what they may hold.
type routeFile struct {
	name     string   // file name in the control directory
	proto    Protocol // protocol of its routes
	netqmail bool     // lines without ';' or '|' follow netqmail's grammar (smtproutes)
	auth     bool     // credentials allowed (not for QMTP, which has no AUTH)
	optOut   bool     // an empty value means "no entry": authsenders
}

var (
	smtpRoutesFile  = routeFile{name: "smtproutes", proto: ProtocolSMTP, netqmail: true, auth: true}
	qmtpRoutesFile  = routeFile{name: "qmtproutes", proto: ProtocolQMTP}
	authSendersFile = routeFile{name: "authsenders", proto: ProtocolSMTP, auth: true, optOut: true}
)

// parse builds Routes from the kept lines of the file. Lines without ':'
// are ignored and the later of two equal keys wins, as constmap does. A
// value in s/qmail syntax that does not parse is a *FileError naming the
// line; its Reason never quotes the line, which may hold a password.
func (f routeFile) parse(lines []line) (*Routes, error) {
	r := &Routes{m: make(map[string]Route, len(lines))}
	for _, l := range lines {
		key, value, ok := splitRouteKey(l.text)
		if !ok {
			continue
		}
		rt, reason := f.parseValue(value)
		if reason != "" {
			return nil, &FileError{File: f.name, Line: l.n, Reason: reason}
		}
		r.m[hostKey(key)] = rt
	}
	return r, nil
}

// parseSMTPRoutes parses control/smtproutes.
func parseSMTPRoutes(lines []line) (*Routes, error) { return smtpRoutesFile.parse(lines) }

// splitRouteKey splits a line into key and value at its first ':', as
// constmap does, except that a line starting with a bracketed literal
// followed by ':' ("[IPv6:2001:db8::1]:relay") keys on the whole literal, so
// an IPv6 host can be routed. netqmail would cut such a key at its first
// ':' into a key no host can match, so no working file changes meaning.
func splitRouteKey(s string) (key, value string, ok bool) {
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 && end+1 < len(s) && s[end+1] == ':' {
			return s[:end+1], s[end+2:], true
		}
	}
	return splitKey(s)
}

// parseValue parses one value. In smtproutes a value without ';' and '|'
// keeps netqmail's lenient meaning (parseRoute); every other value is
// s/qmail syntax, parsed strictly. reason is "" on success.
func (f routeFile) parseValue(value string) (Route, string) {
	if f.netqmail && !strings.ContainsAny(value, ";|") {
		return parseRoute(value), ""
	}
	rt := Route{Protocol: f.proto, Port: f.defaultPort()}
	if value == "" {
		rt.mx = true // MX lookup; for authsenders: this sender is not authenticated
		return rt, ""
	}
	hop, user, pass, local, reason := splitFields(value)
	if reason != "" {
		return Route{}, reason
	}
	if user != "" && !f.auth {
		return Route{}, "QMTP has no authentication: no user or password in qmtproutes"
	}
	rt.User, rt.Password = user, secret.New(pass)
	if local != "" {
		if rt.LocalIP, reason = parseLocalIP(local); reason != "" {
			return Route{}, reason
		}
	}
	relay, port, hasPort, reason := splitHop(hop)
	if reason != "" {
		return Route{}, reason
	}
	if relay == "" {
		return f.emptyRelay(rt, hasPort)
	}
	if rt.Relay, rt.Addr, reason = parseRelay(relay); reason != "" {
		return Route{}, reason
	}
	if hasPort {
		reason = rt.setPort(port)
	}
	return rt, reason
}

// emptyRelay finishes a value whose relay part is empty but which has more
// (a port, credentials, a local address). Only "||localip" makes sense
// there: deliver by MX from that address. Credentials would go to whatever
// MX answers, so they are refused.
func (f routeFile) emptyRelay(rt Route, hasPort bool) (Route, string) {
	switch {
	case f.optOut:
		return Route{}, "authsenders entry without relay"
	case hasPort:
		return Route{}, "port without relay"
	case rt.User != "":
		return Route{}, "credentials without relay (they would go to any MX)"
	}
	rt.mx = true
	return rt, ""
}

func (f routeFile) defaultPort() uint16 {
	if f.proto == ProtocolQMTP {
		return defaultQMTPPort
	}
	return defaultSMTPPort
}

// splitFields splits "hop|user|password|localip" (s/qmail 4.3 smtproutes).
// The manual's examples also write "hop||localip" (three fields, empty
// user), so with three fields an empty second field means the third is the
// local address. One '|' ("hop|user") is refused: s/qmail 3.x then reads a
// password from beyond the string. A password cannot hold '|'.
func splitFields(value string) (hop, user, pass, local, reason string) {
	f := strings.Split(value, "|")
	switch len(f) {
	case 1:
		return f[0], "", "", "", ""
	case 2:
		return "", "", "", "", "user without password: write relay|user|password"
	case 3:
		if f[1] == "" {
			return f[0], "", "", f[2], ""
		}
		hop, user, pass = f[0], f[1], f[2]
	case 4:
		hop, user, pass, local = f[0], f[1], f[2], f[3]
	default:
		return "", "", "", "", "more than four '|' fields (a password cannot hold '|')"
	}
	switch {
	case user == "" && pass != "":
		return "", "", "", "", "password without user"
	case user != "" && pass == "":
		return "", "", "", "", "user without password"
	case hasControl(user) || hasControl(pass):
		return "", "", "", "", "control character in user or password (CRLF line ends?)"
	}
	return hop, user, pass, local, ""
}

// hasControl reports whether s holds a byte below 0x20 or DEL.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// splitHop splits the part before the first '|' into relay and port. The
// port follows ';' (s/qmail) or ':' (netqmail, and the qmail TLS/AUTH
// patch's "relay:port|user|password"). A bracketed literal ends at its ']'.
// Otherwise ';' is looked for first, so a bare IPv6 relay works before ';'
// ("2001:db8::1;587"); without ';' the first ':' splits, and a bare IPv6
// relay then fails as a bad port instead of being misread.
func splitHop(hop string) (relay, port string, hasPort bool, reason string) {
	if strings.HasPrefix(hop, "[") {
		end := strings.IndexByte(hop, ']')
		if end < 0 {
			return "", "", false, "'[' without ']' in relay"
		}
		relay, rest := hop[:end+1], hop[end+1:]
		if rest == "" {
			return relay, "", false, ""
		}
		if rest[0] != ';' && rest[0] != ':' {
			return "", "", false, "text after ']' in relay"
		}
		return relay, rest[1:], true, ""
	}
	if relay, port, ok := strings.Cut(hop, ";"); ok {
		return relay, port, true, ""
	}
	relay, port, hasPort = strings.Cut(hop, ":")
	return relay, port, hasPort, ""
}

// parseRelay checks a relay written in s/qmail syntax and returns its name
// and, for an IP literal, its address: "[192.0.2.1]", "[IPv6:2001:db8::1]",
// "[2001:db8::1]", "192.0.2.1", "2001:db8::1" (bare only before ';'), or a
// host name of letters, digits, '-', '.', '_' and non-ASCII bytes.
func parseRelay(s string) (string, netip.Addr, string) {
	if s[0] == '[' {
		a, ok := parseLiteral(s)
		if !ok {
			return "", netip.Addr{}, "brackets around something that is not an IP address"
		}
		return unbracket(s), a, ""
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return "", netip.Addr{}, "zone in relay address"
		}
		return s, a, ""
	}
	if !isHostName(s) {
		return "", netip.Addr{}, "bad character in relay name (an IPv6 relay needs brackets or ';')"
	}
	return s, netip.Addr{}, ""
}

// isHostName reports whether s holds only letters, digits, '-', '.', '_'
// and bytes >= 0x80 (the character set tlsdestinations keys allow too).
func isHostName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 0x80 || c == '.' || c == '-' || c == '_' ||
			'0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !ok {
			return false
		}
	}
	return s != ""
}

// setPort parses "[s]port" of an s/qmail route: "" = the default port, "s"
// = implicit TLS on 465 (SMTP) or 6209 (QMTP), "sN" = implicit TLS on N,
// "N" = port N (1-65535), where 465 (SMTP) and 6209 (QMTP) also mean
// implicit TLS. Anything else is refused: s/qmail's scan_ulong would
// quietly take port 0 or the leading digits.
func (r *Route) setPort(s string) string {
	if rest, ok := strings.CutPrefix(s, "s"); ok {
		r.ImplicitTLS = true
		r.Port = tlsPort(r.Protocol)
		s = rest
	}
	if s == "" {
		return ""
	}
	n, ok := parsePortNumber(s)
	if !ok {
		return "bad port"
	}
	r.Port = n
	r.ImplicitTLS = r.ImplicitTLS || n == tlsPort(r.Protocol)
	return ""
}

// parsePortNumber parses decimal digits only, 1-65535.
func parsePortNumber(s string) (uint16, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		if n = n*10 + int(s[i]-'0'); n > 65535 {
			return 0, false
		}
	}
	return uint16(n), n > 0
}

// parseLocalIP parses a source address: IPv4 or IPv6, an IPv6 link-local
// address with its interface ("fe80::1%eth0", the interface is required:
// such an address cannot be bound without it). An interface on any other
// address is refused. reason is "" on success and never quotes s.
func parseLocalIP(s string) (netip.Addr, string) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, "bad local IP address"
	}
	switch {
	case a.Zone() != "" && !a.IsLinkLocalUnicast():
		return netip.Addr{}, "'%interface' on an address that is not IPv6 link-local"
	case a.Zone() == "" && a.Is6() && !a.Is4In6() && a.IsLinkLocalUnicast():
		return netip.Addr{}, "IPv6 link-local address without '%interface'"
	case hasControl(a.Zone()) || strings.ContainsAny(a.Zone(), " /"):
		return netip.Addr{}, "bad interface name"
	}
	return a, ""
}
