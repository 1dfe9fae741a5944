// Package idn converts internationalised domain names to their ASCII form (A-labels, RFC 5890
// §2.3.2.1) with one profile for the whole program, so that a name compares, is looked up and
// is sent in SNI the same way wherever it comes from: the host argument, smtproutes or
// tlsdestinations keys, DNS lookups. It must not know DNS queries or control files.
package idn

import (
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ToASCII returns name with every label in A-label form (RFC 5891 §5), using the IDNA2008
// lookup profile of golang.org/x/net/idna (UTS #46 mapping, which also lower-cases, NFC, the
// context and bidi rules). A name that is already all ASCII is returned unchanged, case and a
// final dot included, with ok true: ASCII names are not IDNA's business here (they may hold
// '_' as in "_25._tcp.mx", which IDNA would refuse). ok is false when name is not valid UTF-8
// or IDNA refuses it; out is then "".
func ToASCII(name string) (out string, ok bool) {
	if IsASCII(name) {
		return name, true
	}
	if !utf8.ValidString(name) {
		return "", false
	}
	a, err := idna.Lookup.ToASCII(name)
	if err != nil {
		return "", false
	}
	return a, true
}

// Host returns the A-label form of a host name for lookups, rule matches and SNI, or host itself
// when it cannot be converted: such a name then fails where it is used (DNS refuses it without
// sending a query), exactly as it did before conversion existed.
func Host(host string) string {
	if a, ok := ToASCII(host); ok {
		return a
	}
	return host
}

// IsASCII reports whether s has only bytes below 0x80.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
