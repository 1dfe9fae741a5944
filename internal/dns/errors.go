package dns

import (
	"errors"
	"strings"
)

// ErrNotFound means the name does not exist: the server answered NXDOMAIN (RFC 2308 §2.1), or
// the name cannot be a DNS name at all (not convertible to ASCII, an empty label, too long).
// It is a hard failure: asking again will not help.
var ErrNotFound = errors.New("dns: no such domain")

// ErrTemporary means no usable answer was had: SERVFAIL, REFUSED or another error code from
// every server, timeouts, network errors, malformed or mismatched responses, a CNAME loop or
// an overlong CNAME chain. Asking again later may succeed.
var ErrTemporary = errors.New("dns: temporary failure")

// Error is the error of every lookup. Err wraps ErrNotFound or ErrTemporary (test with
// errors.Is) and, where there was one, the underlying cause (a *net.OpError,
// context.DeadlineExceeded...).
type Error struct {
	Name string // the name that was looked up, as the caller gave it
	Type string // the record type: "MX", "A", "AAAA", "TLSA"
	Err  error  // wraps ErrNotFound or ErrTemporary
}

// Error reads like "dns: lookup example.test MX: temporary failure: server failure".
func (e *Error) Error() string {
	cause := "unknown error"
	if e.Err != nil {
		cause = strings.TrimPrefix(e.Err.Error(), "dns: ")
	}
	return "dns: lookup " + e.Name + " " + e.Type + ": " + cause
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }
