package smtptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// expectLine reads one line and checks it against a >, >~ or > * directive.
func (p *player) expectLine(st *step) error {
	line, crlf, err := readLine(p.r)
	if err != nil {
		return lineErr(line, err, p.s.timeout)
	}
	if !crlf {
		return fmt.Errorf("got %q ending in a bare LF, want CRLF", line)
	}
	switch st.kind {
	case opExpect:
		if string(line) != st.text {
			return fmt.Errorf("got %q", line)
		}
	case opMatch:
		if !st.re.Match(line) {
			return fmt.Errorf("got %q, which does not match", line)
		}
	}
	return nil
}

// lineErr describes a failed line read; partial is what arrived of the line.
func lineErr(partial []byte, err error, timeout time.Duration) error {
	err = readErr(err)
	switch {
	case errors.Is(err, errAborted), errors.Is(err, errTooMuch):
		return err
	case errors.Is(err, errLineTooLong):
		return fmt.Errorf("got a line longer than %d bytes starting %q", maxLine, partial[:min(len(partial), 80)])
	case errors.Is(err, io.EOF) && len(partial) == 0:
		return errors.New("got EOF: the client closed the connection")
	case errors.Is(err, io.EOF):
		return fmt.Errorf("got EOF after the partial line %q", partial)
	case errors.Is(err, errTimeout) && len(partial) == 0:
		return fmt.Errorf("no line from the client within %v", timeout)
	case errors.Is(err, errTimeout):
		return fmt.Errorf("no end of line from the client within %v after %q", timeout, partial)
	}
	return fmt.Errorf("read: %w", err)
}

// data reads a message body for "! data" and records it.
func (p *player) data() error {
	body, err := readData(p.r)
	if err == nil {
		p.s.addData(body)
		return nil
	}
	err = readErr(err)
	switch {
	case errors.Is(err, errAborted):
		return err
	case errors.Is(err, errTooMuch):
		return fmt.Errorf("message body longer than %d bytes", maxData)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("got EOF after %d bytes of the message body, before its final dot", len(body))
	case errors.Is(err, errTimeout):
		return fmt.Errorf("the client sent nothing for %v after %d bytes of the message body", p.s.timeout, len(body))
	}
	return fmt.Errorf("read: %w", err)
}

// readN reads exactly n bytes for "! read".
func (p *player) readN(n int) error {
	buf := make([]byte, n)
	got, err := io.ReadFull(p.r, buf)
	if err == nil {
		return nil
	}
	err = readErr(err)
	switch {
	case errors.Is(err, errAborted):
		return err
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("got EOF after %d of %d bytes", got, n)
	case errors.Is(err, errTimeout):
		return fmt.Errorf("got %d of %d bytes within %v", got, n, p.s.timeout)
	}
	return fmt.Errorf("read: %w", err)
}

// stall reads and records whatever arrives, replying nothing, until the
// client closes or the test ends.
func (p *player) stall() error {
	p.s.setQuick(p.slot)
	p.rec.idle = 0
	_, err := io.Copy(io.Discard, p.r)
	if err = readErr(err); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// expectEOF requires the client to close, or half-close, without sending.
func (p *player) expectEOF() error {
	var buf [512]byte
	n, err := p.r.Read(buf[:])
	if n > 0 {
		return fmt.Errorf("got %q, want EOF", buf[:n])
	}
	err = readErr(err)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case errors.Is(err, errTimeout):
		return fmt.Errorf("the client did not close the connection within %v", p.s.timeout)
	case errors.Is(err, errAborted):
		return err
	}
	return fmt.Errorf("read: %w", err)
}

// eofOrQuit accepts EOF, or QUIT and then EOF. QUIT is answered with 221 and
// a half-close, as a server closes after QUIT (RFC 5321 §4.1.1.10), so a
// client that waits for the server to close does not hang.
func (p *player) eofOrQuit() error {
	line, crlf, err := readLine(p.r)
	if err != nil {
		if errors.Is(readErr(err), io.EOF) && len(line) == 0 {
			return nil
		}
		return lineErr(line, err, p.s.timeout)
	}
	if !crlf || !strings.EqualFold(string(line), "QUIT") {
		return fmt.Errorf("got %q, want QUIT or EOF", line)
	}
	if err := p.conn.SetWriteDeadline(time.Now().Add(p.s.timeout)); err != nil {
		return writeErr(err)
	}
	p.w.WriteString("221 2.0.0 smtptest closing\r\n")
	if err := p.halfClose(); err != nil && !errors.Is(err, errPeerGone) {
		return err
	}
	return p.expectEOF()
}

