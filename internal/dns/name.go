package dns

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a name in presentation form without the final dot (RFC 1035 §2.3.4: 255 octets
// on the wire, which leaves 253 characters).
const (
	maxNameLen  = 253
	maxLabelLen = 63
)

var errBadName = errors.New("not a valid domain name") // a cause after ErrNotFound

// queryName turns a caller's name into the absolute ASCII name that is sent: one trailing dot
// is accepted and added if missing, and a name with non-ASCII characters is converted to its
// A-label form (RFC 5891 §5). A name that cannot be converted, has an empty label, is too long
// or holds a character other than a letter, digit, hyphen or underscore fails with an error
// wrapping ErrNotFound: such a name cannot exist, so it is a hard failure, not a temporary one.
//
// Why only letters, digits, hyphens and underscores: the names looked up here are mail
// domains, MX hosts and TLSA owners (_25._tcp.host). The price: a zone with other octets in its
// labels (legal in DNS, RFC 2181 §11) cannot be looked up through this package.
func queryName(name string) (string, error) {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "", badName()
	}
	if !isASCII(name) {
		a, ok := toASCII(name)
		if !ok {
			return "", badName()
		}
		name = a
	}
	if !validASCIIName(name) {
		return "", badName()
	}
	return name + ".", nil
}

func badName() error { return fmt.Errorf("%w: %w", ErrNotFound, errBadName) }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// validASCIIName reports whether name (without the final dot) has labels of 1 to 63
// characters from letters, digits, '-' and '_', and at most 253 characters in all.
func validASCIIName(name string) bool {
	if len(name) == 0 || len(name) > maxNameLen {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if len(label) == 0 || len(label) > maxLabelLen {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}

// toASCII converts a name with non-ASCII characters to A-labels (RFC 5890 §2.3.2.1).
//
// This is a reduced stand-in for golang.org/x/net/idna's Lookup profile, which needs the module
// golang.org/x/text that this module does not require yet. It maps the ideographic and
// fullwidth full stops to '.', fullwidth ASCII to ASCII and upper case to lower case (a subset
// of the UTS #46 mapping), accepts in a U-label only letters, marks, digits and hyphens, refuses
// a label that starts with a mark or has "--" in positions 3 and 4 (RFC 5891 §4.2.3.1,
// §4.2.3.2), and encodes with Punycode (RFC 3492 §6.3). The price: it does not normalise to NFC
// nor apply the IDNA2008 context and bidi rules, so a decomposed or unusual name is looked up
// in a form that the full profile would have changed or refused; that lookup then most likely
// ends in NXDOMAIN, a hard failure either way.
func toASCII(name string) (string, bool) {
	if !utf8.ValidString(name) {
		return "", false
	}
	name = strings.Map(mapRune, name)
	labels := strings.Split(name, ".")
	for i, label := range labels {
		if isASCII(label) {
			continue
		}
		a, ok := encodeULabel(label)
		if !ok {
			return "", false
		}
		labels[i] = a
	}
	return strings.Join(labels, "."), true
}

// mapRune is the part of the UTS #46 mapping that toASCII applies.
func mapRune(r rune) rune {
	switch {
	case r == '\u3002' || r == '\uff0e' || r == '\uff61': // ideographic, fullwidth, halfwidth full stops
		return '.'
	case r >= '\uff01' && r <= '\uff5e': // fullwidth ASCII
		r -= 0xfee0
	}
	return unicode.ToLower(r)
}

// encodeULabel checks one label that holds non-ASCII characters and returns its A-label.
func encodeULabel(label string) (string, bool) {
	runes := []rune(label)
	if len(runes) > maxLabelLen || unicode.IsMark(runes[0]) {
		return "", false
	}
	if runes[0] == '-' || runes[len(runes)-1] == '-' || len(runes) >= 4 && runes[2] == '-' && runes[3] == '-' {
		return "", false
	}
	for _, r := range runes {
		if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
			return "", false
		}
	}
	a := "xn--" + punycode(runes)
	return a, len(a) <= maxLabelLen
}

// Punycode parameters (RFC 3492 §5).
const (
	pcBase        = 36
	pcTMin        = 1
	pcTMax        = 26
	pcSkew        = 38
	pcDamp        = 700
	pcInitialBias = 72
	pcInitialN    = 128
)

// punycode encodes runes as in RFC 3492 §6.3. The callers keep len(runes) at most 63, so
// delta stays far below the overflow the RFC guards against.
func punycode(runes []rune) string {
	var out []byte
	for _, r := range runes {
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
		}
	}
	basic := len(out)
	if basic > 0 {
		out = append(out, '-')
	}
	n, delta, bias, handled := pcInitialN, 0, pcInitialBias, basic
	for handled < len(runes) {
		m := int(unicode.MaxRune) + 1
		for _, r := range runes {
			if int(r) >= n && int(r) < m {
				m = int(r)
			}
		}
		delta += (m - n) * (handled + 1)
		n = m
		for _, r := range runes {
			if int(r) < n {
				delta++
			}
			if int(r) != n {
				continue
			}
			out = appendVarint(out, delta, bias)
			bias = adapt(delta, handled+1, handled == basic)
			delta = 0
			handled++
		}
		delta++
		n++
	}
	return string(out)
}

// appendVarint appends q as a generalised variable-length integer (RFC 3492 §3.3).
func appendVarint(out []byte, q, bias int) []byte {
	for k := pcBase; ; k += pcBase {
		t := min(max(k-bias, pcTMin), pcTMax)
		if q < t {
			break
		}
		out = append(out, pcDigit(t+(q-t)%(pcBase-t)))
		q = (q - t) / (pcBase - t)
	}
	return append(out, pcDigit(q))
}

func pcDigit(d int) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}

// adapt is the bias adaptation function (RFC 3492 §6.1).
func adapt(delta, numPoints int, first bool) int {
	if first {
		delta /= pcDamp
	} else {
		delta /= 2
	}
	delta += delta / numPoints
	k := 0
	for delta > ((pcBase-pcTMin)*pcTMax)/2 {
		delta /= pcBase - pcTMin
		k += pcBase
	}
	return k + (pcBase-pcTMin+1)*delta/(delta+pcSkew)
}
