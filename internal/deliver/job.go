package deliver

import (
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/smtp"
)

// Job is one message for one destination.
type Job struct {
	Host       string // destination: a domain, or an address literal such as [192.0.2.1]
	Sender     string // "" for the null sender
	Recipients []string
	Message    *message.Message
	// DSN holds the RFC 3461 parameters; DSN.ORcpt, when set, runs parallel to Recipients. They
	// are passed on only to servers that offer DSN.
	DSN smtp.DSN
	// RequireTLS asks for REQUIRETLS (RFC 8689): the message goes only to a server that offers
	// REQUIRETLS over a verified TLS session (requireTLSRefusal), else it fails with 5.7.30.
	RequireTLS bool

	tlsNo, tlsNoKnown bool // the message's TLS-Required field says No (Engine.tlsOptional)
}

// Result is what became of a job: one Outcome per recipient, in the job's order, and the
// Outcome of the message as a whole (the transaction's, or that of the failure that kept a
// transaction from happening). A recipient accepted at RCPT TO shares the message's Outcome; a
// refused one has its own. Outcomes are computed once, here; the reports only format them.
type Result struct {
	Recipients []outcome.Outcome
	Message    outcome.Outcome
	// Destination is what TLS rules were looked up by: the job's host, or the route's relay.
	Destination string
	// AuthSkipped: the route has credentials, but the server offered no usable mechanism and
	// the message went unauthenticated (the report says so, as s/qmail does).
	AuthSkipped bool
	// QMTP: the job went by QMTP (qmtproutes); each recipient's Outcome holds its response.
	QMTP bool
}

// Delivered reports whether the server accepted the message after the final dot.
func (r *Result) Delivered() bool { return r.Message.Status == outcome.Delivered }

// Outcomes pairs the recipients' Outcomes with their addresses, for the status lines and JSON.
func (r *Result) Outcomes(job *Job) *outcome.Message {
	m := &outcome.Message{Recipients: make([]outcome.Recipient, len(r.Recipients))}
	for i := range r.Recipients {
		m.Recipients[i] = outcome.Recipient{Address: job.Recipients[i], Outcome: r.Recipients[i]}
	}
	return m
}

// newResult starts a result with every recipient undecided.
func newResult(job *Job) *Result {
	return &Result{Recipients: make([]outcome.Outcome, len(job.Recipients)), Destination: job.Host}
}

// finish gives every recipient that has no Outcome of its own the message's, so that each
// recipient ends with exactly one.
func (r *Result) finish() {
	for i := range r.Recipients {
		if r.Recipients[i].Status == outcome.Undecided {
			o := r.Message
			o.RcptReply = r.Recipients[i].RcptReply
			r.Recipients[i] = o
		}
	}
}
