package smtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// codeStartData is the only reply to DATA after which the message text may be sent
// (RFC 5321 §4.1.1.4; qmail-remote contract, decision 8).
const codeStartData = 354

// Envelope is what one transaction sends before the message text.
type Envelope struct {
	From     string   // reverse path; "" for the null sender
	To       []string // forward paths; each must pass ValidRecipient
	Size     int64    // message size on the wire, declared with SIZE= when the server offers SIZE; 0 = unknown
	EightBit bool     // the text has 8-bit bytes: BODY=8BITMIME when offered (RFC 6152 §3)
	// UTF8 declares SMTPUTF8 even when every address is ASCII: the text has UTF-8 header
	// fields (RFC 6531 §3.4). Without SMTPUTF8 at the server it fails as a non-ASCII address does.
	UTF8 bool
	// DSN holds the RFC 3461 parameters, sent only when the server offers DSN.
	DSN DSN
	// RequireTLS declares REQUIRETLS on MAIL FROM (RFC 8689 §4.2.1). The caller has checked
	// that the session qualifies (verified TLS); a server that does not offer REQUIRETLS is
	// refused locally with ErrRequireTLS, before anything is sent.
	RequireTLS bool
	// Chunking sends the text with BDAT (RFC 3030) when the server offers CHUNKING: the
	// envelope then ends after the RCPTs (no DATA), Sent.Chunked is set, and the caller sends
	// the text with BDAT instead of Body/SendBody. Without CHUNKING the envelope ends with DATA.
	Chunking bool
	// Binary: the text holds what 8BITMIME cannot carry (NUL bytes, lines over 998 bytes):
	// BODY=BINARYMIME when the text goes by BDAT and the server offers BINARYMIME (RFC 3030 §3).
	Binary bool
}

// Sent holds the replies of a transaction's envelope, as far as they were read.
type Sent struct {
	Mail     Reply
	Rcpt     []Reply // in the order of Envelope.To; shorter when the session failed midway
	Data     Reply
	Accepted int // recipients whose reply was an acceptance
	// Chunked: the envelope ended after the RCPTs (Envelope.Chunking and the server offers
	// CHUNKING); the text goes with BDAT. Data is empty then.
	Chunked bool
}

// RcptAccepted reports whether a RCPT (or MAIL) reply accepts it: only a well-formed 2xx does
// (RFC 5321 §4.2: 250/251; §3.3 gives RCPT no 3xx; decision 9). The reference takes any code
// below 400, so a 354 to MAIL let it send RCPTs a server had to refuse with 503 (a false
// bounce). Any other reply is refused; its class decides how: only 5xx is permanent.
func RcptAccepted(r Reply) bool { return r.Positive() }

// Envelope runs MAIL FROM, one RCPT TO per recipient and DATA (RFC 5321 §3.3). When the server
// offers PIPELINING (RFC 2920 §3.1) the commands go out in one write and the replies are matched
// in order; otherwise each command waits for its reply. Both ways share this one path: the same
// checks of each reply (envelopeCheck), only the moments of writing differ.
//
// On success the server has answered DATA with 354 and the caller must send the text with Body.
// Otherwise the error is an *Error: MAIL refused (PhaseMail, with the reply), no recipient
// accepted (PhaseRcpt, ErrNoRecipients), DATA refused (PhaseData), or an I/O failure in the phase
// being read. Local refusals come before anything is sent: ErrNeedsSMTPUTF8 and ErrTooBig
// (PhaseMail), ErrAddress. Sent is never nil and holds every reply that was read.
func (c *Client) Envelope(ctx context.Context, env Envelope) (*Sent, error) {
	return c.envelope(ctx, env, nil)
}

