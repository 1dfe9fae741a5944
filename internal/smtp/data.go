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
//   - a lone CR (not followed by LF) also becomes CRLF: it ends a line, so no bare CR or LF ever
//     reaches the wire (RFC 5321 §2.3.8; qmail-remote contract, decisions 1 and 11). Passing it
//     through would put "\r.\r\n" on the wire for "\r.\n", which receivers that take a bare
//     CR for a line end read as the end of data (the outbound half of SMTP smuggling);
//   - a '.' at the start of a line is doubled, also after a lone CR;
//   - a CR as the very last byte is a line ending too ("abc\r" goes out as "abc\r\n");
//   - 8-bit bytes, NULs and long lines pass unchanged.
//
// Close writes the final ".\r\n", or returns ErrPartialLine (writing nothing more) when the
// message did not end with a line ending.
//
// The same encoder without the dot-stuffing (newLineEncoder) makes BDAT's payload (RFC 3030):
// the line endings are normalised in the same way, so that neither path ever puts a bare CR or
// LF on the wire, and the bytes sent are those message.Scan.WireSize counts for SIZE.
type BodyEncoder struct {
	w         textWriter
	lineStart bool // the next input byte starts a line
	afterCR   bool // the last input byte was a CR, already written as CRLF: an LF now is its own
	noStuff   bool // BDAT: a leading '.' is data, not doubled
}

// textWriter is where an encoder writes: a *bufio.Writer for DATA, the BDAT chunker.
type textWriter interface {
	io.Writer
	io.ByteWriter
	io.StringWriter
}

// NewBodyEncoder returns an encoder writing to w. The caller flushes w.
func NewBodyEncoder(w *bufio.Writer) *BodyEncoder { return &BodyEncoder{w: w, lineStart: true} }

// newLineEncoder returns an encoder that normalises line endings as BodyEncoder does but
// doubles no dot: the form BDAT carries.
func newLineEncoder(w textWriter) *BodyEncoder {
	return &BodyEncoder{w: w, lineStart: true, noStuff: true}
}

// Write encodes p. It never fails on content; errors come from the underlying writer.
func (e *BodyEncoder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if e.afterCR {
			e.afterCR = false
			if p[0] == '\n' { // the LF of a CRLF whose CR already went out as CRLF
				p = p[1:]
				continue
			}
		}
		if e.lineStart && p[0] == '.' && !e.noStuff {
			e.w.WriteByte('.')
		}
		i := lineEnd(p)
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		if len(seg) > 0 {
			e.w.Write(seg)
			e.lineStart = false
		}
		if i < 0 {
			break
		}
		e.w.WriteString("\r\n")
		e.lineStart, e.afterCR = true, p[i] == '\r'
		p = p[i+1:]
	}
	if _, err := e.w.Write(nil); err != nil {
		return 0, err
	}
	return n, nil
}

// lineEnd returns the index of the first CR or LF in p, or -1.
func lineEnd(p []byte) int {
	i := bytes.IndexByte(p, '\n')
	head := p
	if i >= 0 {
		head = p[:i]
	}
	if j := bytes.IndexByte(head, '\r'); j >= 0 {
		return j
	}
	return i
}

// Ended returns ErrPartialLine when the text written so far does not end with a line ending (a
// final lone CR counts as one). It writes nothing: the caller can flush the text and check for
// an early reply before the final dot goes out.
func (e *BodyEncoder) Ended() error {
	if !e.lineStart {
		return ErrPartialLine
	}
	return nil
}

// Close ends the message with ".\r\n". It returns ErrPartialLine, and writes nothing, when the
// last line had no line ending.
func (e *BodyEncoder) Close() error {
	if err := e.Ended(); err != nil {
		return err
	}
	_, err := e.w.WriteString(".\r\n")
	return err
}

var _ io.WriteCloser = (*BodyEncoder)(nil)
