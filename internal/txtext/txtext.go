// Package txtext is the extension grammar that the DNS TXT records of MTA-STS (RFC 8461 §3.1)
// and TLS-RPT (RFC 8460 §3) share, and that MTA-STS policies use for their extension keys
// (RFC 8461 §3.2): one definition for both parsers.
package txtext

// Name reports a valid extension name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".").
func Name(s string) bool {
	if len(s) == 0 || len(s) > 32 || !Alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !Alnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// Value reports a valid extension value: 1*(%x21-3A / %x3C / %x3E-7E), visible characters but
// ';' and '='.
func Value(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ';' || c == '=' {
			return false
		}
	}
	return true
}

// Alnum reports an ASCII letter or digit.
func Alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