// startTLS runs the server side of a TLS handshake on the raw connection.
// Bytes the client sent before the handshake are a failure: after the 220 to
// STARTTLS the client must start the negotiation before any other command
// (RFC 3207 §4).
func (p *player) startTLS() error {
	if n := p.r.Buffered(); n > 0 {
		b, _ := p.r.Peek(n)
		return fmt.Errorf("the client sent %q before the TLS handshake", b)
	}
	if p.tls != nil {
		return errors.New("TLS is already on")
	}
	tap := &tapConn{Conn: p.raw}
	tc := tls.Server(tap, p.s.tlsConf)
	if err := p.raw.SetDeadline(time.Now().Add(p.s.timeout)); err != nil {
		return readErr(err)
	}
	err := tc.Handshake()
	if err2 := p.raw.SetDeadline(time.Time{}); err == nil {
		err = err2
	}
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return errAborted
		}
		p.afterFailedHandshake(tap.buf)
		return fmt.Errorf("%w: %v", errHandshake, err)
	}
	p.tls = tc
	p.use(tc)
	return nil
}

// afterFailedHandshake puts back, for the directives that follow, the bytes
// the TLS layer read past the client's last TLS record: what the client sent
// in clear after giving up on the handshake.
func (p *player) afterFailedHandshake(read []byte) {
	clear := pastRecords(read)
	if len(clear) == 0 {
		return
	}
	p.s.record(clear)
	p.r = bufio.NewReader(io.MultiReader(bytes.NewReader(clear), p.rec))
}

// tapConn keeps a copy of what the TLS layer reads during a handshake (at
// most maxLine bytes), so that bytes it swallowed can be found afterwards.
type tapConn struct {
	net.Conn
	buf []byte
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if keep := min(n, maxLine-len(c.buf)); keep > 0 {
		c.buf = append(c.buf, b[:keep]...)
	}
	return n, err
}

// pastRecords walks b as TLS records (RFC 8446 §5.1: a content type from 20
// to 24, a 0x03 major version, a 16-bit length) and returns what follows the
// last whole record when it cannot be the start of another one.
func pastRecords(b []byte) []byte {
	for len(b) > 0 {
		if b[0] < 20 || b[0] > 24 || (len(b) > 1 && b[1] != 3) {
			return b
		}
		if len(b) < 5 {
			return nil
		}
		n := 5 + (int(b[3])<<8 | int(b[4]))
		if n > len(b) {
			return nil // a partial record: nothing to tell
		}
		b = b[n:]
	}
	return nil
}

// halfClose flushes and closes the writing side: close_notify under TLS,
// then a TCP FIN. The client reads EOF after everything written before.
func (p *player) halfClose() error {
	if err := p.flush(); err != nil {
		return err
	}
	if p.tls != nil {
		_ = p.tls.CloseWrite() // best effort: the client may be gone
	}
	if tc, ok := p.raw.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	return nil
}

// reset flushes what the script wrote and closes the connection with a TCP
// reset (SO_LINGER 0, RFC 793 §3.4) instead of a FIN: the client's next write
// or read fails with "connection reset" (a server that crashed or was killed).
// Under TLS no close_notify is sent either.
func (p *player) reset() error {
	if err := p.flush(); err != nil {
		return err
	}
	if tc, ok := p.raw.(*net.TCPConn); ok {
		if err := tc.SetLinger(0); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
	}
	return writeErr(p.raw.Close())
}

// linger reads and records after "! close" until the client closes, the
// timeout expires or the test ends, so that unread client bytes do not turn
// the close into a reset that destroys replies in flight.
func (p *player) linger() {
	p.s.setQuick(p.slot)
	_, _ = io.Copy(io.Discard, p.r)
}

// endDrain runs after the last directive: it half-closes and waits for the
// client to close. Bytes from the client, or a client still connected when the
// test ends, are failures.
func (p *player) endDrain() {
	last := len(p.steps)
	if err := p.halfClose(); err != nil {
		return // the client is gone or the test ended; nothing left to check
	}
	p.rec.idle = 0
	var buf [512]byte
	n, err := p.r.Read(buf[:])
	err = readErr(err)
	switch {
	case n > 0:
		p.s.fail(&failure{conn: p.slot + 1, err: fmt.Errorf(
			"the client sent %q after the end of the script (line %d was the last)", buf[:n], p.steps[last-1].line)})
	case errors.Is(err, errAborted):
		p.s.fail(&failure{conn: p.slot + 1, err: errors.New(
			"the client left the connection open after the script ended")})
	}
}
