package qmailctl

import (
	"fmt"
	"io"
	"log/slog"
)

// Secret holds a password from a control file (authsenders, smtproutes).
// Every way of printing it (fmt with any verb, %#v included, log/slog,
// encoding/json and other text marshalers) shows "[redacted]" instead of
// the value, or nothing when it is empty, so a Route can be logged or put in
// an error whole. Only Reveal gives the value; call it where the password
// goes on the wire (SMTP AUTH) and nowhere else.
type Secret string

// redacted is what a non-empty Secret prints as.
const redacted = "[redacted]"

// Reveal returns the password itself.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]", or "" when no password is set.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return fmt.Sprintf("qmailctl.Secret(%q)", s.String()) }

// Format prints String for every verb, so neither %s, %q, %x nor %v (also
// inside a struct printed with %+v) can show the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	io.WriteString(f, s.String())
}

// LogValue makes log/slog print String.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText makes encoding/json and similar encoders write String.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
