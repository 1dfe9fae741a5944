package smtp

import (
	"errors"
	"fmt"
	"net/netip"
)

// Phase names the step of a session a command or reply belongs to. Phases are data: the report
// formats and the orchestrator decide by them, and each has its own deadline.
type Phase int

// The phases of an SMTP session, in order.
const (
	PhaseConnect  Phase = iota // dialling the server
	PhaseGreeting              // waiting for the 220 greeting
	PhaseHello                 // EHLO, then HELO if EHLO is refused
	PhaseStartTLS              // STARTTLS and the handshake
	PhaseAuth                  // AUTH
	PhaseMail                  // MAIL FROM
	PhaseRcpt                  // RCPT TO
	PhaseData                  // DATA, up to the 354
	PhaseBody                  // sending the message text and the final dot
	PhaseDot                   // the final dot went out: reading its reply
	PhaseQuit                  // QUIT
)

var phaseNames = [...]string{
	PhaseConnect:  "connecting",
	PhaseGreeting: "receiving the greeting",
	PhaseHello:    "sending EHLO/HELO",
	PhaseStartTLS: "sending STARTTLS",
	PhaseAuth:     "authenticating",
	PhaseMail:     "sending MAIL FROM",
	PhaseRcpt:     "sending RCPT TO",
	PhaseData:     "sending DATA",
	PhaseBody:     "sending the message",
	PhaseDot:      "sending end of data (message may be delivered twice)",
	PhaseQuit:     "sending QUIT",
}

// String says what the client was doing, in the words an error message needs.
func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return fmt.Sprintf("phase %d", int(p))
	}
	return phaseNames[p]
}

// Sentinel causes carried by Error.Err. Callers test them with errors.Is.
var (
	// ErrTimeout: the phase's deadline passed before the server answered or took the data.
	ErrTimeout = errors.New("smtp: timed out")
	// ErrConnection: the connection was closed or broke (EOF, reset, a short final line).
	ErrConnection = errors.New("smtp: connection lost")
	// ErrBotched: an earlier failure left the connection out of step; it must not be used.
	ErrBotched = errors.New("smtp: connection unusable after an earlier error")
	// ErrReply: the server answered with a reply that is not the success the phase needs.
	ErrReply = errors.New("smtp: unwanted reply")
	// ErrNoRecipients: no RCPT TO was accepted, so no message was sent.
	ErrNoRecipients = errors.New("smtp: no recipient accepted")
	// ErrTooBig: the message is larger than the SIZE the server announced (RFC 1870 §6).
	ErrTooBig = errors.New("smtp: message larger than the server's SIZE limit")
	// ErrNeedsSMTPUTF8: an address is not ASCII and the server does not offer SMTPUTF8 (RFC 6531 §3.4).
	ErrNeedsSMTPUTF8 = errors.New("smtp: non-ASCII address but the server does not offer SMTPUTF8")
	// ErrPartialLine: the message does not end with a line ending; SMTP cannot carry it.
	ErrPartialLine = errors.New("smtp: message ends with a partial line")
	// ErrMessageRead: the message itself could not be read (a local failure, not the server's).
	ErrMessageRead = errors.New("smtp: cannot read the message")
	// ErrUnsolicited: the server sent something no command asked for: bytes after its 354 to
	// DATA, or a reply while the message text was being written (decision 12). Error.Reply
	// quotes what came, with Code 0. The session is out of step and is never a success.
	ErrUnsolicited = errors.New("smtp: the server sent what no command asked for")
	// ErrAddress: an address cannot be written as an SMTP path: it holds CR, LF or NUL, or a
	// '<', '>', space or control byte outside the quoted local part, or a recipient has no '@'.
	ErrAddress = errors.New("smtp: address cannot be sent")
	// ErrRequireTLS: the message asks for REQUIRETLS (RFC 8689) and this server or session cannot
	// honour it (REQUIRETLS not offered, or the TLS session not verified). Permanent: 5.7.30.
	ErrRequireTLS = errors.New("smtp: REQUIRETLS is required but this session cannot honour it")
)

// Error describes a failed step of a session. Reply is set when the server answered; it is nil
// for I/O failures, timeouts and local refusals.
type Error struct {
	Phase Phase
	Peer  netip.AddrPort // the server
	Reply *Reply
	Err   error // a sentinel above, possibly wrapping the I/O error
}

// Error reads like "smtp: 192.0.2.1:25: sending RCPT TO: 550 5.1.1 no such user".
func (e *Error) Error() string {
	s := "smtp: " + e.Peer.String() + ": " + e.Phase.String()
	if e.Reply != nil {
		s += ": " + e.Reply.String()
		if e.Err != nil && !errors.Is(e.Err, ErrReply) {
			s += " (" + e.Err.Error() + ")"
		}
		return s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary is the one place the class of a session error is decided: only a real 5xx reply
// makes a failure permanent. No reply, a 4xx, a malformed reply or a wrong-class reply is
// temporary (retrying later is the safe choice); local refusals say their own class.
func (e *Error) Temporary() bool {
	switch {
	case errors.Is(e.Err, ErrTooBig), errors.Is(e.Err, ErrNeedsSMTPUTF8),
		errors.Is(e.Err, ErrPartialLine), errors.Is(e.Err, ErrAddress),
		errors.Is(e.Err, ErrRequireTLS), errors.Is(e.Err, ErrDSN):
		return false
	case errors.Is(e.Err, ErrUnsolicited):
		return true // whatever it said, it answered no command
	case e.Reply != nil:
		return e.Reply.Class() != 5
	}
	return true
}

// MaybeDelivered reports the duplicate risk: the final dot was handed to the network (its write
// succeeded) and no valid reply proved what became of it (decision 10): none, or a malformed or
// over-long one. It states outcome.DuplicateRisk's rule for callers of this package alone; the
// reports use that one.
func (e *Error) MaybeDelivered() bool {
	return e.Phase == PhaseDot && (e.Reply == nil || e.Reply.Malformed())
}

// ioError classifies a read or write failure in phase p as ErrTimeout or ErrConnection,
// keeping the underlying error for the message.
func ioError(p Phase, peer netip.AddrPort, err error) *Error {
	kind := ErrConnection
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		kind = ErrTimeout
	}
	if errors.Is(err, ErrReplyTooLong) {
		kind = ErrReplyTooLong
	}
	return &Error{Phase: p, Peer: peer, Err: fmt.Errorf("%w: %w", kind, err)}
}
