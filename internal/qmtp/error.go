package qmtp

import (
	"errors"
	"fmt"
	"net/netip"
)

// Phase names the step of a QMTP session that failed. Phases are data: the caller decides by them
// (above all, whether the message may have been delivered).
type Phase int

// The phases of a QMTP session, in order.
const (
	PhaseTLS      Phase = iota // the QMTPS handshake (HandshakeTLS)
	PhaseSend                  // sending the package: message, sender, recipients
	PhaseResponse              // reading the responses, after the package's last byte was sent
)

var phaseNames = [...]string{
	PhaseTLS:      "negotiating TLS",
	PhaseSend:     "sending the message",
	PhaseResponse: "reading the responses (message may be delivered twice)",
}

// String says what the client was doing, in the words an error message needs.
func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return fmt.Sprintf("phase %d", int(p))
	}
	return phaseNames[p]
}

// Sentinel causes carried by Error.Err (besides ErrProtocol). Callers test them with errors.Is.
var (
	// ErrTimeout: the deadline passed before the server took the data or answered.
	ErrTimeout = errors.New("qmtp: timed out")
	// ErrConnection: the connection was closed or broke (EOF, reset).
	ErrConnection = errors.New("qmtp: connection lost")
	// ErrBotched: an earlier failure left the connection out of step; it must not be used.
	ErrBotched = errors.New("qmtp: connection unusable after an earlier error")
	// ErrNoRecipients: Send was called without a recipient; QMTP needs at least one (qmtp.txt §4).
	ErrNoRecipients = errors.New("qmtp: no recipients")
	// ErrMessageRead: the message could not be read, or changed between the two readings (a local
	// failure, not the server's). The package was not completed, so nothing was delivered.
	ErrMessageRead = errors.New("qmtp: cannot read the message")
	// ErrTLS: the QMTPS handshake failed; the cause is wrapped.
	ErrTLS = errors.New("qmtp: tls handshake failed")
)

// Error describes a failed step of a session. Responses that were read before the failure are
// returned by Send beside it, never inside it.
type Error struct {
	Phase Phase
	Peer  netip.AddrPort // the server
	// Index is, in PhaseResponse, the position (from 0) of the recipient whose response was not
	// read: the responses of recipients before it were read and returned.
	Index int
	Err   error // a sentinel above or ErrProtocol, possibly wrapping the cause
}

// Error reads like "qmtp: 192.0.2.1:209: reading the responses (message may be delivered twice):
// response 2: qmtp: connection lost: EOF".
func (e *Error) Error() string {
	s := "qmtp: " + e.Peer.String() + ": " + e.Phase.String()
	if e.Phase == PhaseResponse {
		s += fmt.Sprintf(": response %d", e.Index+1)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary is the class of a session failure: every failure without a response is temporary
// (retrying later is the safe choice), except ErrNoRecipients, a caller's mistake that a retry
// cannot mend. Permanent outcomes come only as D responses.
func (e *Error) Temporary() bool { return !errors.Is(e.Err, ErrNoRecipients) }

// MaybeDelivered reports the duplicate risk: the package's last byte was handed to the network,
// so the server may have taken the message for the recipients whose response is missing. Before
// that byte the server must discard the package (qmtp.txt §2).
func (e *Error) MaybeDelivered() bool { return e.Phase == PhaseResponse }

// ioError classifies a read or write failure in phase p as ErrTimeout or ErrConnection, keeping
// the underlying error for the message. Protocol errors keep ErrProtocol.
func ioError(p Phase, peer netip.AddrPort, err error) *Error {
	if errors.Is(err, ErrProtocol) {
		return &Error{Phase: p, Peer: peer, Err: err}
	}
	kind := ErrConnection
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		kind = ErrTimeout
	}
	return &Error{Phase: p, Peer: peer, Err: fmt.Errorf("%w: %w", kind, err)}
}