// EnvelopeAfterDot is Envelope on a session whose previous message's final dot was queued by
// SendBody and not answered yet: the commands go out right behind that dot, in the same write
// (RFC 2920 §3.1: the end of the message text may start a command group), so a message costs
// one round trip. dot receives the previous message's reply (as DotReply would return it) before
// any reply of this envelope is read. When the connection fails before that reply, dot gets the
// failure and this envelope fails without any reply read (PhaseMail, no Reply): nothing of it
// took effect. Without pipelining it is DotReply, then Envelope.
func (c *Client) EnvelopeAfterDot(ctx context.Context, env Envelope, dot func(Reply, error)) (*Sent, error) {
	if !c.dotQueued {
		dot(Reply{}, errors.New("smtp: no final dot is waiting for its reply"))
		return c.Envelope(ctx, env)
	}
	return c.envelope(ctx, env, dot)
}

func (c *Client) envelope(ctx context.Context, env Envelope, dot func(Reply, error)) (*Sent, error) {
	sent := &Sent{}
	mail, err := c.mailCommand(env)
	if err != nil {
		if dot != nil {
			dot(c.DotReply(ctx))
		}
		return sent, err
	}
	sent.Chunked = c.chunked
	if !c.Pipelining() {
		if dot != nil {
			dot(c.DotReply(ctx))
		}
		return sent, c.stepwise(ctx, mail, &env, sent)
	}
	return sent, c.pipelined(ctx, mail, &env, sent, dot)
}

// mailCommand builds MAIL FROM with its parameters, or refuses locally.
func (c *Client) mailCommand(env Envelope) (string, error) {
	utf8 := !ASCII(env.From) || env.UTF8
	for _, to := range env.To {
		if !ValidRecipient(to) {
			return "", &Error{Phase: PhaseRcpt, Peer: c.opt.Peer, Err: ErrAddress}
		}
		utf8 = utf8 || !ASCII(to)
	}
	if !ValidAddress(env.From) {
		return "", &Error{Phase: PhaseMail, Peer: c.opt.Peer, Err: ErrAddress}
	}
	if utf8 && !c.ext.Has("SMTPUTF8") {
		return "", &Error{Phase: PhaseMail, Peer: c.opt.Peer, Err: ErrNeedsSMTPUTF8}
	}
	max := c.ext.MaxSize()
	if max > 0 && env.Size > max {
		return "", &Error{Phase: PhaseMail, Peer: c.opt.Peer, Err: ErrTooBig}
	}
	if err := env.DSN.Check(); err != nil {
		return "", &Error{Phase: PhaseMail, Peer: c.opt.Peer, Err: err}
	}
	if env.RequireTLS && !c.ext.Has("REQUIRETLS") {
		return "", &Error{Phase: PhaseMail, Peer: c.opt.Peer, Err: ErrRequireTLS}
	}
	chunked := env.Chunking && c.ext.Has("CHUNKING")
	cmd := "MAIL FROM:<" + Path(env.From, utf8) + ">"
	if c.ext.Has("SIZE") && env.Size > 0 {
		cmd += " SIZE=" + strconv.FormatInt(env.Size, 10)
	}
	switch {
	case chunked && env.Binary && c.ext.Has("BINARYMIME"):
		cmd += " BODY=BINARYMIME"
	case (env.EightBit || env.Binary) && c.ext.Has("8BITMIME"):
		cmd += " BODY=8BITMIME"
	}
	if utf8 {
		cmd += " SMTPUTF8"
	}
	cmd += c.mailDSN(env.DSN)
	if env.RequireTLS {
		cmd += " REQUIRETLS"
	}
	cmd += c.authParam(env.From)
	c.utf8, c.chunked = utf8, chunked
	return cmd, nil
}

// envelopeCheck judges the replies of one envelope, in order, the same way whether they came
// one by one or pipelined: MAIL must be accepted, at least one RCPT must be, and DATA must
// answer 354 with nothing behind it. refused holds the first refusal; later replies of a
// refused transaction are read but count for nothing.
type envelopeCheck struct {
	c       *Client
	sent    *Sent
	refused error
}

