package smtptest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Bounds on what the client may send, so a runaway client fails the test
// instead of exhausting memory.
const (
	maxLine     = 64 << 10  // one > line, terminator included
	maxData     = 64 << 20  // one ! data body
	maxReceived = 256 << 20 // everything recorded for Server.Received
)

// The errors below only ever reach a test inside a *failure, whose text
// carries the package prefix, so they carry none of their own.
var (
	// errAborted: the test ended (the cleanup closed the connection or
	// interrupted a sleep) while a directive was running.
	errAborted = errors.New("the test ended while this line was running")
	// errPeerGone: a write failed because the client had closed.
	errPeerGone = errors.New("the client closed the connection before reading this")
	// errHandshake: the TLS handshake failed.
	errHandshake = errors.New("tls handshake failed")
	// errTimeout: a read waited longer than Options.Timeout.
	errTimeout = errors.New("timed out")
	// errLineTooLong: a > line was longer than maxLine.
	errLineTooLong = errors.New("line too long")
	// errTooMuch: the client sent more than maxData or maxReceived.
	errTooMuch = errors.New("the client sent too much")
)

// recorder is the reading side of a connection: it sets the read deadline
// before every read (idle 0 means none) and records what arrives.
type recorder struct {
	s    *Server
	conn net.Conn // the raw connection or the *tls.Conn over it
	idle time.Duration
}

// Read reads from the connection and appends what it got to Server.Received.
func (r *recorder) Read(b []byte) (int, error) {
	var dl time.Time
	if r.idle > 0 {
		dl = time.Now().Add(r.idle)
	}
	if err := r.conn.SetReadDeadline(dl); err != nil {
		return 0, err
	}
	n, err := r.conn.Read(b)
	if n > 0 && !r.s.record(b[:n]) {
		return n, errTooMuch
	}
	return n, err
}

// readLine reads one line up to LF and returns it without its terminator.
// crlf reports whether the LF was preceded by CR. On error, line holds what
// arrived of an unfinished line.
func readLine(r *bufio.Reader) (line []byte, crlf bool, err error) {
	var buf []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(buf)+len(frag) > maxLine {
			return append(buf, frag[:maxLine-len(buf)]...), false, errLineTooLong
		}
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return buf, false, err
		}
		break
	}
	buf = buf[:len(buf)-1]
	if n := len(buf); n > 0 && buf[n-1] == '\r' {
		return buf[:n-1], true, nil
	}
	return buf, false, nil
}

// readData reads a DATA body up to and including its final ".\r\n": a line
// that is exactly ".\r\n" and starts the body or follows a CRLF
// (RFC 5321 §4.1.1.4). A "." after a bare LF does not end the body. It returns
// the wire form read so far, also on error.
func readData(r *bufio.Reader) ([]byte, error) {
	var body []byte
	lineStart := 0
	for {
		frag, err := r.ReadSlice('\n')
		if len(body)+len(frag) > maxData {
			return body, errTooMuch
		}
		body = append(body, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return body, err
		}
		line := body[lineStart:]
		if bytes.Equal(line, []byte(".\r\n")) && (lineStart == 0 || (lineStart >= 2 && body[lineStart-2] == '\r')) {
			return body, nil
		}
		lineStart = len(body)
	}
}

// readErr sorts a read error into what the directives care about: io.EOF
// (the client closed or reset the connection), errAborted (the cleanup
// closed it), errTimeout, or the error itself.
func readErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, net.ErrClosed):
		return errAborted
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return io.EOF
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errTimeout
	}
	return err
}

// writeErr sorts a write error: errAborted (the cleanup closed the
// connection), errPeerGone (the client closed it), or the error itself.
func writeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, net.ErrClosed):
		return errAborted
	case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
		return errPeerGone
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errors.New("the client did not read the reply in time")
	}
	return err
}
