package qmtp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Options configure a Client. The zero value is usable: no timeouts beyond the context's, no
// transcript.
type Options struct {
	// Peer is the server's address, used in errors.
	Peer netip.AddrPort
	// Timeout bounds every write of a chunk of the package and every read of one response
	// (qmail's timeoutremote). Zero means no limit beyond the context's deadline.
	Timeout time.Duration
	// Transcript, when set, receives the dialogue: "C: " and "S: " lines. The message text is
	// summarised, never copied. Opt-in: it holds addresses.
	Transcript io.Writer
}

// Client is a QMTP session on an established connection (already inside TLS for QMTPS). Send may
// be called again for the next message on the same connection. It is used from one goroutine.
// After an I/O error, a timeout or a protocol error the client is botched: every later Send
// returns an *Error wrapping ErrBotched, and the caller closes it.
type Client struct {
	conn    net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	opt     Options
	buf     []byte // copy buffer for the message, reused by every Send
	botched error
	// ctxDeadline is the deadline of the context of the Send under way.
	ctxDeadline time.Time
}

// NewClient wraps conn. The caller keeps ownership of conn until Close. QMTP has no greeting:
// the client speaks first.
func NewClient(conn net.Conn, opt Options) *Client {
	c := &Client{conn: conn, opt: opt}
	c.br = bufio.NewReaderSize(conn, 4096)
	c.bw = bufio.NewWriterSize(deadlineWriter{c}, 64<<10)
	return c
}

// Peer is the server's address as given in Options.
func (c *Client) Peer() netip.AddrPort { return c.opt.Peer }

// Botched reports whether the connection is out of step and must be closed.
func (c *Client) Botched() bool { return c.botched != nil }

// Close closes the connection. QMTP has no QUIT: a client that is done simply closes.
func (c *Client) Close() error { return c.conn.Close() }

// Send transmits one package (qmtp.txt §4): the message netstring (an LF byte, saying the
// message uses LF line ends, then the message with each CRLF turned into LF), the sender
// netstring ("" for the null sender), and a netstring of the recipients' netstrings. It then
// reads one response per recipient, in order (qmtp.txt §5). Addresses go out byte for byte.
//
// On success there is one Response per recipient, each K, Z or D. On failure the error is an
// *Error and the responses read before it are returned (Error.Index of them):
//   - PhaseSend: the package was not completed, so the server must discard it; nothing was
//     delivered. ErrMessageRead (a local failure: the message could not be read, or changed
//     between the count and the copy), ErrTimeout, ErrConnection.
//   - PhaseResponse: after the last byte; the recipients without a response may have the
//     message (MaybeDelivered). ErrTimeout, ErrConnection, ErrProtocol.
//
// Every failure but ErrNoRecipients botches the client.
func (c *Client) Send(ctx context.Context, msg Message, sender string, recipients []string) ([]Response, error) {
	if c.botched != nil {
		return nil, &Error{Phase: PhaseSend, Peer: c.opt.Peer, Err: ErrBotched}
	}
	if len(recipients) == 0 {
		return nil, &Error{Phase: PhaseSend, Peer: c.opt.Peer, Err: ErrNoRecipients}
	}
	if c.buf == nil {
		c.buf = make([]byte, 32<<10)
	}
	size, err := copyLF(io.Discard, msg.Open(), c.buf)
	if err != nil {
		// Nothing was written yet: the connection is still in step.
		return nil, &Error{Phase: PhaseSend, Peer: c.opt.Peer, Err: fmt.Errorf("%w: %w", ErrMessageRead, err)}
	}
	if err := c.sendPackage(ctx, msg, size, sender, recipients); err != nil {
		return nil, err
	}
	return c.readResponses(ctx, len(recipients))
}

// sendPackage writes the package whose message is size bytes in LF form and flushes it.
func (c *Client) sendPackage(ctx context.Context, msg Message, size int64, sender string, recipients []string) error {
	defer c.begin(ctx)()
	c.trace("C: ", strconv.FormatInt(size+1, 10)+":<LF and "+strconv.FormatInt(size, 10)+" bytes of message>,")
	c.bw.WriteString(strconv.FormatInt(size+1, 10))
	c.bw.WriteString(":\n")
	lw := &limitWriter{w: c.bw, n: size}
	_, err := copyLF(lw, msg.Open(), c.buf)
	if err == nil && lw.n != 0 {
		err = errMessageChanged
	}
	var re readError
	switch {
	case errors.As(err, &re), errors.Is(err, errMessageChanged):
		// The package stays incomplete: the caller closes, and the server discards it.
		return c.botch(&Error{Phase: PhaseSend, Peer: c.opt.Peer, Err: fmt.Errorf("%w: %w", ErrMessageRead, err)})
	case err != nil:
		return c.botch(ioError(PhaseSend, c.opt.Peer, ctxErr(ctx, err)))
	}
	tail := append(c.buf[:0], ',')
	tail = AppendNetstring(tail, []byte(sender))
	var rcpts []byte
	for _, r := range recipients {
		rcpts = AppendNetstring(rcpts, []byte(r))
	}
	tail = AppendNetstring(tail, rcpts)
	c.trace("C: ", string(tail[1:]))
	c.bw.Write(tail)
	if err := c.bw.Flush(); err != nil {
		return c.botch(ioError(PhaseSend, c.opt.Peer, ctxErr(ctx, err)))
	}
	return nil
}

// readResponses reads n responses, each under its own deadline.
func (c *Client) readResponses(ctx context.Context, n int) ([]Response, error) {
	defer c.begin(ctx)()
	out := make([]Response, 0, n)
	for i := 0; i < n; i++ {
		c.conn.SetReadDeadline(c.deadline())
		r, err := readResponse(c.br)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the server hung up with responses missing
			}
			e := ioError(PhaseResponse, c.opt.Peer, ctxErr(ctx, err))
			e.Index = i
			return out, c.botch(e)
		}
		c.trace("S: ", r.String())
		out = append(out, r)
	}
	return out, nil
}

// deadlineWriter bounds every write to the connection by the Timeout (and the deadline of the
// operation's context), so a server that stops reading cannot hold the client forever, while a
// large message still goes out chunk by chunk.
type deadlineWriter struct{ c *Client }

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.c.conn.SetWriteDeadline(w.c.deadline())
	return w.c.conn.Write(p)
}

// deadline is now+Timeout, or the operation context's deadline when that is earlier; zero means
// none.
func (c *Client) deadline() time.Time {
	var d time.Time
	if c.opt.Timeout > 0 {
		d = time.Now().Add(c.opt.Timeout)
	}
	if !c.ctxDeadline.IsZero() && (d.IsZero() || c.ctxDeadline.Before(d)) {
		d = c.ctxDeadline
	}
	return d
}

// begin starts an operation under ctx: it records the context's deadline for every read and
// write that follows and makes a cancellation interrupt blocked I/O. The returned func ends it.
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

// botch marks the client unusable and returns e.
func (c *Client) botch(e *Error) *Error {
	if c.botched == nil {
		c.botched = e
	}
	return e
}

// trace writes one transcript line.
func (c *Client) trace(dir, line string) {
	if c.opt.Transcript != nil {
		io.WriteString(c.opt.Transcript, dir+line+"\n")
	}
}
