// Package outcome holds what became of each recipient of a delivery, as data, and the rules
// that decide it: whether a failure is temporary or permanent, which RFC 3463 enhanced status
// code describes it, and whether the message may have been delivered although no reply proved
// it (duplicate risk). Every front end formats Outcomes (qmail report bytes, status lines,
// JSON, exit codes); none of them decides any of these again.
package outcome

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mxout/mxout/internal/qmtp"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// Status is the fate of one recipient.
type Status int

// The statuses. Undecided is the zero value: an Outcome that nothing has set yet. The engine
// never hands one out; a front end that sees one has found a bug.
const (
	Undecided Status = iota
	Delivered        // the server accepted the message for this recipient after the final dot
	Deferred         // not delivered now; trying again later may succeed
	Failed           // not delivered, and trying again will not help
)

// String is the word of the status lines: "ok", "deferred", "error".
func (s Status) String() string {
	switch s {
	case Delivered:
		return "ok"
	case Deferred:
		return "deferred"
	case Failed:
		return "error"
	}
	return "undecided"
}

// Outcome is what became of one recipient, with everything a report may want to say about it.
// Fields that are unknown are zero.
type Outcome struct {
	Status Status
	// DSN is the RFC 3463 enhanced status code: the server's when it sent one that agrees with
	// its reply, else derived from the reply code and the phase, else the code of the local
	// failure.
	DSN string
	// Phase is the step of the session that decided the outcome (smtp.PhaseDot for a delivery).
	Phase smtp.Phase
	// Reply is the server's reply that decided the outcome; nil when none did (a local
	// refusal, a routing failure, a lost connection).
	Reply *smtp.Reply
	// RcptReply is the server's reply to this recipient's RCPT TO, when one came. A recipient
	// that was accepted at RCPT and then failed with the message has both.
	RcptReply *smtp.Reply
	// QMTP is the QMTP server's response for this recipient (qmtproutes); nil for SMTP.
	QMTP *qmtp.Response
	// Local describes a failure decided here, without a reply: "no route to example.test",
	// "connection lost". Empty when Reply says it all.
	Local string
	// Host is the name of the server (MX host or relay) the session ran with; Peer its address.
	Host string
	Peer netip.AddrPort
	// Protocol is "esmtp", "smtp", "lmtp" or "qmtp"; empty when no session was opened.
	Protocol string
	// TLS holds the facts of the TLS session the outcome was reached in; nil in clear.
	TLS *tlspolicy.Facts
	// DuplicateRisk: the final dot went out and no valid reply came, so the message may have
	// been delivered although this Outcome is not Delivered.
	DuplicateRisk bool
	// Err is the cause for programs and logs (an *smtp.Error, a routing error, ...); nil for
	// a delivery.
	Err error
}

// Code is the server's reply code, 0 when no well-formed reply decided the outcome.
func (o *Outcome) Code() int {
	if o.Reply == nil {
		return 0
	}
	return o.Reply.Code
}

// ReplyText is the server's reply on one line: its lines joined by a space, tabs and other
// control bytes made spaces. Empty when no reply decided the outcome.
func (o *Outcome) ReplyText() string {
	if o.Reply == nil {
		return ""
	}
	return OneLine(strings.Join(o.Reply.Lines, " "))
}

// Describe says what happened on one line, for status lines, JSON and logs: who answered
// what to which command, or the local failure; "possible duplicate" when DuplicateRisk.
func (o *Outcome) Describe() string {
	var b strings.Builder
	if o.Host != "" || o.Peer.IsValid() {
		b.WriteString(o.Host)
		if o.Peer.IsValid() {
			b.WriteString("[" + o.Peer.Addr().String() + "]:")
			b.WriteString(strconv.Itoa(int(o.Peer.Port())))
		}
		b.WriteString(": ")
	}
	switch {
	case o.QMTP != nil:
		b.WriteString("QMTP: " + OneLine(o.QMTP.String()))
	case o.Reply != nil:
		b.WriteString(o.command())
		b.WriteString(": ")
		b.WriteString(o.ReplyText())
		if o.Local != "" {
			b.WriteString(" (" + OneLine(o.Local) + ")")
		}
	case o.Local != "":
		b.WriteString(OneLine(o.Local))
	default:
		b.WriteString(o.Status.String())
	}
	if o.DuplicateRisk {
		b.WriteString(": possible duplicate")
	}
	return b.String()
}

// command names the command the deciding reply answered: commandOf, with LHLO for LMTP.
func (o *Outcome) command() string {
	if o.Phase == smtp.PhaseHello && o.Protocol == "lmtp" {
		return "LHLO"
	}
	return commandOf(o.Phase)
}

// commandOf names the command a phase's reply answers, as the status lines show it.
func commandOf(p smtp.Phase) string {
	switch p {
	case smtp.PhaseGreeting:
		return "greeting"
	case smtp.PhaseHello:
		return "EHLO"
	case smtp.PhaseStartTLS:
		return "STARTTLS"
	case smtp.PhaseAuth:
		return "AUTH"
	case smtp.PhaseMail:
		return "MAIL FROM"
	case smtp.PhaseRcpt:
		return "RCPT TO"
	case smtp.PhaseData:
		return "DATA"
	case smtp.PhaseBody, smtp.PhaseDot:
		return "end of data"
	case smtp.PhaseQuit:
		return "QUIT"
	}
	return p.String()
}

// OneLine replaces tabs, line breaks and other control bytes with spaces, so that a text fits
// in one field of a tab-separated line.
func OneLine(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 32 || s[i] == 127 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c < 32 || c == 127 {
			b[i] = ' '
		}
	}
	return string(b)
}

// Message is what became of one message (one job): an Outcome per recipient, in the job's order,
// and how long it took.
type Message struct {
	Recipients []Recipient
	Elapsed    time.Duration
}

// Recipient pairs an address with its Outcome.
type Recipient struct {
	Address string
	Outcome
}

// Status summarises the message for JSON: "ok" when every recipient was delivered, "partial"
// when some were, else "deferred" when any may succeed later, else "error".
func (m *Message) Status() string {
	var ok, deferred int
	for i := range m.Recipients {
		switch m.Recipients[i].Status {
		case Delivered:
			ok++
		case Deferred, Undecided:
			deferred++
		}
	}
	switch {
	case ok == len(m.Recipients) && ok > 0:
		return "ok"
	case ok > 0:
		return "partial"
	case deferred > 0:
		return "deferred"
	}
	return "error"
}

// Session returns the Outcome that carries the session facts of the message (host, peer,
// protocol, TLS): the first recipient whose Outcome names a peer, else the first one.
func (m *Message) Session() *Outcome {
	for i := range m.Recipients {
		if m.Recipients[i].Peer.IsValid() {
			return &m.Recipients[i].Outcome
		}
	}
	if len(m.Recipients) > 0 {
		return &m.Recipients[0].Outcome
	}
	return &Outcome{}
}
