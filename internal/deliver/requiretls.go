package deliver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/mxout/mxout/internal/idn"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
	"github.com/mxout/mxout/internal/tlsrule"
)

// REQUIRETLS (RFC 8689 §4.2.1) asks every hop to deliver the message only over TLS that
// authenticates the next server, and to pass the requirement on. The policy of every hop of a
// REQUIRETLS job is raised (tlspolicy.Input.RequireTLS: mandatory TLS with at least a CA and
// name check, or DANE), and after EHLO the session must qualify (requireTLSRefusal) before
// anything of the transaction is sent. A hop that does not qualify is closed and the next
// address or MX host is tried; when none delivers and one of them could not carry the message,
// the job fails with 5.7.30 (outcome.RequireTLS), even if others could not be reached (refusal).

// requireTLSRefusal says why the session cannot carry a REQUIRETLS message, or nil when it can:
// the server offers REQUIRETLS in its EHLO reply after STARTTLS (or over implicit TLS), and the
// TLS session authenticated it. Authenticated means a DANE match (RFC 8689 §4.2.1 with RFC
// 7672: the MX and TLSA answers were DNSSEC-secure), or a certificate that verified with a name
// check (VerifiedCAName or stronger) on a host the sender has reason to trust by name: an MX
// answer that was DNSSEC-secure, a static route or address literal chosen by the operator, or a
// tlsdestinations rule for the destination that verifies by itself (vouched). A chain verified
// without a name check (the "host" rule's VerifiedCA) authenticates nobody in particular and
// does not count.
func (s *Session) requireTLSRefusal() error {
	var why string
	switch {
	case s.TLS == nil:
		why = "the session is not encrypted"
	case !s.c.Extensions().Has("REQUIRETLS"):
		why = "the server does not offer REQUIRETLS"
	case s.TLS.Verified >= tlspolicy.VerifiedDANEEE:
		return nil
	case s.TLS.Verified >= tlspolicy.VerifiedCAName && s.vouched:
		return nil
	case s.TLS.Verified >= tlspolicy.VerifiedCAName:
		why = "the MX host was not found through DNSSEC, a static route or a verifying tlsdestinations rule"
	default:
		why = "the server's certificate was not verified with its name (" + s.TLS.Verified.String() + ")"
	}
	return &smtp.Error{Phase: smtp.PhaseMail, Peer: s.Peer, Err: fmt.Errorf("%w: %s", smtp.ErrRequireTLS, why)}
}

// vouched reports whether the hop's name can be trusted for REQUIRETLS's name check: the MX
// answer was DNSSEC-secure, the destination was reached by a static route or is an address
// literal (the operator's choice, no MX lookup), or a tlsdestinations rule for it asks for a
// name check or a pin by itself.
func (e *Engine) vouched(job *Job, dest string, hop route.Hop) bool {
	if hop.MXAuthentic || dest != idn.Host(job.Host) || strings.HasPrefix(dest, "[") {
		return true
	}
	if e.TLSRules == nil {
		return false
	}
	if r := e.TLSRules.Rule(dest, senderDomain(job.Sender)); r != nil {
		switch r.Kind {
		case tlsrule.RuleNameWild, tlsrule.RuleNameExact, tlsrule.RulePin:
			return true
		}
	}
	return false
}

// requireTLSOpenError turns a failure to open a session of a REQUIRETLS job into the job's
// refusal when it is a TLS failure: STARTTLS not offered, a failed handshake or verification.
// Other failures (connect, greeting, timeouts) stay as they are, temporary.
func requireTLSOpenError(err error) error {
	if !errors.Is(err, ErrTLSNotOffered) && !errors.Is(err, smtp.ErrTLS) {
		return err
	}
	var se *smtp.Error
	if !errors.As(err, &se) {
		return err
	}
	wrapped := *se
	wrapped.Reply = nil
	wrapped.Err = fmt.Errorf("%w: %w", smtp.ErrRequireTLS, se.Err)
	return &wrapped
}

// refusal remembers the last host that could not carry a REQUIRETLS message. It decides the
// job's outcome when no host delivers, over failures of other kinds at other hosts: a host that
// answered and could not carry the message is the evidence; one that could not be reached at all
// is none, and deferring until the queue gives up would bounce the same message days later with
// a connect error's text.
type refusal struct {
	err  error
	host string
	peer netip.AddrPort
}

// note keeps err when it is a REQUIRETLS refusal.
func (r *refusal) note(err error, host string, peer netip.AddrPort) {
	if errors.Is(err, smtp.ErrRequireTLS) {
		r.err, r.host, r.peer = err, host, peer
	}
}

// maxHeaderScan bounds how much of a message is read to find its header fields.
const maxHeaderScan = 256 << 10

// tlsOptional reports whether the job's message may go without the recipient's TLS policies
// (RFC 8689, "TLS-Required: No"): only when the engine honours the field, the job does not
// ask for REQUIRETLS (RFC 8689: the field is ignored then), and the header says so. The
// answer is kept in the job: each hop asks.
func (e *Engine) tlsOptional(job *Job) bool {
	if !e.HonourTLSRequiredNo || job.RequireTLS || job.Message == nil {
		return false
	}
	if !job.tlsNoKnown {
		job.tlsNo, job.tlsNoKnown = TLSRequiredNo(job.Message.Open()), true
	}
	return job.tlsNo
}

// TLSRequiredNo reports whether the message's header section holds a "TLS-Required" field
// whose value is "No" (RFC 8689; case-insensitive, folding and blanks ignored). Only the
// header section is read, at most 256 KiB of it; a read error counts as no such field.
func TLSRequiredNo(msg io.Reader) bool {
	br := bufio.NewReader(io.LimitReader(msg, maxHeaderScan))
	var field []byte
	check := func() bool {
		name, value, ok := bytes.Cut(field, []byte(":"))
		return ok && strings.EqualFold(string(bytes.TrimSpace(name)), "TLS-Required") &&
			strings.EqualFold(string(bytes.TrimSpace(value)), "No")
	}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			field = append(field, line...) // a long line: part of the current field
			continue
		}
		body := bytes.TrimRight(line, "\r\n")
		if len(body) == 0 {
			return check() // the end of the header section
		}
		if body[0] != ' ' && body[0] != '\t' { // a new field, not a folded line
			if check() {
				return true
			}
			field = field[:0]
		}
		field = append(field, body...)
		if err != nil {
			return check() // the end of what may be read
		}
	}
}
