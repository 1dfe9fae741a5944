package deliver

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/route"
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
	return fmt.Sprintf("deliver: no connection could be made (last: %s: %v)", e.Peer, e.Last)
}

func (e *ConnectError) Unwrap() error { return e.Last }

// classify turns any error the engine meets into an Outcome. It is the only place that maps
// errors to outcome kinds; the rules behind the kinds (class, code, duplicate risk) are
// package outcome's.
func classify(err error) outcome.Outcome {
	var (
		se *smtp.Error
		re *route.Error
		ce *ConnectError
		pe *tlspolicy.Error
	)
	switch {
	case errors.As(err, &se):
		return classifySession(se)
	case errors.As(err, &re):
		return outcome.Local(routeKind(re.Kind), smtp.PhaseConnect, re.Error(), err)
	case errors.As(err, &ce):
		return outcome.Local(outcome.ConnectFailed, smtp.PhaseConnect, "connect: "+ce.Last.Error(), err)
	case errors.As(err, &pe):
		if pe.Kind == tlspolicy.KindTLSALookup {
			return outcome.Local(outcome.DNSTemporary, smtp.PhaseConnect, pe.Error(), err)
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

// classifySession maps a failed session step.
func classifySession(e *smtp.Error) outcome.Outcome {
	local := func(k outcome.Kind, text string) outcome.Outcome {
		return outcome.Local(k, e.Phase, text, e)
	}
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
