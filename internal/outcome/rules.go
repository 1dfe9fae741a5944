package outcome

import (
	"strings"

	"github.com/mxout/mxout/internal/smtp"
)

// This file is the one place where the class of a failure, its enhanced status code and the
// duplicate risk are decided. The engine turns each error it meets into one of the calls
// below; the front ends only read the Outcomes.

// Kind names a failure decided without a server reply that decides it, each with its fixed
// status and enhanced code (the table kinds below).
type Kind int

// The local failure kinds. Their codes are RFC 3463's (and RFC 5248's registry), chosen as
// Postfix's smtp(8) chooses for the same condition where it has one.
const (
	NoHost            Kind = iota + 1 // the domain or relay does not exist (NXDOMAIN)
	DNSTemporary                      // a lookup failed for now (SERVFAIL, timeout)
	NoAddress                         // no MX host or address to connect to
	Loop                              // this machine is the best MX
	NullMX                            // the domain publishes a null MX (RFC 7505)
	ConnectFailed                     // no address accepted a connection
	ConnectionLost                    // the connection broke or a read/write timed out
	ProtocolError                     // the server broke the protocol: malformed, out of turn, too long
	TLSUnavailable                    // TLS is required but the server does not offer it (or refuses STARTTLS)
	TLSFailed                         // the TLS handshake or the verification of the server failed
	TooBig                            // larger than the server's SIZE
	NeedsSMTPUTF8                     // a non-ASCII address and no SMTPUTF8
	Needs8Bit                         // 8-bit headers for a 7-bit server without SMTPUTF8: no downgrade possible
	NeedsUTF8Header                   // UTF-8 header fields only SMTPUTF8 could carry (RFC 6531's X.6.9)
	PartialLine                       // the message does not end with a line ending
	BadRecipient                      // a recipient that cannot be written as an RFC 5321 path
	BadSender                         // a sender that cannot be written as an RFC 5321 path
	MessageUnreadable                 // the message could not be read here
	Config                            // local configuration error (control file, certificate)
	RequireTLS                        // REQUIRETLS cannot be honoured by this server (RFC 8689)
	Interrupted                       // stopped before the message was tried (shutdown)
	NoFile                            // transport job: the message file is missing
	BadJob                            // transport job: the job line is malformed
	RouteFailed                       // MTA-STS or another policy allowed no hop
	NoneAccepted                      // every recipient was refused at RCPT TO (each has its own Outcome)
	LocalError                        // anything else that went wrong here
	AuthNeedsTLS                      // AUTH would send the password in clear and the route does not allow it
	AuthUnverified                    // SCRAM: the server did not prove it knows the password
	AuthExpired                       // AUTH answered 432: the password must be changed (RFC 4954 §6)
	AuthChallenge                     // AUTH: a challenge that is not base64 or that the mechanism refuses
)

var kinds = map[Kind]struct {
	status Status
	dsn    string
}{
	NoHost:            {Failed, "5.1.2"},
	DNSTemporary:      {Deferred, "4.4.3"},
	NoAddress:         {Failed, "5.4.4"},
	Loop:              {Failed, "5.4.6"},
	NullMX:            {Failed, "5.1.10"},
	ConnectFailed:     {Deferred, "4.4.1"},
	ConnectionLost:    {Deferred, "4.4.2"},
	ProtocolError:     {Deferred, "4.5.0"},
	TLSUnavailable:    {Deferred, "4.7.4"},
	TLSFailed:         {Deferred, "4.7.5"},
	TooBig:            {Failed, "5.3.4"},
	NeedsSMTPUTF8:     {Failed, "5.6.7"},
	Needs8Bit:         {Failed, "5.6.3"},
	NeedsUTF8Header:   {Failed, "5.6.9"},
	PartialLine:       {Failed, "5.6.2"},
	BadRecipient:      {Failed, "5.1.3"},
	BadSender:         {Failed, "5.1.7"},
	MessageUnreadable: {Deferred, "4.3.0"},
	Config:            {Deferred, "4.3.5"},
	RequireTLS:        {Failed, "5.7.30"},
	Interrupted:       {Deferred, "4.3.2"},
	NoFile:            {Failed, "5.3.0"},
	BadJob:            {Failed, "5.6.0"},
	RouteFailed:       {Deferred, "4.4.4"},
	NoneAccepted:      {Failed, "5.0.0"},
	LocalError:        {Deferred, "4.3.0"},
	AuthNeedsTLS:      {Deferred, "4.7.11"}, // encryption required for the requested mechanism (RFC 4954 §6)
	AuthUnverified:    {Deferred, "4.7.0"},
	AuthExpired:       {Failed, "5.7.12"}, // permanent, as s/qmail's "D...password expired": a human must act
	AuthChallenge:     {Deferred, "4.5.0"},
}

// Local is the Outcome of a failure of kind k decided without a reply. text says what happened
// and where; p is the phase the session was in (smtp.PhaseConnect before any session). A lost
// connection in the dot phase carries the duplicate risk.
func Local(k Kind, p smtp.Phase, text string, err error) Outcome {
	c, ok := kinds[k]
	if !ok {
		c.status, c.dsn = Deferred, "4.0.0"
	}
	return Outcome{
		Status: c.status, DSN: c.dsn, Phase: p, Local: text, Err: err,
		DuplicateRisk: DuplicateRisk(p, nil),
	}
}

