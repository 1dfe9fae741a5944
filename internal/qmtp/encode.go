package qmtp

import (
	"bytes"
	"errors"
	"io"
)

// Message is the message Send transmits. Open returns a reader from its first byte, anew on each
// call: Send reads the message twice. *message.Message satisfies it, a pipe included (it spools).
type Message interface {
	Open() io.Reader
}

// errMessageRead marks a failure of the message source (a local failure), as opposed to the
// connection, inside copyLF.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }
func (e readError) Unwrap() error { return e.err }

// copyLF copies src to dst in QMTP's LF convention: each CR immediately followed by LF is dropped;
// every other byte, a lone CR included, passes unchanged. It returns the bytes written. A read
// failure comes back as a readError, a write failure as it is. buf is the copy buffer.
//
// The same function counts (dst a counter) and sends, so the length announced first and the bytes
// sent after cannot disagree unless the message itself changed in between.
func copyLF(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	var n int64
	pendingCR := false // the last byte read was a CR, not yet written
	write := func(p []byte) error {
		m, err := dst.Write(p)
		n += int64(m)
		return err
	}
	for {
		k, rerr := src.Read(buf)
		p := buf[:k]
		if pendingCR && k > 0 {
			pendingCR = false
			if p[0] != '\n' {
				if err := write([]byte{'\r'}); err != nil {
					return n, err
				}
			}
		}
		for len(p) > 0 {
			i := bytes.Index(p, []byte("\r\n"))
			if i < 0 {
				if p[len(p)-1] == '\r' {
					pendingCR = true
					p = p[:len(p)-1]
				}
				if err := write(p); err != nil {
					return n, err
				}
				break
			}
			if err := write(p[:i]); err != nil {
				return n, err
			}
			p = p[i+1:] // from the LF on
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, readError{rerr}
		}
	}
	if pendingCR {
		if err := write([]byte{'\r'}); err != nil {
			return n, err
		}
	}
	return n, nil
}

// errMessageChanged: the second reading of the message gave more or fewer bytes than the first.
var errMessageChanged = errors.New("message changed while it was sent")

// limitWriter passes at most n bytes to w and fails, writing nothing of it, on a write past that.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errMessageChanged
	}
	m, err := l.w.Write(p)
	l.n -= int64(m)
	return m, err
}
