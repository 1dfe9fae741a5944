package downgrade

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// unstructured names the header fields whose whole value is free text, so that 8-bit text in
// them can become encoded-words without knowing any syntax (RFC 2047 §5 (1)): Subject and
// Comments (RFC 5322 §3.6.5) and Content-Description (RFC 2045 §8). Any other field with 8-bit
// bytes is refused: in a structured field (From, To...) only some tokens may be encoded, and
// an X- field has no known syntax at all.
var unstructured = map[string]bool{"subject": true, "comments": true, "content-description": true}

// section is a header section split into fields, each kept as its raw bytes.
type section struct {
	fields [][]byte // each field with its folded lines and line endings
	blank  []byte   // the empty line that ends the section; nil if it ended otherwise
	eol    string   // the line ending of this section, for fields the downgrade writes
}

// splitSection cuts raw header bytes at the lines that do not start with a space or tab.
// It does not interpret fields: go-message does that.
func splitSection(raw []byte) section {
	s := section{eol: "\r\n"}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 && (i == 0 || raw[i-1] != '\r') {
		s.eol = "\n"
	}
	for len(raw) > 0 {
		end := 0
		for {
			i := bytes.IndexByte(raw[end:], '\n')
			if i < 0 {
				end = len(raw)
				break
			}
			end += i + 1
			if end == len(raw) || (raw[end] != ' ' && raw[end] != '\t') {
				break
			}
		}
		line := raw[:end]
		if string(line) == "\n" || string(line) == "\r\n" {
			s.blank = line
		} else {
			s.fields = append(s.fields, line)
		}
		raw = raw[end:]
	}
	return s
}

// fieldName is the name of a raw field, lower-case, or "" when it has no colon.
func fieldName(f []byte) string {
	i := bytes.IndexByte(f, ':')
	if i < 0 {
		return ""
	}
	return strings.ToLower(string(bytes.TrimRight(f[:i], " \t")))
}

// has8 reports a byte of 0x80 or above.
func has8(p []byte) bool {
	for _, c := range p {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// make7 deals with the 8-bit fields of a section: kept as they are with SMTPUTF8 when they are
// UTF-8, turned into encoded-words when unstructured and UTF-8, refused otherwise. It returns
// how many fields it encoded.
func (s *section) make7(part string, utf8Headers bool) (int, error) {
	n := 0
	for i, f := range s.fields {
		if !has8(f) {
			continue
		}
		name := fieldName(f)
		switch {
		case utf8Headers && utf8.Valid(f):
		case unstructured[name] && utf8.Valid(f):
			s.fields[i] = encodeField(f, s.eol)
			n++
		default:
			if name == "" {
				name = "(no name)"
			}
			return n, headerError(part, name, f)
		}
	}
	return n, nil
}

// write writes the section. When cte is not empty, the Content-Transfer-Encoding fields are
// replaced by one with that value, where the first of them stood or at the end; extra fields
// are added at the end.
func (s *section) write(w io.Writer, cte string, extra ...string) error {
	var b bytes.Buffer
	put := func(name, value string) {
		if n := b.Len(); n > 0 && b.Bytes()[n-1] != '\n' {
			b.WriteString(s.eol) // the last field ended the input without a line ending
		}
		b.WriteString(name + ": " + value + s.eol)
	}
	placed := cte == ""
	for _, f := range s.fields {
		if cte != "" && fieldName(f) == "content-transfer-encoding" {
			if !placed {
				put("Content-Transfer-Encoding", cte)
				placed = true
			}
			continue
		}
		b.Write(f)
	}
	if !placed {
		put("Content-Transfer-Encoding", cte)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		put(extra[i], extra[i+1])
	}
	b.Write(s.blank)
	_, err := w.Write(b.Bytes())
	return err
}
