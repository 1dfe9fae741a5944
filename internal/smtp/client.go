package smtp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Options configure a Client. The zero value is usable: no timeouts beyond the context's, no
// transcript.
type Options struct {
	// Peer is the server's address, used in errors and reports.
	Peer netip.AddrPort
	// Timeout bounds every read of a reply and every write of a command or body chunk
	// (qmail's timeoutremote; RFC 5321 §4.5.3.2 asks for minutes). Zero means no limit
	// beyond the context's deadline.
	Timeout time.Duration
	// Timeouts bound each phase on its own (Postfix's smtp_*_timeout); a zero field takes
	// Timeout.
	Timeouts Timeouts
	// Transcript, when set, receives the dialogue: "C: " and "S: " lines. Message text is
	// summarised, never copied. Opt-in: it may hold addresses.
	Transcript io.Writer
	// NoPipelining sends one command at a time even when the server offers PIPELINING.
	NoPipelining bool
	// EHLOOnlyIfESMTP sends HELO at once unless the greeting says "ESMTP" (ZMailer's -E), for
	// servers that mishandle EHLO.
	EHLOOnlyIfESMTP bool
	// LMTP speaks LMTP (RFC 2033, lmtp.go): LHLO instead of EHLO, with no HELO fallback, and
	// the envelope pipelined whether or not the server announces PIPELINING, which every LMTP
	// server must support. The replies after the final dot are read with DotReplies.
	LMTP bool
}

// Timeouts are per-phase limits, each for one read of a reply or one write, as Postfix's
// smtp(8) names them: Greeting (smtp_helo_timeout's greeting half), Command (EHLO/HELO,
// STARTTLS, AUTH, MAIL, RCPT, RSET), DataInit (DATA up to the 354), DataXfer (each write of the
// text), Dot (the reply to the final dot), Quit.
type Timeouts struct {
	Greeting, Command, DataInit, DataXfer, Dot, Quit time.Duration
}

// forPhase is the limit for phase p, or 0.
func (t Timeouts) forPhase(p Phase) time.Duration {
	switch p {
	case PhaseGreeting:
		return t.Greeting
	case PhaseData:
		return t.DataInit
	case PhaseBody:
		return t.DataXfer
	case PhaseDot:
		return t.Dot
	case PhaseQuit:
		return t.Quit
	case PhaseConnect:
		return 0
	}
	return t.Command
}

// Client is one SMTP session on an established connection. Its methods are called in protocol
// order (Greeting, Hello, then transactions, then Quit) from one goroutine. After an I/O error,
// a timeout or an over-long reply the client is botched: every later call returns an *Error
// wrapping ErrBotched, and the caller closes it.
type Client struct {
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	opt    Options
	ext    Extensions
	esmtp  bool  // the last hello was an accepted EHLO
	utf8   bool  // the current transaction declared SMTPUTF8
	authed bool  // Auth succeeded: MAIL FROM carries AUTH= (auth.go)
	greet  Reply // the greeting, for EHLOOnlyIfESMTP
	phase  Phase // the phase of the read or write under way: which timeout applies
	// chunked: the current transaction sends its text with BDAT (RFC 3030), not DATA
	chunked bool
	// chunkLimit, when set, makes BDAT chunks smaller than chunkSize (tests of many chunks)
	chunkLimit int
	// dotQueued: SendBody wrote the final dot into the buffer; DotReply or EnvelopeAfterDot
	// sends it and reads its reply.
	dotQueued bool
	botched   error
	// ctxDeadline is the deadline of the context of the operation under way.
	ctxDeadline time.Time
}

// NewClient wraps conn. The caller keeps ownership of conn until Close.
func NewClient(conn net.Conn, opt Options) *Client {
	c := &Client{opt: opt}
	c.setConn(conn)
	return c
}

func (c *Client) setConn(conn net.Conn) {
	c.conn = conn
	c.br = bufio.NewReaderSize(conn, 4096)
	c.bw = bufio.NewWriterSize(deadlineWriter{c}, 4096)
}