func (e *envelopeCheck) mail(r Reply) {
	e.sent.Mail = r
	if !RcptAccepted(r) {
		e.refused = e.c.replyError(PhaseMail, r)
	}
}

func (e *envelopeCheck) rcpt(r Reply) {
	if e.refused == nil {
		e.sent.add(r)
	}
}

// rcptsDone is called after the last RCPT reply: with none accepted, DATA must not open.
func (e *envelopeCheck) rcptsDone() {
	if e.refused == nil && e.sent.Accepted == 0 {
		e.refused = &Error{Phase: PhaseRcpt, Peer: e.c.opt.Peer, Err: ErrNoRecipients}
	}
}

// data judges the reply to DATA. A server that opened DATA although the transaction was
// refused gets an empty message ended at once (RFC 2920 §3.1 asks for that rather than a
// broken connection).
func (e *envelopeCheck) data(ctx context.Context, r Reply) error {
	if e.refused != nil {
		if r.Code == codeStartData {
			e.c.abortData(ctx)
		}
		return e.refused
	}
	e.sent.Data = r
	return e.c.dataStarted(r)
}

// dataStarted checks the reply to DATA: only a 354 lets the text go out (decision 8), and only
// when nothing came after it (decision 12): a server that sent more in the same breath would
// have that read as the reply to the final dot.
func (c *Client) dataStarted(r Reply) error {
	if r.Code != codeStartData {
		return c.replyError(PhaseData, r)
	}
	if c.br.Buffered() > 0 {
		return c.unsolicited(PhaseData, r.Lines)
	}
	return nil
}

// stepwise sends each command and waits for its reply; it stops at the first refusal.
func (c *Client) stepwise(ctx context.Context, mail string, env *Envelope, sent *Sent) error {
	chk := &envelopeCheck{c: c, sent: sent}
	r, err := c.roundTrip(ctx, PhaseMail, mail)
	if err != nil {
		sent.Mail = r
		return err
	}
	if chk.mail(r); chk.refused != nil {
		return chk.refused
	}
	for i := range env.To {
		r, err := c.roundTrip(ctx, PhaseRcpt, c.rcptCommand(env, i))
		if err != nil {
			return err
		}
		chk.rcpt(r)
	}
	if chk.rcptsDone(); chk.refused != nil || c.chunked {
		return chk.refused
	}
	r, err = c.roundTrip(ctx, PhaseData, "DATA")
	if err != nil {
		sent.Data = r
		return err
	}
	return chk.data(ctx, r)
}

// smallBatch is the size under which a command group is written through the client's buffer in
// one write from this goroutine: far below any socket buffer, so the server cannot block the
// write by not reading while it answers. A larger group (a long recipient list) is written from
// a goroutine of its own while the replies are read.
const smallBatch = 4096

// pipelined writes MAIL, every RCPT and DATA at once and then reads the replies in order. Every
// reply is read even after a refusal, so a server that rejects MAIL and hangs up still yields
// its reply as the outcome. When dot is set, a previous message's final dot is queued ahead of
// the group and its reply is read first.
func (c *Client) pipelined(ctx context.Context, mail string, env *Envelope, sent *Sent, dot func(Reply, error)) error {
	if err := c.usable(PhaseMail); err != nil {
		if dot != nil {
			dot(Reply{}, err)
		}
		return err
	}
	var batch bytes.Buffer
	c.trace("C: ", mail)
	batch.WriteString(mail + "\r\n")
	for i := range env.To {
		line := c.rcptCommand(env, i)
		c.trace("C: ", line)
		batch.WriteString(line + "\r\n")
	}
	if !c.chunked {
		c.trace("C: ", "DATA")
		batch.WriteString("DATA\r\n")
	}

	defer c.begin(ctx)()
	var written chan error
	if batch.Len() <= smallBatch {
		c.bw.Write(batch.Bytes())
		if err := c.flush(ctx, PhaseMail); err != nil {
			return c.lostBeforeEnvelope(err, dot)
		}
	} else {
		if err := c.flush(ctx, PhaseMail); err != nil { // the queued dot, if any, goes first
			return c.lostBeforeEnvelope(err, dot)
		}
		c.conn.SetWriteDeadline(c.deadline())
		written = make(chan error, 1)
		go func() { // touches only the connection, never the Client's fields
			_, err := c.conn.Write(batch.Bytes())
			written <- err
		}()
	}
	if dot != nil {
		dot(c.readDot(ctx))
	}
	err := c.readEnvelope(ctx, len(env.To), sent)
	if written != nil {
		if werr := <-written; werr != nil && err == nil {
			err = c.botch(ioError(PhaseMail, c.opt.Peer, ctxErr(ctx, werr)))
		}
	}
	return err
}

