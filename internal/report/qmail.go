package report

import (
	"errors"
	"strings"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/qmailctl"
	"github.com/mxout/mxout/internal/qmtp"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// maxSaid bounds the quoted server text, as the reference does (its HUGESMTPTEXT).
const maxSaid = 5000

// Fixed message reports that do not depend on a result; the cmd layer prints them for
// failures before any delivery starts. Texts as in the reference (notqmail).
const (
	Usage       = "DI (qmail-remote) was invoked improperly. (#5.3.5)\n"
	NoHome      = "ZUnable to switch to home directory. (#4.3.0)\n"
	NoControl   = "ZUnable to read control files. (#4.3.0)\n"
	ReadMessage = "ZUnable to read message. (#4.3.0)\n"
)

// Qmail renders res as qmail-remote's report bytes: a recipient report for each recipient in
// order up to the first one the session never answered, then the message report. Each report
// ends with a NUL.
func Qmail(res *deliver.Result) []byte {
	if res.QMTP {
		return qmtpQmail(res)
	}
	var b strings.Builder
	ip := res.Message.Peer.Addr().String()
	for i := range res.Recipients {
		r := &res.Recipients[i]
		if r.RcptReply == nil && !localRcptRefusal(r) {
			break // qmail-send matches reports to recipients by position: stop at the first gap
		}
		b.WriteString(recipientReport(ip, r))
		b.WriteByte(0)
	}
	msg := messageReport(ip, res)
	if res.AuthSkipped {
		first, rest, _ := strings.Cut(msg, "\n")
		msg = first + "\n" + AuthSkipped + rest
	}
	b.WriteString(msg)
	b.WriteByte(0)
	return []byte(b.String())
}

// Message renders a single message report (for failures outside a delivery), NUL-ended.
func Message(text string) []byte { return append([]byte(text), 0) }

// localRcptRefusal reports a recipient refused here, before any command carried it.
func localRcptRefusal(r *outcome.Outcome) bool {
	return r.RcptReply == nil && r.Phase == smtp.PhaseRcpt && errors.Is(r.Err, smtp.ErrAddress)
}

// recipientReport is r, h or s from the recipient's own reply to RCPT TO (the reference's
// rule: the message report says what became of the accepted ones).
func recipientReport(ip string, r *outcome.Outcome) string {
	switch {
	case r.RcptReply == nil:
		return "hSorry, this address holds a CR, LF or NUL byte, which SMTP cannot carry. (#5.1.3)\n"
	case smtp.RcptAccepted(*r.RcptReply):
		return "r"
	case r.Status == outcome.Failed:
		return "h" + ip + " does not like recipient.\n" + said(r.RcptReply)
	}
	return "s" + ip + " does not like recipient.\n" + said(r.RcptReply)
}

// messageReport is the K/Z/D report for a result.
func messageReport(ip string, res *deliver.Result) string {
	m := &res.Message
	if m.Status == outcome.Delivered {
		if m.TLS != nil {
			return "K" + ip + " " + tlsName(m.TLS.Verified) + " transmitted message accepted.\n" + said(m.Reply)
		}
		return "K" + ip + " accepted message.\n" + said(m.Reply)
	}
	if m.Err == nil && m.Local != "" { // decided without an error, e.g. a pool's dead destination
		return "ZSorry, the delivery failed here: " + printable(m.Local) + ". (#4.3.0)\n"
	}
	if m.Err == nil { // cannot happen: every failure keeps its cause
		return "ZSorry, the delivery failed here. (#4.3.0)\n"
	}
	var pe *tlspolicy.Error
	if errors.As(m.Err, &pe) {
		return policyReport(res, pe)
	}
	var re *route.Error
	if errors.As(m.Err, &re) {
		return routeReport(re)
	}
	if errors.Is(m.Err, qmailctl.ErrDomainIP) {
		return "ZInvalid ipaddr in control/domainips (#4.3.0)\n" // no period, as in s/qmail
	}
	var be *deliver.BindError
	if errors.As(m.Err, &be) {
		return "ZCan't bind to local ip address: " + outsafe(be.Local.String()) + ". (#4.3.0)\n"
	}
	var ce *deliver.ConnectError
	if errors.As(m.Err, &ce) {
		return "ZSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"
	}
	var qe *qmtp.Error
	if errors.As(m.Err, &qe) {
		return qmtpFailure(ip, res, qe)
	}
	var se *smtp.Error
	if errors.As(m.Err, &se) {
		var ae *smtp.AuthError
		if errors.As(se.Err, &ae) {
			return authReport(ip, se, ae)
		}
		if se.Phase == smtp.PhaseStartTLS {
			return tlsReport(res, se)
		}
		return sessionReport(ip, se)
	}
	return "ZSorry, the delivery failed here: " + printable(m.Err.Error()) + ". (#4.3.0)\n"
}

func routeReport(e *route.Error) string {
	switch e.Kind {
	case route.KindNoHost:
		return "DSorry, I couldn't find any host named " + outsafe(e.Name) + ". (#5.1.2)\n"
	case route.KindNoAddress:
		return "DSorry, I couldn't find a mail exchanger or IP address. (#5.4.4)\n"
	case route.KindLoop:
		return "DSorry. Although I'm listed as a best-preference MX or A for that host,\n" +
			"it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)\n"
	case route.KindNullMX:
		return "DSorry, " + outsafe(e.Name) + " accepts no mail: it publishes a null MX (RFC 7505). (#5.1.10)\n"
	}
	return "ZSorry, I couldn't find any host by that name. (#4.1.2)\n"
}

// sessionReport maps a failed session step to the reference's report for that phase.
func sessionReport(ip string, e *smtp.Error) string {
	switch {
	case errors.Is(e.Err, smtp.ErrPartialLine):
		return "DSMTP cannot transfer messages with partial final lines. (#5.6.2)\n"
	case errors.Is(e.Err, smtp.ErrMessageRead):
		return ReadMessage
	case errors.Is(e.Err, smtp.ErrNoRecipients):
		return "DGiving up on " + ip + ".\n"
	case errors.Is(e.Err, smtp.ErrTooBig):
		return "DConnected to " + ip + " but the message is larger than the SIZE limit it announced. (#5.3.4)\n"
	case errors.Is(e.Err, smtp.ErrNeedsSMTPUTF8):
		return "DConnected to " + ip + " but it does not offer SMTPUTF8, which the non-ASCII addresses of this message need. (#5.6.7)\n"
	case errors.Is(e.Err, smtp.ErrAddress):
		return "DSorry, the sender address holds a CR, LF or NUL byte, which SMTP cannot carry. (#5.1.7)\n"
	case errors.Is(e.Err, smtp.ErrReplyTooLong):
		// Decision 5: the session ends; after the dot the message may have been taken.
		return "ZConnected to " + ip + " but its reply was too long. " + duplicate(e.Phase) + "(#4.4.2)\n"
	case e.Reply == nil:
		return "ZConnected to " + ip + " but connection died. " + duplicate(e.Phase) + "(#4.4.2)\n"
	}
	letter := "Z"
	if e.Reply.Class() == 5 {
		letter = "D"
	}
	var text string
	switch e.Phase {
	case smtp.PhaseGreeting:
		letter, text = "Z", "Connected to "+ip+" but greeting failed.\n"
	case smtp.PhaseHello:
		letter, text = "Z", "Connected to "+ip+" but my name was rejected.\n"
	case smtp.PhaseMail:
		text = "Connected to " + ip + " but sender was rejected.\n"
	case smtp.PhaseData:
		text = ip + " failed on DATA command.\n"
	default:
		text = ip + " failed after I sent the message.\n"
	}
	return letter + text + said(e.Reply)
}

// duplicate is the reference's warning for a session lost after the final dot went out.
func duplicate(p smtp.Phase) string {
	if p == smtp.PhaseDot {
		return "Possible duplicate! "
	}
	return ""
}

// said quotes a reply as the reference does: "Remote host said: " and every line followed by
// LF, CRs removed, NUL shown as '?', at most maxSaid bytes of text. Nothing for an empty reply.
func said(r *smtp.Reply) string {
	if r == nil || len(r.Lines) == 0 {
		return ""
	}
	var b strings.Builder
	for _, l := range r.Lines {
		for i := 0; i < len(l) && b.Len() < maxSaid; i++ {
			switch l[i] {
			case '\r':
			case 0:
				b.WriteByte('?')
			default:
				b.WriteByte(l[i])
			}
		}
		if b.Len() < maxSaid {
			b.WriteByte('\n')
		}
	}
	return "Remote host said: " + b.String()
}

// outsafe replaces bytes a report must not carry (controls, spaces, 8-bit) with '?', as the
// reference does for host names.
func outsafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '?'
		}
	}
	return string(b)
}

