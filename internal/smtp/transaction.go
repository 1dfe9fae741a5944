package smtp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
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
}

// Sent holds the replies of a transaction's envelope, as far as they were read.
type Sent struct {
	Mail     Reply
	Rcpt     []Reply // in the order of Envelope.To; shorter when the session failed midway
	Data     Reply
	Accepted int // recipients whose reply was an acceptance
}

// RcptAccepted reports whether a RCPT (or MAIL) reply accepts it: only a well-formed 2xx does
// (RFC 5321 §4.2: 250/251; §3.3 gives RCPT no 3xx; decision 9). The reference takes any code
// below 400, so a 354 to MAIL let it send RCPTs a server had to refuse with 503 (a false
// bounce). Any other reply is refused; its class decides how: only 5xx is permanent.
func RcptAccepted(r Reply) bool { return r.Positive() }

// Envelope runs MAIL FROM, one RCPT TO per recipient and DATA (RFC 5321 §3.3). When the server
// offers PIPELINING (RFC 2920 §3.1) the commands go out in one write and the replies are matched
// in order; otherwise each command waits for its reply. Both ways share this one path.
//
// On success the server has answered DATA with 354 and the caller must send the text with Body.
// Otherwise the error is an *Error: MAIL refused (PhaseMail, with the reply), no recipient
// accepted (PhaseRcpt, ErrNoRecipients), DATA refused (PhaseData), or an I/O failure in the phase
// being read. Local refusals come before anything is sent: ErrNeedsSMTPUTF8 and ErrTooBig
// (PhaseMail), ErrAddress. Sent is never nil and holds every reply that was read.
func (c *Client) Envelope(ctx context.Context, env Envelope) (*Sent, error) {
	sent := &Sent{}
	mail, err := c.mailCommand(env)
	if err != nil {
		return sent, err
	}
	if c.ext.Has("PIPELINING") {
		return sent, c.pipelined(ctx, mail, env.To, sent)
	}
	return sent, c.stepwise(ctx, mail, env.To, sent)
}

// mailCommand builds MAIL FROM with its parameters, or refuses locally.
func (c *Client) mailCommand(env Envelope) (string, error) {
	utf8 := !ASCII(env.From)
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
	cmd := "MAIL FROM:<" + Path(env.From, utf8) + ">"
	if c.ext.Has("SIZE") && env.Size > 0 {
		cmd += " SIZE=" + strconv.FormatInt(env.Size, 10)
	}
	if env.EightBit && c.ext.Has("8BITMIME") {
		cmd += " BODY=8BITMIME"
	}
	if utf8 {
		cmd += " SMTPUTF8"
	}
	cmd += c.authParam(env.From)
	c.utf8 = utf8
	return cmd, nil
}

