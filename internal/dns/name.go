package dns

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mxout/mxout/internal/idn"
)

// Limits of a name in presentation form without the final dot (RFC 1035 §2.3.4: 255 octets
// on the wire, which leaves 253 characters).
const (
	maxNameLen  = 253
	maxLabelLen = 63
)

var errBadName = errors.New("not a valid domain name") // a cause after ErrNotFound (ErrTemporary for TLSA)

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
		a, ok := idn.ToASCII(name)
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

func isASCII(s string) bool { return idn.IsASCII(s) }

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