// lostBeforeEnvelope reports a write that failed before any reply of the envelope: the queued
// dot, if any, was not (wholly) handed over, so its message is not a possible duplicate
// (decision 10), and the envelope took no effect.
func (c *Client) lostBeforeEnvelope(err error, dot func(Reply, error)) error {
	if dot != nil {
		c.dotQueued = false
		dot(Reply{}, &Error{Phase: PhaseBody, Peer: c.opt.Peer, Err: errors.Unwrap(err)})
	}
	return err
}

// readEnvelope reads the replies to a pipelined MAIL, n RCPTs and DATA (none when the text goes
// by BDAT) and decides the outcome.
func (c *Client) readEnvelope(ctx context.Context, n int, sent *Sent) error {
	chk := &envelopeCheck{c: c, sent: sent}
	r, err := c.read(ctx, PhaseMail)
	if err != nil {
		sent.Mail = r
		return err
	}
	chk.mail(r)
	for i := 0; i < n; i++ {
		r, err := c.read(ctx, PhaseRcpt)
		if err != nil {
			return firstErr(chk.refused, err)
		}
		chk.rcpt(r)
	}
	chk.rcptsDone()
	if c.chunked {
		return chk.refused
	}
	r, err = c.read(ctx, PhaseData)
	if err != nil {
		if chk.refused == nil {
			sent.Data = r
		}
		return firstErr(chk.refused, err)
	}
	return chk.data(ctx, r)
}

// abortData ends a DATA that was opened though no message should be sent. RFC 2920 §3.1 asks
// for an empty message rather than a broken connection; the reply does not matter.
func (c *Client) abortData(ctx context.Context) {
	if c.write(ctx, PhaseDot, ".") == nil {
		c.read(ctx, PhaseDot)
	}
}