// printable replaces control bytes with '?', keeping spaces: for local error texts.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 32 || c == 127 {
			b[i] = '?'
		}
	}
	return string(b)
}

// QmailOne renders recipient i of res as qmail-remote run for that recipient alone would have
// reported the same outcome: its recipient report, then the message report. qmail-rspawn
// carries several requests in one transaction and gives each request this, so qmail-send's log
// and bounces read as if every recipient had had a qmail-remote of its own:
//   - accepted at RCPT: "r", then the message's report (K, or the Z/D of the transaction);
//   - refused at RCPT (or locally, for a CR, LF or NUL): its "h"/"s" report, then "DGiving up on
//     <ip>.", which is what qmail-remote says when no recipient is left, whatever became of the
//     other recipients' message;
//   - never answered (the session ended before its RCPT): the message report alone.
//
// For a result of one recipient, QmailOne(res, 0) is Qmail(res).
func QmailOne(res *deliver.Result, i int) []byte {
	r := res.Recipients[i]
	one := &deliver.Result{Recipients: []outcome.Outcome{r}, Message: res.Message, Destination: res.Destination}
	refused := r.RcptReply == nil && errors.Is(r.Err, smtp.ErrAddress) ||
		r.RcptReply != nil && !smtp.RcptAccepted(*r.RcptReply)
	if refused && len(res.Recipients) > 1 {
		// Alone, this recipient would have left the transaction without recipients.
		peer := res.Message.Peer
		if r.Peer.IsValid() {
			peer = r.Peer
		}
		one.Message = outcome.Outcome{Status: outcome.Failed, Phase: smtp.PhaseRcpt, Peer: peer, Host: r.Host,
			Err: &smtp.Error{Phase: smtp.PhaseRcpt, Peer: peer, Err: smtp.ErrNoRecipients}}
	}
	return Qmail(one)
}
