package downgrade

import (
	"encoding/base64"
	"io"
)

// qpLine is the longest encoded line before a soft line break, the "=" not counted
// (RFC 2045 §6.7 rule 5: 76 characters with the "=").
const qpLine = 75

// qpWriter writes quoted-printable (RFC 2045 §6.7) for text. Each line ending of the input
// (LF or CRLF) is kept as a hard line break of the same kind, so decoding gives back the same
// bytes, line endings included. '=', control characters (a CR not before LF, NUL...), bytes
// of 0x7F and above, and a space or tab at the end of a line are escaped.
type qpWriter struct {
	w    io.Writer
	eol  string // line ending for soft line breaks
	n    int    // characters on the current output line
	ws   byte   // a space or tab not written yet: it is escaped if a line ending follows
	cr   bool   // a CR not written yet: a line ending if LF follows
	soft bool   // the current output line follows a soft line break
	buf  []byte // output waiting to be written
	werr error
}

const hexDigits = "0123456789ABCDEF"

func (q *qpWriter) Write(p []byte) (int, error) {
	for i := 0; i < len(p); {
		if j := q.plainRun(p, i); j > i {
			i = j
		} else {
			q.byte(p[i])
			i++
		}
		if len(q.buf) >= 4096 {
			q.drain()
		}
	}
	if q.werr != nil {
		return 0, q.werr
	}
	return len(p), nil
}

// plainRun copies the bytes from p[i] on that go out as they are (printable ASCII but '=',
// RFC 2045 §6.7 rule 2) as long as nothing is pending, breaking lines as it goes, and returns
// where it stopped. It is byte's result for those bytes, a run at a time.
func (q *qpWriter) plainRun(p []byte, i int) int {
	if q.cr || q.ws != 0 {
		return i
	}
	j := i
	for j < len(p) && p[j] > ' ' && p[j] < 0x7f && p[j] != '=' {
		j++
	}
	for i < j {
		if q.n == 0 && q.soft && p[i] == '-' {
			q.byte('-')
			i++
			continue
		}
		if q.n >= qpLine {
			q.softBreak()
			continue
		}
		k := min(j-i, qpLine-q.n)
		q.buf = append(q.buf, p[i:i+k]...)
		q.n += k
		i += k
	}
	return j
}

// byte encodes one byte.
func (q *qpWriter) byte(b byte) {
	if q.cr {
		q.cr = false
		if b == '\n' {
			q.endLine("\r\n")
			return
		}
		q.flushWS(false)
		q.escape('\r')
	}
	switch {
	case b == '\r':
		q.cr = true
	case b == '\n':
		q.endLine("\n")
	case b == ' ' || b == '\t':
		q.flushWS(false)
		q.ws = b
	case b == '=' || b < ' ' || b >= 0x7f:
		q.flushWS(false)
		q.escape(b)
	default:
		q.flushWS(false)
		q.put(b)
	}
}

// Close ends the data: a pending CR is escaped, and so is a final space or tab (decoders strip
// trailing white space, RFC 2045 §6.7 rule 3). No line ending is added.
func (q *qpWriter) Close() error {
	if q.cr {
		q.cr = false
		q.flushWS(false)
		q.escape('\r')
	}
	q.flushWS(true)
	q.drain()
	return q.werr
}

func (q *qpWriter) endLine(eol string) {
	q.flushWS(true)
	q.buf = append(q.buf, eol...)
	q.n, q.soft = 0, false
}

// flushWS writes the pending space or tab, escaped when it ends a line.
func (q *qpWriter) flushWS(atEnd bool) {
	if q.ws == 0 {
		return
	}
	b := q.ws
	q.ws = 0
	if atEnd {
		q.escape(b)
	} else {
		q.put(b)
	}
}

// room makes room for n more characters on the line, with a soft line break if needed.
func (q *qpWriter) room(n int) {
	if q.n+n > qpLine {
		q.softBreak()
	}
	q.n += n
}

func (q *qpWriter) softBreak() {
	q.buf = append(q.buf, '=')
	q.buf = append(q.buf, q.eol...)
	q.n, q.soft = 0, true
}

func (q *qpWriter) put(b byte) {
	q.room(1)
	if b == '-' && q.n == 1 && q.soft {
		// A line made by a soft break must not start a delimiter line (RFC 2046 §5.1.1): the
		// input had no such line there, and the encoding must not add one.
		q.n = 0
		q.escape(b)
		return
	}
	q.buf = append(q.buf, b)
}

func (q *qpWriter) escape(b byte) {
	q.room(3)
	q.buf = append(q.buf, '=', hexDigits[b>>4], hexDigits[b&15])
}

func (q *qpWriter) drain() {
	if q.werr == nil && len(q.buf) > 0 {
		_, q.werr = q.w.Write(q.buf)
	}
	q.buf = q.buf[:0]
}

// b64Line is the length of a base64 line (RFC 2045 §6.8: at most 76 characters).
const b64Line = 76

// lineWriter breaks base64 text into lines of b64Line characters. No line ending follows
// the last line: the caller adds one where the body needs it.
type lineWriter struct {
	w   io.Writer
	eol string
	n   int // characters on the current line
}

func (l *lineWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if l.n == b64Line {
			if _, err := io.WriteString(l.w, l.eol); err != nil {
				return 0, err
			}
			l.n = 0
		}
		k := min(b64Line-l.n, len(p))
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		l.n += k
		p = p[k:]
	}
	return total, nil
}

// b64Writer is a base64 encoder (RFC 2045 §6.8) with line breaks.
type b64Writer struct {
	lines *lineWriter
	enc   io.WriteCloser
}

func newB64Writer(w io.Writer, eol string) *b64Writer {
	l := &lineWriter{w: w, eol: eol}
	return &b64Writer{lines: l, enc: base64.NewEncoder(base64.StdEncoding, l)}
}

func (b *b64Writer) Write(p []byte) (int, error) { return b.enc.Write(p) }

// Close writes the last group of characters (with its padding).
func (b *b64Writer) Close() error { return b.enc.Close() }

// wrote reports whether any character went out, so that the caller knows the last line is
// not empty.
func (b *b64Writer) wrote() bool { return b.lines.n > 0 }
