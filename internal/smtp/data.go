package smtp

import (
	"bufio"
	"bytes"
	"io"
)

// BodyEncoder turns a message in UNIX or mixed line-ending convention into the DATA wire form
// (RFC 5321 §4.5.2 transparency, §2.3.8 line endings) while it streams, holding no more than one
// input chunk:
//
//   - LF becomes CRLF; a CRLF already there is kept as it is (no CRCRLF);
//   - a '.' at the start of a line is doubled;
//   - a lone CR (not followed by LF) is passed through unchanged and never ends a line, so
//     "\r.\n" in a message can never become the end-of-data "\r\n.\r\n" on the wire
//     (qmail-remote contract, decision 1: the notqmail injection bug is not copied);
//   - a CR as the very last byte counts as a line ending, as in the reference ("abc\r" goes out
//     as "abc\r\n");
//   - 8-bit bytes, NULs and long lines pass unchanged.
//
// Close writes the final ".\r\n", or returns ErrPartialLine (writing nothing more) when the
// message did not end with a line ending.
type BodyEncoder struct {
	w         *bufio.Writer
	lineStart bool // the next input byte starts a line
	lastCR    bool // the last input byte written was a CR
}

// NewBodyEncoder returns an encoder writing to w. The caller flushes w.
func NewBodyEncoder(w *bufio.Writer) *BodyEncoder { return &BodyEncoder{w: w, lineStart: true} }

// Write encodes p. It never fails on content; errors come from the underlying writer.
func (e *BodyEncoder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if e.lineStart && p[0] == '.' {
			e.w.WriteByte('.')
		}
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		if len(seg) > 0 {
			e.w.Write(seg)
			e.lineStart = false
			e.lastCR = seg[len(seg)-1] == '\r'
		}
		if i < 0 {
			break
		}
		if e.lastCR {
			e.w.WriteByte('\n')
		} else {
			e.w.WriteString("\r\n")
		}
		e.lineStart, e.lastCR = true, false
		p = p[i+1:]
	}
	if _, err := e.w.Write(nil); err != nil {
		return 0, err
	}
	return n, nil
}

// Close ends the message with ".\r\n". It returns ErrPartialLine, and writes nothing, when the
// last line had no line ending; a final lone CR is completed to CRLF first.
func (e *BodyEncoder) Close() error {
	if !e.lineStart {
		if !e.lastCR {
			return ErrPartialLine
		}
		e.w.WriteByte('\n')
	}
	_, err := e.w.WriteString(".\r\n")
	return err
}

var _ io.WriteCloser = (*BodyEncoder)(nil)
