package smtp

import "strings"

// Path encodes an address for MAIL FROM:<...> or RCPT TO:<...> the way qmail-remote does
// (spec/qmail-control-files.md, address encoding): split at the last '@'; without an '@' the
// address goes out as it is; the local part is quoted (RFC 5321 §4.1.2 Quoted-string, with '"'
// and '\' escaped) when it is empty or is not a dot-atom. The domain is copied unchanged.
//
// With utf8 set (SMTPUTF8 declared), bytes from 0x80 up count as atext (RFC 6531 §3.3), so a
// UTF-8 local part is not quoted; without it they force quoting, as in the reference.
//
// Callers must reject addresses that cannot be carried first (ValidAddress, ValidRecipient):
// CR, LF or NUL would end the command line early, and '>' or a space in the unquoted part would
// end the path.
func Path(addr string, utf8 bool) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	local, domain := addr[:at], addr[at+1:]
	if isDotAtom(local, utf8) {
		return addr
	}
	var b strings.Builder
	b.Grow(len(addr) + 4)
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c == '"' || c == '\\' || c == '\r' || c == '\n' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteString(`"@`)
	b.WriteString(domain)
	return b.String()
}

// ValidAddress reports whether an address can be written as an RFC 5321 path that cannot break
// out of its angle brackets (qmail-remote contract, decision 13): no CR, LF or NUL anywhere (they
// would end the command line), and no '<', '>', space or other control byte in the part Path
// leaves unquoted: the domain, or the whole address when it has no '@'. Otherwise the sender
// "x@example.net> RET=HDRS" would go out as "MAIL FROM:<x@example.net> RET=HDRS>", parameters
// chosen by whoever wrote the address. A local part that is not a dot-atom is quoted by Path, so
// any other byte is safe there.
func ValidAddress(addr string) bool {
	if strings.ContainsAny(addr, "\r\n\x00") {
		return false
	}
	unquoted := addr
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		unquoted = addr[at+1:]
	}
	for i := 0; i < len(unquoted); i++ {
		if c := unquoted[i]; c <= ' ' || c == 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// ValidRecipient is ValidAddress for a forward path, which also needs an '@': a recipient
// without a domain is not a mailbox (RFC 5321 §4.1.2), and Path would quote nothing of it.
func ValidRecipient(addr string) bool {
	return strings.IndexByte(addr, '@') >= 0 && ValidAddress(addr)
}

// ASCII reports whether s has no byte from 0x80 up.
func ASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isDotAtom: one or more runs of atext separated by single dots (RFC 5321 §4.1.2).
func isDotAtom(s string, utf8 bool) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' || isAtext(c) || (utf8 && c >= 0x80) {
			continue
		}
		return false
	}
	return true
}

// isAtext: RFC 5322 §3.2.3 atext, the ASCII set qmail's quote.c also uses.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}
