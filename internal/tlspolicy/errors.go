package tlspolicy

import (
	"errors"
	"strconv"
)

// ErrorKind says which part of setting up a policy failed. The report
// package turns each kind into its own s/qmail report line.
type ErrorKind int

// The kinds of Error. Every one of them is a temporary failure of the hop.
const (
	KindCAFile      ErrorKind = iota // CA file or directory unreadable or without certificates; Subject is the path (a directory ends in "/")
	KindCiphers                      // cipher string Go cannot honour; Subject is the string
	KindClientCert                   // domaincerts certificate unreadable or unparsable; Subject is the certificate file
	KindClientKey                    // domaincerts key unreadable, undecryptable or unparsable; Subject is the key file (the certificate file when the key is inside it)
	KindKeyMismatch                  // domaincerts key does not belong to the certificate; Subject is the key file, never the password
	KindTLSALookup                   // the TLSA lookup failed (SERVFAIL, bogus); Subject is the server name
	KindUnsupported                  // the rule asks for something mxout does not do (QMTPS); Subject is the rule key
	KindMTASTS                       // the recipient domain's MTA-STS enforce policy does not allow this MX host (RFC 8461 §4.1); Subject is the host
)

var kindNames = [...]string{
	KindCAFile:      "cannot set up ca certificates",
	KindCiphers:     "cannot process tls ciphers",
	KindClientCert:  "cannot load client certificate",
	KindClientKey:   "cannot load client private key",
	KindKeyMismatch: "client private key does not match certificate",
	KindTLSALookup:  "tlsa lookup failed",
	KindUnsupported: "unsupported",
	KindMTASTS:      "mx host not allowed by the mta-sts policy",
}

// String describes the kind in lower case ("cannot process tls ciphers").
func (k ErrorKind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Error is a failure to build a Policy: the hop cannot be tried as
// configured. Decide returns it; the caller reports the hop as failed
// temporarily. Subject is what the kind documents (a file name, the cipher
// string, a rule key); it never holds a password. Err is the cause, or nil.
type Error struct {
	Kind    ErrorKind
	Subject string
	Err     error
}

// Error formats "tlspolicy: KIND: SUBJECT: ERR", leaving out empty parts.
func (e *Error) Error() string {
	s := "tlspolicy: " + e.Kind.String()
	if e.Subject != "" {
		s += ": " + e.Subject
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the failure is temporary. It always is: a
// broken local configuration or a failed lookup may be fixed before the
// message expires, as in Postfix, which defers on TLS setup errors.
func (e *Error) Temporary() bool { return true }

// Sentinels that handshake errors from a Config wrap, one per verification
// that can fail. Test them with errors.Is; the crypto/x509 or dane cause is
// wrapped as well.
var (
	// ErrCAVerify: the server's chain does not lead to a trusted root, or is
	// longer than the rule's verify depth allows.
	ErrCAVerify = errors.New("tlspolicy: certificate chain not verified")
	// ErrName: the chain verified, but the certificate is not for the
	// server's name.
	ErrName = errors.New("tlspolicy: certificate subject does not match the server name")
	// ErrPin: the certificate's fingerprint is not the pinned one.
	ErrPin = errors.New("tlspolicy: certificate does not match the pinned fingerprint")
	// ErrDANE: the certificate chain does not match the server's TLSA records
	// (RFC 7672 §2.2: the client must not deliver to this server).
	ErrDANE = errors.New("tlspolicy: certificate does not match the tlsa records")
	// ErrNoCertificate: the server sent no certificate, so nothing could be
	// verified.
	ErrNoCertificate = errors.New("tlspolicy: server sent no certificate")
)
