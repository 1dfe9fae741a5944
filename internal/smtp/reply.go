package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits on what a server may send in one reply (qmail-remote contract, decision 5). Memory per
// connection never grows with what a server sends: a longer reply ends the session.
const (
	// MaxReplyBytes bounds one reply, all of its lines together.
	MaxReplyBytes = 64 << 10
	// MaxReplyLines bounds the number of lines of one multi-line reply.
	MaxReplyLines = 1000
)

// ErrReplyTooLong says a reply went past MaxReplyBytes or MaxReplyLines. The connection is out of
// step with the server afterwards and must not be used again.
var ErrReplyTooLong = errors.New("smtp: reply too long")

// Reply is one server reply. Lines are the raw lines as received, without their line ending
// (LF, or CRLF), in order, so a report can quote the server exactly.
type Reply struct {
	// Code is the three-digit reply code, or 0 when the reply is malformed: its first line does
	// not start with a code from 100 to 599, or its lines carry different codes (RFC 5321 §4.2.1).
	Code  int
	Lines []string
}

// Class is the first digit of the code (2 for 250), or 0 for a malformed reply.
func (r Reply) Class() int { return r.Code / 100 }

// Positive reports a 2xx reply (RFC 5321 §4.2.1).
func (r Reply) Positive() bool { return r.Class() == 2 }

// Malformed reports a reply that has no usable code. It is never success (decision 7).
func (r Reply) Malformed() bool { return r.Code == 0 }

// Enhanced returns the enhanced status code (RFC 3463 §2) of the first line, such as "5.1.1",
// when the line carries one whose class digit agrees with the reply code; otherwise "".
func (r Reply) Enhanced() string {
	if r.Code == 0 || len(r.Lines) == 0 || len(r.Lines[0]) < 5 {
		return ""
	}
	f := strings.Fields(r.Lines[0][4:])
	if len(f) == 0 || !validEnhanced(f[0]) || int(f[0][0]-'0') != r.Class() {
		return ""
	}
	return f[0]
}

// validEnhanced checks class.subject.detail: class 2, 4 or 5, subject 1-3 digits, detail 1-3 digits.
func validEnhanced(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || strings.IndexByte("245", parts[0][0]) < 0 {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// String is the reply for error messages: its lines joined with " / ", bounded in length.
func (r Reply) String() string {
	s := strings.Join(r.Lines, " / ")
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return s
}

// lineCode returns the code a reply line starts with, or 0 if it does not start with three
// digits forming a code from 100 to 599, followed by a space, a hyphen or the end of the line
// (RFC 5321 §4.2 reply-line grammar; decision 7): "250ok", "2500 ok" and "250\tok" are
// malformed, as Postfix reads them too.
func lineCode(line []byte) int {
	if len(line) < 3 || (len(line) > 3 && line[3] != ' ' && line[3] != '-') {
		return 0
	}
	code := 0
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return 0
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || code > 599 {
		return 0
	}
	return code
}

// readReply reads one reply. A line is a continuation when its fourth byte is '-' (RFC 5321
// §4.2.1; the reference's rule too), so a garbage line ends the reply and framing is kept. Bare
// LF line endings are accepted. EOF before the final line's LF is io.ErrUnexpectedEOF.
//
// When the reply is too long, readReply returns what it read so far and ErrReplyTooLong.
func readReply(br *bufio.Reader) (Reply, error) {
	var r Reply
	total := 0
	first, mixed := 0, false
	for n := 0; ; n++ {
		line, err := readLine(br, MaxReplyBytes-total)
		if err != nil {
			if len(line) > 0 {
				r.Lines = append(r.Lines, string(line))
			}
			if err == io.EOF && (n > 0 || len(line) > 0) {
				err = io.ErrUnexpectedEOF
			}
			return r, err
		}
		total += len(line) + 2
		r.Lines = append(r.Lines, string(line))
		code := lineCode(line)
		if n == 0 {
			first = code
		} else if code != first {
			mixed = true
		}
		if len(line) < 4 || line[3] != '-' {
			break
		}
		if n+1 >= MaxReplyLines {
			return r, ErrReplyTooLong
		}
	}
	if !mixed {
		r.Code = first
	}
	return r, nil
}

// readLine reads one line up to LF and returns it without its LF and one CR before it. It reads
// at most limit bytes of line content; past that it returns the bytes read and ErrReplyTooLong.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > limit+2 {
			room := limit - len(buf)
			if room > 0 {
				buf = append(buf, frag[:room]...)
			}
			return buf, ErrReplyTooLong
		}
		buf = append(buf, frag...)
		switch {
		case err == nil:
			buf = buf[:len(buf)-1]
			return bytes.TrimSuffix(buf, []byte("\r")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return buf, err
		}
	}
}

// errorf builds an error with the package prefix.
func errorf(format string, args ...any) error { return fmt.Errorf("smtp: "+format, args...) }