// FromReply is the Outcome decided by the server's reply r in phase p: the reply to RCPT TO
// that refused a recipient, or the reply that ended the transaction (MAIL, DATA, the final
// dot; LMTP's per-recipient reply after the dot). Only a well-formed 2xx to the final dot is a
// delivery; a 5xx is permanent, except while the session is being set up (greeting, EHLO,
// STARTTLS); everything else, a 4xx, a malformed reply or one of the wrong
// class, is temporary (retrying later is the safe choice). err is the cause kept for logs.
// A reply that came out of turn is not decided here: it is a Local ProtocolError.
func FromReply(p smtp.Phase, r smtp.Reply, err error) Outcome {
	o := Outcome{Phase: p, Reply: &r, Err: err, DSN: DSN(p, r), Status: Deferred}
	switch {
	case r.Positive() && p == smtp.PhaseDot:
		o.Status = Delivered
	case r.Positive():
		o.DSN = "4.5.0" // a 2xx where it cannot count, e.g. to DATA: the server is out of step
	case r.Class() == 5 && sessionSetup(p):
		// Refused before any transaction: another server (or a later try) may take it, and
		// qmail-remote never bounces here either. The code keeps its detail, class 4.
		o.DSN = "4" + o.DSN[1:]
	case r.Class() == 5:
		o.Status = Failed
	}
	o.DuplicateRisk = DuplicateRisk(p, &r)
	return o
}

// sessionSetup reports the phases before a transaction starts, where no refusal is permanent.
func sessionSetup(p smtp.Phase) bool {
	return p == smtp.PhaseConnect || p == smtp.PhaseGreeting || p == smtp.PhaseHello || p == smtp.PhaseStartTLS ||
		p == smtp.PhaseAuth // a refused AUTH: the operator's credentials, not the message (s/qmail: Z)
}

// DuplicateRisk is the rule for a possible duplicate: the final dot was handed to the network
// and no valid reply came back (none at all, a malformed one, or one too long to read).
func DuplicateRisk(p smtp.Phase, r *smtp.Reply) bool {
	return p == smtp.PhaseDot && (r == nil || r.Malformed())
}

// DSN is the enhanced status code for reply r in phase p: the server's own when it sent one
// that agrees with the reply's class (RFC 3463 §2, RFC 2034), else one derived from the reply
// code and the phase. A malformed or wrong-class reply is a protocol error, 4.5.0.
func DSN(p smtp.Phase, r smtp.Reply) string {
	if e := r.Enhanced(); e != "" {
		return e
	}
	class := r.Class()
	if class != 2 && class != 4 && class != 5 {
		return "4.5.0"
	}
	if d, ok := byCode(p, r.Code); ok {
		return d
	}
	return string(rune('0'+class)) + ".0.0"
}

// byCode derives an enhanced code from a basic reply code where the code says more than its
// class (RFC 5321 §4.2.2 and §4.2.3, RFC 4954 §6 for AUTH, RFC 3463 §3 for the meanings).
func byCode(p smtp.Phase, code int) (string, bool) {
	switch code {
	case 421:
		return "4.3.2", true // service not available, closing the channel
	case 450:
		return "4.2.0", true // mailbox unavailable
	case 451:
		return "4.3.0", true // local error in processing
	case 452:
		if p == smtp.PhaseRcpt {
			return "4.5.3", true // too many recipients (RFC 5321 §4.5.3.1.10)
		}
		return "4.3.1", true // insufficient system storage
	case 454:
		return "4.7.0", true // TLS not available / temporary authentication failure
	case 500:
		return "5.5.2", true // syntax error, command unrecognised
	case 501:
		return "5.5.4", true // syntax error in parameters
	case 502, 503:
		return "5.5.1", true // command not implemented, bad sequence
	case 504:
		return "5.5.4", true // parameter not implemented
	case 530:
		return "5.7.0", true // authentication required
	case 534:
		return "5.7.9", true // mechanism too weak
	case 535:
		return "5.7.8", true // authentication credentials invalid
	case 550:
		if p == smtp.PhaseRcpt {
			return "5.1.1", true // mailbox unavailable: for a recipient, most often unknown
		}
	case 551:
		return "5.1.6", true // user not local
	case 552:
		if p == smtp.PhaseRcpt {
			return "5.2.2", true // mailbox full
		}
		return "5.3.4", true // message too big
	case 553:
		if p == smtp.PhaseMail {
			return "5.1.7", true // bad sender mailbox syntax
		}
		return "5.1.3", true // mailbox name not allowed
	case 554:
		if p == smtp.PhaseDot || p == smtp.PhaseData {
			return "5.6.0", true // transaction failed: content refused
		}
	}
	return "", false
}

// UserUnknown reports whether a DSN code is in the 5.1.x family (addressing: unknown user,
// unknown domain), which sysexits reports as EX_NOUSER.
func UserUnknown(dsn string) bool { return strings.HasPrefix(dsn, "5.1.") }
