package deliver

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/mxout/mxout/internal/downgrade"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/qmtp"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/sasl"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// ConnectError says no address of the plan accepted a connection. Last is the last attempt's
// error (all of them are failures to connect).
type ConnectError struct {
	Peer netip.AddrPort
	Last error
}

func (e *ConnectError) Error() string {
	if !e.Peer.IsValid() { // a UNIX socket: the error names its path
		return fmt.Sprintf("deliver: no connection could be made (last: %v)", e.Last)
	}
	return fmt.Sprintf("deliver: no connection could be made (last: %s: %v)", e.Peer, e.Last)
}

func (e *ConnectError) Unwrap() error { return e.Last }

// classify turns any error the engine meets into an Outcome. It is the only place that maps
// errors to outcome kinds; the rules behind the kinds (class, code, duplicate risk) are
// package outcome's.
func classify(err error) outcome.Outcome {
	var (
		se *smtp.Error
		qe *qmtp.Error
		re *route.Error
		ce *ConnectError
		be *BindError
		pe *tlspolicy.Error
	)
	switch {
	case errors.As(err, &se):
		return classifySession(se)
	case errors.As(err, &qe):
		return classifyQMTP(qe)
	case errors.Is(err, route.ErrSourceAddress):
		return outcome.Local(outcome.Config, smtp.PhaseConnect, err.Error(), err)
	case errors.As(err, &be):
		return outcome.Local(outcome.Config, smtp.PhaseConnect, be.Error(), err)
	case errors.As(err, &re):
		return outcome.Local(routeKind(re.Kind), smtp.PhaseConnect, re.Error(), err)
	case errors.As(err, &ce):
		return outcome.Local(outcome.ConnectFailed, smtp.PhaseConnect, "connect: "+ce.Last.Error(), err)
	case errors.As(err, &pe):
		switch pe.Kind {
		case tlspolicy.KindTLSALookup:
			return outcome.Local(outcome.DNSTemporary, smtp.PhaseConnect, pe.Error(), err)
		case tlspolicy.KindMTASTS:
			// Reported only when no MX host was left to try (walkPlan): temporary, the
			// policy or the MX records may change (RFC 8461 §5).
			return outcome.Local(outcome.RouteFailed, smtp.PhaseConnect,
				"no MX host is allowed by the MTA-STS policy of the domain (last refused: "+pe.Subject+")", err)
		}
		return outcome.Local(outcome.Config, smtp.PhaseConnect, pe.Error(), err)
	}
	return outcome.Local(outcome.LocalError, smtp.PhaseConnect, err.Error(), err)
}

func routeKind(k route.ErrorKind) outcome.Kind {
	switch k {
	case route.KindNoHost:
		return outcome.NoHost
	case route.KindNoAddress:
		return outcome.NoAddress
	case route.KindLoop:
		return outcome.Loop
	case route.KindNullMX:
		return outcome.NullMX
	}
	return outcome.DNSTemporary
}

// classifyQMTP maps a failed QMTP session. QMTP phases are told in SMTP's terms: the package
// going out is PhaseBody, waiting for the responses after its last byte is PhaseDot (so the
// duplicate risk is the same rule), the QMTPS handshake is PhaseStartTLS.
func classifyQMTP(e *qmtp.Error) outcome.Outcome {
	p := smtp.PhaseBody
	switch e.Phase {
	case qmtp.PhaseTLS:
		p = smtp.PhaseStartTLS
	case qmtp.PhaseResponse:
		p = smtp.PhaseDot
	}
	var o outcome.Outcome
	switch {
	case errors.Is(e.Err, ErrQMTPNoTLS):
		o = outcome.Local(outcome.TLSUnavailable, p, "TLS is required but QMTP without TLS was configured", e)
	case errors.Is(e.Err, qmtp.ErrTLS):
		o = outcome.Local(outcome.TLSFailed, p, "QMTPS: "+e.Err.Error(), e)
	case errors.Is(e.Err, qmtp.ErrMessageRead):
		o = outcome.Local(outcome.MessageUnreadable, p, "cannot read the message: "+e.Err.Error(), e)
	case errors.Is(e.Err, qmtp.ErrProtocol):
		o = outcome.Local(outcome.ProtocolError, p, e.Error(), e)
	default:
		o = outcome.Local(outcome.ConnectionLost, p, e.Error(), e)
	}
	o.Protocol = "qmtp"
	return o
}

