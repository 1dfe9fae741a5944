package message

import "bytes"

// Scan accumulates, as a message is written through it, what a sender must know before it
// talks to a server. The zero value is an empty message.
type Scan struct {
	n        int64 // bytes seen
	bareLF   int64 // LFs not preceded by CR: each becomes CRLF on the wire
	loneCR   int64 // CRs followed by a byte other than LF: each becomes CRLF on the wire too
	last     byte
	lineLen  int64 // bytes since the last LF
	EightBit bool  // some byte is 0x80 or above (BODY=8BITMIME, RFC 6152)
	// Binary: the text holds what 8BITMIME cannot carry (RFC 6152 §3, RFC 5322 §2.1.1): a NUL
	// byte, or a line longer than 998 bytes before its CRLF. Only BDAT with BODY=BINARYMIME
	// (RFC 3030 §3) declares such a text truthfully; it is sent as it is either way.
	Binary bool
}

// maxLine is the longest line 8BITMIME text may have, without its CRLF (RFC 5321 §4.5.3.1.6).
const maxLine = 998

// Write accounts for p. It never fails.
func (s *Scan) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s.last == '\r' && p[0] != '\n' {
		s.loneCR++ // the CR that ended the previous chunk
	}
	prev := s.last
	for i := 0; ; {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		j += i
		before := prev
		if j > 0 {
			before = p[j-1]
		}
		if before != '\r' {
			s.bareLF++
		}
		s.longLine(int64(j-i), before == '\r')
		s.lineLen = 0
		i = j + 1
	}
	if k := bytes.LastIndexByte(p, '\n'); k < len(p)-1 {
		s.lineLen += int64(len(p) - k - 1)
		s.longLine(0, p[len(p)-1] == '\r')
	}
	for i := 0; ; {
		j := bytes.IndexByte(p[i:], '\r')
		if j < 0 || i+j+1 == len(p) {
			break // none left, or the last byte: the next chunk (or WireSize) decides
		}
		j += i
		if p[j+1] != '\n' {
			s.loneCR++
		}
		i = j + 1
	}
	if !s.Binary && bytes.IndexByte(p, 0) >= 0 {
		s.Binary = true
	}
	if !s.EightBit && hasHighBit(p) {
		s.EightBit = true
	}
	s.n += int64(len(p))
	s.last = p[len(p)-1]
	return len(p), nil
}

// longLine marks the text Binary when the line under way, n more bytes and its CR (cr) not
// counted, is longer than maxLine.
func (s *Scan) longLine(n int64, cr bool) {
	l := s.lineLen + n
	if cr {
		l--
	}
	if l > maxLine {
		s.Binary = true
	}
}

// WireSize is the message size in the SMTP line-ending convention, as SIZE declares it
// (RFC 1870 §4: dot-stuffing and the final dot are not counted): the bytes smtp.BodyEncoder
// sends, where a bare LF and a lone CR each become CRLF (qmail-remote contract, decision 11).
// A final CR is completed to CRLF too.
func (s *Scan) WireSize() int64 {
	n := s.n + s.bareLF + s.loneCR
	if s.last == '\r' {
		n++
	}
	return n
}

// Partial reports a message that does not end with a line ending (LF, or a final CR, which the
// encoder completes). SMTP cannot carry it (#5.6.2). An empty message is not partial.
func (s *Scan) Partial() bool { return s.n > 0 && s.last != '\n' && s.last != '\r' }

// hasHighBit reports whether any byte of p is 0x80 or above, eight bytes at a time.
func hasHighBit(p []byte) bool {
	for len(p) >= 8 {
		v := uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
			uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
		if v&0x8080808080808080 != 0 {
			return true
		}
		p = p[8:]
	}
	for _, c := range p {
		if c >= 0x80 {
			return true
		}
	}
	return false
}