// stepwise sends each command and waits for its reply.
func (c *Client) stepwise(ctx context.Context, mail string, to []string, sent *Sent) error {
	r, err := c.roundTrip(ctx, PhaseMail, mail)
	sent.Mail = r
	if err != nil {
		return err
	}
	if !RcptAccepted(r) {
		return c.replyError(PhaseMail, r)
	}
	for _, rcpt := range to {
		r, err := c.roundTrip(ctx, PhaseRcpt, "RCPT TO:<"+Path(rcpt, c.utf8)+">")
		if err != nil {
			return err
		}
		sent.add(r)
	}
	if sent.Accepted == 0 {
		return &Error{Phase: PhaseRcpt, Peer: c.opt.Peer, Err: ErrNoRecipients}
	}
	r, err = c.roundTrip(ctx, PhaseData, "DATA")
	sent.Data = r
	if err != nil {
		return err
	}
	return c.dataStarted(r)
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

// pipelined writes MAIL, every RCPT and DATA at once and then reads the replies in order. The
// write runs in its own goroutine so that a server answering while the client still writes a
// long recipient list cannot deadlock the two (RFC 2920 §3.1). Every reply is read even after a
// refusal, so a server that rejects MAIL and hangs up still yields its reply as the outcome.
func (c *Client) pipelined(ctx context.Context, mail string, to []string, sent *Sent) error {
	if err := c.usable(PhaseMail); err != nil {
		return err
	}
	var batch bytes.Buffer
	c.trace("C: ", mail)
	batch.WriteString(mail + "\r\n")
	for _, rcpt := range to {
		line := "RCPT TO:<" + Path(rcpt, c.utf8) + ">"
		c.trace("C: ", line)
		batch.WriteString(line + "\r\n")
	}
	c.trace("C: ", "DATA")
	batch.WriteString("DATA\r\n")

	defer c.begin(ctx)()
	if err := c.bw.Flush(); err != nil { // normally empty; keeps the byte order if not
		return c.botch(ioError(PhaseMail, c.opt.Peer, ctxErr(ctx, err)))
	}
	c.conn.SetWriteDeadline(c.deadline())
	written := make(chan error, 1)
	go func() { // touches only the connection, never the Client's fields
		_, err := c.conn.Write(batch.Bytes())
		written <- err
	}()
	err := c.readEnvelope(ctx, len(to), sent)
	if werr := <-written; werr != nil && err == nil {
		err = c.botch(ioError(PhaseMail, c.opt.Peer, ctxErr(ctx, werr)))
	}
	return err
}

// readEnvelope reads the replies to a pipelined MAIL, n RCPTs and DATA and decides the outcome.
func (c *Client) readEnvelope(ctx context.Context, n int, sent *Sent) error {
	r, err := c.read(ctx, PhaseMail)
	sent.Mail = r
	if err != nil {
		return err
	}
	var refused error
	if !RcptAccepted(r) {
		refused = c.replyError(PhaseMail, r)
	}
	for i := 0; i < n; i++ {
		r, err := c.read(ctx, PhaseRcpt)
		if err != nil {
			return firstErr(refused, err)
		}
		if refused == nil {
			sent.add(r)
		}
	}
	r, err = c.read(ctx, PhaseData)
	if err != nil {
		return firstErr(refused, err)
	}
	if refused == nil {
		sent.Data = r
	}
	if refused == nil && sent.Accepted == 0 {
		refused = &Error{Phase: PhaseRcpt, Peer: c.opt.Peer, Err: ErrNoRecipients}
	}
	if refused != nil {
		if r.Code == codeStartData {
			c.abortData(ctx) // a server that opened DATA anyway gets an empty message ended at once
		}
		return refused
	}
	return c.dataStarted(r)
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
// (RFC 5321 §4.1.1.4). Only a 2xx reply is success: a 4xx, 5xx, malformed or wrong-class reply
// is an *Error in PhaseDot with the reply. Anything the server sent while the text went out is
// ErrUnsolicited in PhaseBody, and the dot is not sent (decision 12); a connection it closed by
// then is an I/O error in PhaseBody. The text is flushed to the network before the dot is
// written, so the two are distinct (decision 10): an I/O failure up to and including the write
// of the dot is PhaseBody, since a write that fails has not handed all of ".\r\n" over and the
// server cannot have seen the end of data; only once the dot's write succeeded is a lost
// connection PhaseDot with no reply, which MaybeDelivered reports as a possible duplicate. A
// message without a final line ending returns ErrPartialLine before the dot, and the client is
// botched: close it without QUIT.
func (c *Client) Body(ctx context.Context, text io.Reader) (Reply, error) {
	if err := c.usable(PhaseBody); err != nil {
		return Reply{}, err
	}
	end := c.begin(ctx)
	enc := NewBodyEncoder(c.bw)
	if c.bodyBuf == nil {
		c.bodyBuf = make([]byte, 32<<10)
	}
	_, err := io.CopyBuffer(enc, messageReader{text}, c.bodyBuf)
	if err == nil {
		err = enc.Ended()
	}
	if err == nil {
		err = c.bw.Flush() // all of the text leaves before the dot is written
	}
	end()
	switch {
	case errors.Is(err, ErrPartialLine), errors.Is(err, ErrMessageRead):
		return Reply{}, c.botch(&Error{Phase: PhaseBody, Peer: c.opt.Peer, Err: err})
	case err != nil:
		return Reply{}, c.botch(ioError(PhaseBody, c.opt.Peer, ctxErr(ctx, err)))
	}
	// Decision 12: a reply that came while the text went out answers no command. Were the dot
	// written now, that reply would be read as the answer to it.
	came, err := c.pending(ctx)
	if err != nil {
		return Reply{}, c.botch(ioError(PhaseBody, c.opt.Peer, err))
	}
	if came {
		return Reply{}, c.unsolicited(PhaseBody, nil)
	}
	c.trace("C: ", "[message text, then .]")
	enc.Close() // cannot fail: the text ended with a line ending and the buffer is empty
	if err := c.flush(ctx, PhaseBody); err != nil {
		return Reply{}, err
	}
	r, err := c.read(ctx, PhaseDot)
	if err != nil {
		return r, err
	}
	if !r.Positive() {
		return r, c.replyError(PhaseDot, r)
	}
	return r, nil
}

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
