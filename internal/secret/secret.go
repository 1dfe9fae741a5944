// Package secret holds the one type for passwords and tokens (control files, --auth-file,
// SASL credentials). A Secret cannot be printed by accident: every way Go prints or encodes a
// value shows a fixed mark instead, so a route, credentials or an error that holds one can be
// logged whole. The value comes out only through Reveal, at the one place it goes on the wire.
package secret

import (
	"fmt"
	"io"
	"log/slog"
)

// Redacted is what a non-empty Secret prints as.
const Redacted = "[redacted]"

// Secret is a password or a token. fmt (every verb, %#v included), log/slog and
// encoding/json (through MarshalText) show Redacted, or "" when the secret is empty, so that
// a log still says whether one was set. The zero value is the empty secret. A struct (not a
// string type) so that no conversion can read it by mistake.
type Secret struct {
	s string
}

// New wraps s.
func New(s string) Secret { return Secret{s: s} }

// Reveal returns the secret itself: for the mechanism that sends it (or a value derived from
// it) and nothing that logs.
func (s Secret) Reveal() string { return s.s }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.s == "" }

// String returns Redacted, or "" for the empty secret.
func (s Secret) String() string {
	if s.s == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v (also of a struct holding a Secret) from showing the value.
func (s Secret) GoString() string { return fmt.Sprintf("secret.Secret(%q)", s.String()) }

// Format prints String for every verb, so neither %s, %q, %x nor %v (also inside a struct
// printed with %+v) can show the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	io.WriteString(f, s.String())
}

// LogValue makes log/slog print String.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText makes encoding/json, encoding/xml and similar encoders write String.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
