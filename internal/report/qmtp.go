package report

import (
	"errors"
	"strings"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/qmtp"
)

// qmtpQmail renders a delivery over QMTP (qmtproutes) as s/qmail does
// (spec/sqmail-reports.md), with two corrections that keep qmail-send from losing or doubling
// mail:
//
//   - Each recipient with a response gets r, s or h and "qmtp:" ("qmtps:" over TLS) and the
//     server's text, made printable.
//   - The message report is K when any recipient got K: "KAll received okay by <ip>", or, when
//     only some did, "KSome received okay by <ip>" (s/qmail prints "DGiving up" then, and
//     qmail-rspawn would bounce the recipients it had reported r). When none did: the session's
//     failure, or "DGiving up on <ip>" (s/qmail's text, without a period).
//   - A recipient whose package did not get its response, while others got K, gets an s report
//     with the failure's text (s/qmail stops the recipient reports there, and the K message
//     report would then count that recipient as delivered). Without any K the reports stop
//     there, as for SMTP, and the message report is the failure's.
func qmtpQmail(res *deliver.Result) []byte {
	ip := res.Message.Peer.Addr().String()
	anyK, allK := false, true
	for i := range res.Recipients {
		if res.Recipients[i].Status == outcome.Delivered {
			anyK = true
		} else {
			allK = false
		}
	}
	var b strings.Builder
	for i := range res.Recipients {
		r := &res.Recipients[i]
		if r.QMTP == nil {
			if !anyK {
				break
			}
			one := &deliver.Result{Message: *r, Destination: res.Destination}
			b.WriteString("s" + messageReport(ip, one)[1:])
			b.WriteByte(0)
			continue
		}
		letter := "s"
		switch {
		case r.QMTP.Accepted():
			letter = "r"
		case r.QMTP.Permanent():
			letter = "h"
		}
		proto := "qmtp:"
		if r.TLS != nil {
			proto = "qmtps:"
		}
		b.WriteString(letter + proto + qmtpText(r.QMTP.Text) + "\n")
		b.WriteByte(0)
	}
	switch {
	case allK && anyK:
		b.WriteString("KAll received okay by " + ip + "\n")
	case anyK:
		b.WriteString("KSome received okay by " + ip + "\n")
	case res.Message.QMTP == nil:
		b.WriteString(messageReport(ip, res))
	default:
		b.WriteString("DGiving up on " + ip + "\n")
	}
	b.WriteByte(0)
	return []byte(b.String())
}

// qmtpText makes a QMTP response text printable as s/qmail does: CR dropped, bytes below 32 or
// above 126 shown as '?', at most maxSaid bytes.
func qmtpText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxSaid; i++ {
		switch c := s[i]; {
		case c == '\r':
		case c < 32 || c > 126:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// qmtpFailure is the report for a failed QMTP session (s/qmail's texts; "Possible duplicate!"
// added where the package had gone out, which s/qmail never says for QMTP).
func qmtpFailure(ip string, res *deliver.Result, e *qmtp.Error) string {
	switch {
	case errors.Is(e.Err, qmtp.ErrMessageRead):
		return ReadMessage
	case errors.Is(e.Err, qmtp.ErrTLS):
		mx, host := outsafe(res.Message.Host), outsafe(res.Destination)
		return "ZI wasn't able to establish a TLS connection with: " + mx + " for " + host + ". (#4.4.1)\n"
	case errors.Is(e.Err, qmtp.ErrProtocol):
		return "ZRecipient did not talk proper QMTP (#4.3.0)\n"
	case res.Message.DuplicateRisk: // this recipient's package went out; not for those after it
		return "ZConnected to " + ip + " but connection died. Possible duplicate! (#4.4.2)\n"
	}
	return "ZConnected to " + ip + " but connection died. (#4.4.2)\n"
}