func (s *Sent) add(r Reply) {
	s.Rcpt = append(s.Rcpt, r)
	if RcptAccepted(r) {
		s.Accepted++
	}
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// Body sends the message text after a 354 and reads the reply to the final dot
// (RFC 5321 §4.1.1.4): SendBody, then DotReply. Only a 2xx reply is success.
func (c *Client) Body(ctx context.Context, text io.Reader) (Reply, error) {
	if err := c.SendBody(ctx, text); err != nil {
		return Reply{}, err
	}
	return c.DotReply(ctx)
}

// bodyWriters are the large write buffers of message texts, shared by all sessions: a kept
// session holds only its small command buffer between messages (memory per idle connection).
var bodyWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// copyBuffers are the read buffers of message texts, shared the same way.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// SendBody sends the message text after a 354 and queues the final dot without sending it: the
// caller then calls DotReply, or EnvelopeAfterDot to send the next message's commands with it.
// Anything the server sent while the text went out is ErrUnsolicited in PhaseBody, and the dot
// is not queued (decision 12); a connection it closed by then is an I/O error in PhaseBody. The
// text is flushed to the network before the dot is written, so the two are distinct (decision
// 10). A message without a final line ending returns ErrPartialLine before the dot, and the
// client is botched: close it without QUIT.
func (c *Client) SendBody(ctx context.Context, text io.Reader) error {
	if err := c.usable(PhaseBody); err != nil {
		return err
	}
	end := c.begin(ctx)
	c.phase = PhaseBody
	err := c.bw.Flush() // normally empty
	if err == nil {
		err = c.copyText(text)
	}
	end()
	switch {
	case errors.Is(err, ErrPartialLine), errors.Is(err, ErrMessageRead):
		return c.botch(&Error{Phase: PhaseBody, Peer: c.opt.Peer, Err: err})
	case err != nil:
		return c.botch(ioError(PhaseBody, c.opt.Peer, ctxErr(ctx, err)))
	}
	// Decision 12: a reply that came while the text went out answers no command. Were the dot
	// written now, that reply would be read as the answer to it.
	came, err := c.pending(ctx)
	if err != nil {
		return c.botch(ioError(PhaseBody, c.opt.Peer, err))
	}
	if came {
		return c.unsolicited(PhaseBody, nil)
	}
	c.trace("C: ", "[message text, then .]")
	c.bw.WriteString(".\r\n")
	c.dotQueued = true
	return nil
}

// copyText streams the text through the dot-stuffing encoder into a pooled large buffer and
// flushes it: all of the text leaves before the dot is written.
func (c *Client) copyText(text io.Reader) error {
	bw := bodyWriters.Get().(*bufio.Writer)
	bw.Reset(deadlineWriter{c})
	buf := copyBuffers.Get().(*[]byte)
	defer func() {
		bw.Reset(nil)
		bodyWriters.Put(bw)
		copyBuffers.Put(buf)
	}()
	enc := NewBodyEncoder(bw)
	_, err := io.CopyBuffer(enc, messageReader{text}, *buf)
	if err == nil {
		err = enc.Ended()
	}
	if err == nil {
		err = bw.Flush()
	}
	return err
}

// DotReply sends the queued final dot (with anything queued behind it) and reads its reply.
// Only a 2xx reply is success: a 4xx, 5xx, malformed or wrong-class reply is an *Error in
// PhaseDot with the reply. A failed write of the dot is PhaseBody, since a write that fails has
// not handed all of ".\r\n" over and the server cannot have seen the end of data; only once the
// dot's write succeeded is a lost connection PhaseDot with no reply, which is a possible
// duplicate.
func (c *Client) DotReply(ctx context.Context) (Reply, error) {
	if !c.dotQueued {
		return Reply{}, &Error{Phase: PhaseDot, Peer: c.opt.Peer, Err: errors.New("smtp: no final dot was queued")}
	}
	if err := c.flush(ctx, PhaseBody); err != nil {
		c.dotQueued = false
		return Reply{}, err
	}
	return c.readDot(ctx)
}

// readDot reads the reply to a dot that has been written.
func (c *Client) readDot(ctx context.Context) (Reply, error) {
	c.dotQueued = false
	r, err := c.read(ctx, PhaseDot)
	if err != nil {
		return r, err
	}
	if !r.Positive() {
		return r, c.replyError(PhaseDot, r)
	}
	return r, nil
}

// DotQueued reports whether a final dot waits for DotReply or EnvelopeAfterDot.
func (c *Client) DotQueued() bool { return c.dotQueued }

// Reset sends RSET (RFC 5321 §4.1.1.5) so that another transaction can start on the connection.
func (c *Client) Reset(ctx context.Context) error {
	r, err := c.roundTrip(ctx, PhaseMail, "RSET")
	if err != nil {
		return err
	}
	if r.Code != 250 {
		return c.replyError(PhaseMail, r)
	}
	return nil
}

// messageReader tags errors from reading the message, so that they are not mistaken for the
// connection's.
type messageReader struct{ r io.Reader }

func (m messageReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", ErrMessageRead, err)
	}
	return n, err
}