// classifySession maps a failed session step.
func classifySession(e *smtp.Error) outcome.Outcome {
	local := func(k outcome.Kind, text string) outcome.Outcome {
		return outcome.Local(k, e.Phase, text, e)
	}
	var ae *smtp.AuthError
	if errors.As(e.Err, &ae) {
		return classifyAuth(e, ae)
	}
	var de *downgrade.Error
	switch {
	case errors.Is(e.Err, smtp.ErrRequireTLS):
		return local(outcome.RequireTLS, "REQUIRETLS cannot be honoured: "+strings.TrimPrefix(e.Err.Error(), smtp.ErrRequireTLS.Error()+": "))
	case errors.Is(e.Err, smtp.ErrDSN):
		return local(outcome.BadJob, e.Err.Error())
	case errors.Is(e.Err, smtp.ErrSizeChanged):
		return local(outcome.MessageUnreadable, "the message changed while it was sent: "+e.Err.Error())
	case errors.Is(e.Err, smtp.ErrTooBig):
		return local(outcome.TooBig, "the message is larger than the server's SIZE limit")
	case errors.Is(e.Err, smtp.ErrNeedsSMTPUTF8):
		return local(outcome.NeedsSMTPUTF8, "the server does not offer SMTPUTF8, which the non-ASCII addresses need")
	case errors.Is(e.Err, smtp.ErrPartialLine):
		return local(outcome.PartialLine, "the message ends with a partial line")
	case errors.As(e.Err, &de):
		if de.Code() == "5.6.9" {
			return local(outcome.NeedsUTF8Header, "the server does not offer SMTPUTF8, which the message's header fields need: "+de.Error())
		}
		return local(outcome.Needs8Bit, "the message cannot be converted to 7 bits for a server without 8BITMIME: "+de.Error())
	case errors.Is(e.Err, smtp.ErrMessageRead):
		return local(outcome.MessageUnreadable, "cannot read the message: "+e.Err.Error())
	case errors.Is(e.Err, smtp.ErrAddress) && e.Phase == smtp.PhaseMail:
		return local(outcome.BadSender, "the sender address cannot be written as an SMTP path")
	case errors.Is(e.Err, smtp.ErrAddress):
		return local(outcome.BadRecipient, "the recipient address cannot be written as an SMTP path")
	case errors.Is(e.Err, smtp.ErrNoRecipients):
		return local(outcome.NoneAccepted, "no recipient was accepted")
	case errors.Is(e.Err, ErrTLSNotOffered):
		return local(outcome.TLSUnavailable, "TLS is required but the server does not offer STARTTLS")
	case errors.Is(e.Err, smtp.ErrTLS):
		return local(outcome.TLSFailed, "TLS: "+e.Err.Error())
	case errors.Is(e.Err, smtp.ErrReplyTooLong):
		o := local(outcome.ProtocolError, "reply too long")
		o.Reply = e.Reply
		return o
	case e.Reply != nil:
		return outcome.FromReply(e.Phase, *e.Reply, e)
	case errors.Is(e.Err, smtp.ErrTimeout):
		return local(outcome.ConnectionLost, "timed out "+e.Phase.String())
	}
	return local(outcome.ConnectionLost, "connection lost "+e.Phase.String())
}

// classifyAuth maps a failed AUTH exchange (docs/auth.md). A refusing reply is the server's
// word (temporary, as every refusal while the session is set up: the credentials are the
// operator's to mend), except 432, a password that must be changed, which s/qmail reports as
// permanent.
func classifyAuth(e *smtp.Error, ae *smtp.AuthError) outcome.Outcome {
	local := func(k outcome.Kind, text string) outcome.Outcome {
		o := outcome.Local(k, smtp.PhaseAuth, text, e)
		o.Reply = e.Reply
		return o
	}
	switch {
	case errors.Is(ae.Err, sasl.ErrPlainInClear):
		return local(outcome.AuthNeedsTLS, "AUTH would send the password without TLS: "+ae.Err.Error())
	case errors.Is(ae.Err, sasl.ErrServerSignature):
		return local(outcome.AuthUnverified, "AUTH: the server did not prove it knows the password")
	case errors.Is(ae.Err, sasl.ErrCredentials):
		return local(outcome.Config, "AUTH: unusable credentials: "+ae.Err.Error())
	case errors.Is(ae.Err, smtp.ErrAuthChallenge), errors.Is(ae.Err, sasl.ErrBadChallenge), errors.Is(ae.Err, sasl.ErrUnexpectedChallenge):
		return local(outcome.AuthChallenge, "AUTH: "+ae.Err.Error())
	case e.Reply != nil && e.Reply.Code == 432:
		return local(outcome.AuthExpired, "AUTH: the password must be changed")
	case e.Reply != nil:
		return outcome.FromReply(smtp.PhaseAuth, *e.Reply, e)
	case errors.Is(e.Err, smtp.ErrTimeout):
		return outcome.Local(outcome.ConnectionLost, smtp.PhaseAuth, "timed out "+smtp.PhaseAuth.String(), e)
	}
	return outcome.Local(outcome.ConnectionLost, smtp.PhaseAuth, "connection lost "+smtp.PhaseAuth.String(), e)
}

// stsRefused reports whether err is an MTA-STS policy refusing a host (tlspolicy.KindMTASTS).
func stsRefused(err error) bool {
	var pe *tlspolicy.Error
	return errors.As(err, &pe) && pe.Kind == tlspolicy.KindMTASTS
}
