package sasl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mxout/mxout/internal/secret"
)

// Credentials are what a client authenticates with. Either Password or Token is set: a Token
// means OAuth 2.0 and only XOAUTH2 uses it (Password is then ignored); a Password serves every
// other mechanism. Printing a Credentials shows "***" for both secrets.
type Credentials struct {
	Username string
	// Password is the shared secret for PLAIN, LOGIN, CRAM-MD5 and SCRAM-SHA-256.
	Password secret.Secret
	// Token is an OAuth 2.0 access token for XOAUTH2.
	Token secret.Secret
	// Authzid is the identity to act as (PLAIN, SCRAM-SHA-256). Empty means the Username's own,
	// which is what almost every server expects. (s/qmail sends the envelope sender here for
	// PLAIN; that is the caller's choice to copy, see docs/auth.md.)
	Authzid string
}

// Mechanism is the client side of one SASL exchange. A Mechanism is used for one AUTH command
// only, from one goroutine, in this order: Start, then Next for each 334 challenge, then Finish
// once the server has said 235. All values are decoded octets; base64 is the smtp layer's job.
type Mechanism interface {
	// Start returns the name to send after AUTH and the initial response (RFC 4954 §4). A nil
	// initial response means none is sent (the server speaks first); an empty non-nil one must
	// be sent as "=".
	Start() (name string, initial []byte, err error)
	// Next answers one decoded 334 challenge. An error means the exchange must be cancelled
	// with "*" (RFC 4954 §4): the challenge was unexpected or not valid for the mechanism, or,
	// for SCRAM, the server failed to prove it knows the password.
	Next(challenge []byte) (response []byte, err error)
	// Finish checks the exchange is complete from the client's side after the server's 235.
	// Only SCRAM-SHA-256 can fail here: a server that says 235 before its signature was checked
	// has not authenticated itself, and the session must not be trusted (ErrServerSignature).
	Finish() error
}

// The errors of this package. Each error returned wraps exactly one of them, and says which
// mechanism and which step failed.
var (
	// ErrNoMechanism: the server offers none of the mechanisms the credentials can use.
	ErrNoMechanism = errors.New("sasl: no supported mechanism offered")
	// ErrPlainInClear: the only usable mechanisms (PLAIN, LOGIN, or XOAUTH2 for a token) would
	// send the secret itself on a connection without TLS, and the caller did not allow that.
	ErrPlainInClear = errors.New("sasl: refusing to send the password in clear without TLS")
	// ErrCredentials: the credentials cannot be sent by the mechanism (empty, or holding a
	// separator the mechanism uses, or rejected by SASLprep).
	ErrCredentials = errors.New("sasl: unusable credentials")
	// ErrUnexpectedChallenge: the server sent a challenge after the mechanism had said all it has.
	ErrUnexpectedChallenge = errors.New("sasl: unexpected challenge")
	// ErrBadChallenge: the challenge is not valid for the mechanism (SCRAM: malformed, a nonce
	// that does not extend ours, too few or too many iterations, or a server error "e=").
	ErrBadChallenge = errors.New("sasl: invalid challenge")
	// ErrServerSignature: the SCRAM server signature is wrong, malformed or was never sent.
	ErrServerSignature = errors.New("sasl: server signature not verified")
)

// mechError builds the error for mechanism name at step (1 for the first challenge, 0 for
// Start), wrapping kind.
func mechError(name string, step int, kind error, detail string) error {
	if detail != "" {
		detail = ": " + detail
	}
	return fmt.Errorf("%w: %s step %d%s", kind, name, step, detail)
}

// The mechanism names, as they appear in the EHLO AUTH keyword and the AUTH command.
const (
	NamePlain       = "PLAIN"
	NameLogin       = "LOGIN"
	NameCRAMMD5     = "CRAM-MD5"
	NameSCRAMSHA256 = "SCRAM-SHA-256"
	NameXOAUTH2     = "XOAUTH2"
)

// passwordPreference is the order Choose tries for a password, strongest first, whether or not
// TLS is on. SCRAM-SHA-256 proves the server knows the password and reveals nothing an
// eavesdropper can replay. CRAM-MD5 still keeps the password off the wire, which matters under
// TLS too: an opportunistic session is not verified, and a man in the middle would read a PLAIN
// password; its price is an offline dictionary attack on the captured digest, and servers that
// store passwords in clear. PLAIN (RFC 4616) comes before LOGIN because it is standardised and
// takes one round trip instead of two; both send the password itself.
var passwordPreference = []struct {
	name    string
	inClear bool // the password itself is on the wire
	make    func(Credentials) Mechanism
}{
	{NameSCRAMSHA256, false, func(c Credentials) Mechanism { return NewSCRAMSHA256(c) }},
	{NameCRAMMD5, false, func(c Credentials) Mechanism { return NewCRAMMD5(c) }},
	{NamePlain, true, func(c Credentials) Mechanism { return NewPlain(c) }},
	{NameLogin, true, func(c Credentials) Mechanism { return NewLogin(c) }},
}

// Choose picks the mechanism for creds among the names a server offered in its EHLO AUTH
// keyword (any case). With a Token it is XOAUTH2 or nothing; with a Password it is the first of
// SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN that is offered. PLAIN and LOGIN (and XOAUTH2, whose
// bearer token is as good as a password to whoever reads it) are used without TLS only when
// allowPlainInClear is set: an attacker can strip STARTTLS and advertise PLAIN. The error wraps
// ErrCredentials (no username, or neither secret), ErrPlainInClear (something usable was
// offered but only in clear), or ErrNoMechanism.
func Choose(offered []string, creds Credentials, tlsActive bool, allowPlainInClear bool) (Mechanism, error) {
	if creds.Username == "" {
		return nil, fmt.Errorf("%w: no username", ErrCredentials)
	}
	has := make(map[string]bool, len(offered))
	for _, o := range offered {
		has[strings.ToUpper(o)] = true
	}
	clearOK := tlsActive || allowPlainInClear
	if !creds.Token.IsZero() {
		switch {
		case !has[NameXOAUTH2]:
			return nil, fmt.Errorf("%w: have a token, server offers %q, want %s", ErrNoMechanism, offered, NameXOAUTH2)
		case !clearOK:
			return nil, fmt.Errorf("%w: %s", ErrPlainInClear, NameXOAUTH2)
		}
		return NewXOAUTH2(creds), nil
	}
	if creds.Password.IsZero() {
		return nil, fmt.Errorf("%w: neither a password nor a token", ErrCredentials)
	}
	refused := ""
	for _, p := range passwordPreference {
		if !has[p.name] {
			continue
		}
		if p.inClear && !clearOK {
			if refused == "" {
				refused = p.name
			}
			continue
		}
		return p.make(creds), nil
	}
	if refused != "" {
		return nil, fmt.Errorf("%w: %s", ErrPlainInClear, refused)
	}
	return nil, fmt.Errorf("%w: server offers %q", ErrNoMechanism, offered)
}

// Name returns the mechanism name m sends after AUTH ("" for a Mechanism not of this
// package), so that a failure before Start returned can still say which mechanism it was.
func Name(m Mechanism) string {
	switch m.(type) {
	case *plain:
		return NamePlain
	case *login:
		return NameLogin
	case *cramMD5:
		return NameCRAMMD5
	case *scramSHA256:
		return NameSCRAMSHA256
	case *xoauth2:
		return NameXOAUTH2
	}
	return ""
}
