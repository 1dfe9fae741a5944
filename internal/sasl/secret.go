package sasl

import (
	"fmt"
	"log/slog"
)

// redacted is what every printed form of a Secret shows.
const redacted = "***"

// Secret is a password or a token. Its only way out is Reveal; fmt (every verb, %#v included),
// log/slog and encoding/json (an empty object) never show it. The zero value is the empty
// secret.
type Secret struct {
	s string
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{s: s} }

// Reveal returns the secret itself, for the mechanism that must send it (or a value derived
// from it). Nothing that logs should call it.
func (s Secret) Reveal() string { return s.s }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.s == "" }

// String returns "***".
func (s Secret) String() string { return redacted }

// GoString returns "***", so %#v of a struct holding a Secret does not show it.
func (s Secret) GoString() string { return redacted }

// Format prints "***" for every verb, including %x and %q, which would otherwise bypass String.
func (s Secret) Format(f fmt.State, verb rune) { f.Write([]byte(redacted)) }

// LogValue makes log/slog print "***".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText makes encoding/json, encoding/xml and friends write "***".
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