// deadlineWriter bounds every write to the connection by the Timeout (and the deadline of the
// operation's context), so a server that stops reading cannot hold the client forever, while
// a large message still goes out chunk by chunk.
type deadlineWriter struct{ c *Client }

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.c.conn.SetWriteDeadline(w.c.deadline())
	return w.c.conn.Write(p)
}

// deadline is now plus the timeout of the phase under way (Timeouts, else Timeout), or the
// operation context's deadline when that is earlier; zero means none.
func (c *Client) deadline() time.Time {
	var d time.Time
	t := c.opt.Timeouts.forPhase(c.phase)
	if t == 0 {
		t = c.opt.Timeout
	}
	if t > 0 {
		d = time.Now().Add(t)
	}
	if !c.ctxDeadline.IsZero() && (d.IsZero() || c.ctxDeadline.Before(d)) {
		d = c.ctxDeadline
	}
	return d
}

// Peer is the server's address as given in Options.
func (c *Client) Peer() netip.AddrPort { return c.opt.Peer }

// Extensions returns what the server announced in its last EHLO reply (empty after HELO).
func (c *Client) Extensions() Extensions { return c.ext }

// Extended reports whether the server accepted EHLO (ESMTP), not only HELO.
func (c *Client) Extended() bool { return c.esmtp }

// Botched reports whether the connection is out of step and must be closed.
func (c *Client) Botched() bool { return c.botched != nil }

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.conn.Close() }

// Greeting reads the server's greeting (RFC 5321 §4.3.1). Only a 220 is success; any other
// reply, including a malformed one, is an *Error with the reply and ErrReply.
func (c *Client) Greeting(ctx context.Context) (Reply, error) {
	r, err := c.read(ctx, PhaseGreeting)
	c.greet = r
	if err != nil {
		return r, err
	}
	if r.Code != 220 {
		return r, c.replyError(PhaseGreeting, r)
	}
	return r, nil
}

// Hello sends EHLO and, if the server refuses it, HELO (RFC 5321 §4.1.4, qmail-remote contract
// decision 2). Only 250 is success. On success Extensions holds what EHLO announced. A 421 to
// EHLO means the server is closing the channel (RFC 5321 §3.8): no HELO follows, and the error
// holds the 421. Under Options.LMTP it sends LHLO instead, with no fallback (lmtp.go).
func (c *Client) Hello(ctx context.Context, name string) error {
	c.ext, c.esmtp = Extensions{}, false
	if c.opt.LMTP {
		return c.lhlo(ctx, name)
	}
	if c.opt.EHLOOnlyIfESMTP && !c.greetsESMTP() {
		return c.helo(ctx, name)
	}
	r, err := c.roundTrip(ctx, PhaseHello, "EHLO "+name)
	if err != nil {
		return err
	}
	switch r.Code {
	case 250:
		c.ext = parseExtensions(r)
		c.esmtp = true
		return nil
	case codeClosing:
		return c.replyError(PhaseHello, r)
	}
	return c.helo(ctx, name)
}

func (c *Client) helo(ctx context.Context, name string) error {
	r, err := c.roundTrip(ctx, PhaseHello, "HELO "+name)
	if err != nil {
		return err
	}
	if r.Code != 250 {
		return c.replyError(PhaseHello, r)
	}
	return nil
}

// greetsESMTP reports whether the greeting's first line names ESMTP (RFC 5321 §4.3.1 lets a
// server say so; ZMailer's -E trusts it).
func (c *Client) greetsESMTP() bool {
	return len(c.greet.Lines) > 0 && strings.Contains(strings.ToUpper(c.greet.Lines[0]), "ESMTP")
}

// Pipelining reports whether commands may be sent in groups: the server offers PIPELINING
// (RFC 2920), or the session is LMTP, whose servers must (RFC 2033 §5), and Options.NoPipelining
// is not set.
func (c *Client) Pipelining() bool {
	return (c.ext.Has("PIPELINING") || c.opt.LMTP) && !c.opt.NoPipelining
}

