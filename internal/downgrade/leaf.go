package downgrade

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
)

// maxLine is the longest line 7bit data may have, line ending not counted (RFC 2045 §2.7,
// RFC 5321 §4.5.3.1.6).
const maxLine = 998

// leafSpec is what an entity's header says about a body the downgrade does not enter.
type leafSpec struct {
	text      bool     // text/*: quoted-printable when mostly ASCII
	declared8 bool     // Content-Transfer-Encoding 8bit or binary: always re-encoded
	fail      error    // not nil: the body cannot be re-encoded, and 8-bit data in it is this error
	extra     []string // fields to add when the body is re-encoded (name, value, ...)
}

// leaf is the body of a part on its way out. It holds up to LookAhead bytes before deciding,
// so that the decision (copy, quoted-printable or base64) rests on the data and not only on
// the labels: a part that ends within the look-ahead is judged on all of its bytes.
type leaf struct {
	d    *downgrader
	part string
	sec  *section
	spec leafSpec

	decided bool
	enc     io.WriteCloser // nil: the body is copied
	b64     *b64Writer

	// What the look-ahead saw.
	n, eight int64
	nul      bool
	long     bool
	col      int // bytes on the current line
}

// leaf downgrades a body the downgrade does not enter, and writes its header when it knows
// which encoding the body gets.
func (d *downgrader) leaf(part string, sec *section, spec leafSpec) error {
	l := &leaf{d: d, part: part, sec: sec, spec: spec}
	d.buf = d.buf[:0]
	dl, err := d.f.body(l.write)
	if err != nil {
		return err
	}
	if !l.decided {
		if err := l.decide(); err != nil {
			return err
		}
	}
	if l.enc == nil {
		return nil
	}
	if err := l.enc.Close(); err != nil {
		return fmt.Errorf("downgrade: write: %w", err)
	}
	if dl == nil && l.b64 != nil && l.b64.wrote() {
		// The body ran to the end of input: end its last line, or the message would end
		// with a partial line, which SMTP cannot carry.
		return d.write([]byte(sec.eol))
	}
	return nil
}

// write takes the next piece of the body.
func (l *leaf) write(p []byte) error {
	if l.decided {
		return l.out(p)
	}
	l.scan(p)
	l.d.buf = append(l.d.buf, p...)
	if len(l.d.buf) >= l.d.opts.LookAhead {
		return l.decide()
	}
	return nil
}

// scan notes what the look-ahead holds: 8-bit bytes, NUL, lines over 998 bytes. It looks at
// eight bytes at a time where it can: it runs over every byte of every part.
func (l *leaf) scan(p []byte) {
	l.n += int64(len(p))
	for len(p) > 0 {
		line := p
		i := bytes.IndexByte(p, '\n')
		if i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		l.col += len(line) - bytes.Count(line, []byte{'\r'})
		if l.col > maxLine {
			l.long = true
		}
		if i >= 0 {
			l.col = 0
		}
		l.eight += int64(count8(line))
		if !l.nul && bytes.IndexByte(line, 0) >= 0 {
			l.nul = true
		}
	}
}

// count8 counts the bytes of 0x80 and above.
func count8(p []byte) int {
	n := 0
	for len(p) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(p) & 0x8080808080808080)
		p = p[8:]
	}
	for _, c := range p {
		n += int(c >> 7)
	}
	return n
}

// decide writes the header with the encoding the body gets, then the body held so far.
// A body is re-encoded when it was declared 8bit or binary, or holds what 7bit data may not
// (RFC 2045 §2.7): 8-bit bytes, NUL, or lines over 998 bytes. Text that is at most one sixth
// 8-bit gets quoted-printable (then no longer than base64, and still readable); everything
// else gets base64. An empty body is never re-encoded.
func (l *leaf) decide() error {
	l.decided = true
	d := l.d
	if l.spec.fail != nil {
		if l.eight > 0 {
			return &Error{Part: l.part, Err: l.spec.fail}
		}
		return l.copyOut()
	}
	if l.n == 0 || !(l.spec.declared8 || l.eight > 0 || l.nul || l.long) {
		return l.copyOut()
	}
	cte := "base64"
	if l.spec.text && !l.nul && l.eight*6 <= l.n {
		cte = "quoted-printable"
		l.enc = &qpWriter{w: d.w, eol: l.sec.eol}
		d.res.QuotedPrintable++
	} else {
		l.b64 = newB64Writer(d.w, l.sec.eol)
		l.enc = l.b64
		d.res.Base64++
	}
	if err := l.sec.write(d.w, cte, l.spec.extra...); err != nil {
		return fmt.Errorf("downgrade: write: %w", err)
	}
	return l.out(d.buf)
}

// copyOut writes the header as it is and the body held so far.
func (l *leaf) copyOut() error {
	if err := l.sec.write(l.d.w, ""); err != nil {
		return fmt.Errorf("downgrade: write: %w", err)
	}
	return l.d.write(l.d.buf)
}

// out writes body bytes once the decision is made. A copied body must stay 7-bit: its header
// is out already, so 8-bit data now is an error.
func (l *leaf) out(p []byte) error {
	if l.enc != nil {
		if _, err := l.enc.Write(p); err != nil {
			return fmt.Errorf("downgrade: write: %w", err)
		}
		return nil
	}
	if has8(p) {
		if l.spec.fail != nil {
			return &Error{Part: l.part, Err: l.spec.fail}
		}
		return &Error{Part: l.part, Err: ErrLate8Bit}
	}
	return l.d.write(p)
}