// codeClosing is the reply of a server that is shutting the transmission channel down
// (RFC 5321 §3.8, §4.2.3).
const codeClosing = 421

// Quit sends QUIT and does not wait for the 221: the outcome is already known, and waiting for
// the remote side gains nothing (as qmail-remote). Errors are ignored; the caller closes.
func (c *Client) Quit(ctx context.Context) {
	if c.botched != nil {
		return
	}
	defer c.begin(ctx)()
	c.phase = PhaseQuit
	c.trace("C: ", "QUIT")
	c.bw.WriteString("QUIT\r\n")
	c.bw.Flush()
}

// roundTrip writes one command line and reads its reply.
func (c *Client) roundTrip(ctx context.Context, p Phase, line string) (Reply, error) {
	if err := c.write(ctx, p, line); err != nil {
		return Reply{}, err
	}
	return c.read(ctx, p)
}

// write sends one command line, flushed.
func (c *Client) write(ctx context.Context, p Phase, line string) error {
	if err := c.usable(p); err != nil {
		return err
	}
	c.queue(line)
	return c.flush(ctx, p)
}

// queue adds a command line to the write buffer.
func (c *Client) queue(line string) {
	c.trace("C: ", line)
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
}

// flush writes the buffer under the phase deadline.
func (c *Client) flush(ctx context.Context, p Phase) error {
	defer c.begin(ctx)()
	c.phase = p
	if err := c.bw.Flush(); err != nil {
		return c.botch(ioError(p, c.opt.Peer, ctxErr(ctx, err)))
	}
	return nil
}

// read reads one reply under the phase deadline. An over-long reply comes back as a malformed
// Reply holding what was read, with an *Error wrapping ErrReplyTooLong; the client is botched.
func (c *Client) read(ctx context.Context, p Phase) (Reply, error) {
	if err := c.usable(p); err != nil {
		return Reply{}, err
	}
	defer c.begin(ctx)()
	c.phase = p
	c.conn.SetReadDeadline(c.deadline())
	r, err := readReply(c.br)
	for _, l := range r.Lines {
		c.trace("S: ", l)
	}
	if errors.Is(err, ErrReplyTooLong) {
		r.Code = 0
		e := &Error{Phase: p, Peer: c.opt.Peer, Reply: &r, Err: ErrReplyTooLong}
		return r, c.botch(e)
	}
	if err != nil {
		return r, c.botch(ioError(p, c.opt.Peer, ctxErr(ctx, err)))
	}
	return r, nil
}

// begin starts an operation under ctx: it records the context's deadline for every read and
// write that follows and makes a cancellation interrupt blocked I/O. The returned func ends the
// operation.
func (c *Client) begin(ctx context.Context) (end func()) {
	c.ctxDeadline = time.Time{}
	if d, ok := ctx.Deadline(); ok {
		c.ctxDeadline = d
	}
	if ctx.Done() == nil {
		return func() {}
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

// ctxErr prefers the context's error when the context ended the I/O.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

// usable fails when an earlier error left the connection out of step.
func (c *Client) usable(p Phase) error {
	if c.botched != nil {
		return &Error{Phase: p, Peer: c.opt.Peer, Err: ErrBotched}
	}
	return nil
}

// botch marks the client unusable and returns e.
func (c *Client) botch(e *Error) *Error {
	if c.botched == nil {
		c.botched = e
	}
	return e
}

// replyError is the error for a reply that is not what phase p needs.
func (c *Client) replyError(p Phase, r Reply) *Error {
	return &Error{Phase: p, Peer: c.opt.Peer, Reply: &r, Err: ErrReply}
}

// trace writes one transcript line.
func (c *Client) trace(dir, line string) {
	if c.opt.Transcript != nil {
		io.WriteString(c.opt.Transcript, dir+line+"\n")
	}
}
