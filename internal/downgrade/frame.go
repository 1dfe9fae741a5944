package downgrade

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxBoundary is the longest boundary parameter the downgrade enters. RFC 2046 §5.1.1 allows
// 70 characters; longer ones are seen in the wild, so some room is left. A multipart with a
// longer boundary is handled as one opaque part.
const maxBoundary = 200

// bufSize is the input buffer. A delimiter line must fit in it to be recognised.
const bufSize = 32 << 10

// frame finds where the bodies of a MIME tree end, reading the message once.
//
// This is the one piece of MIME framing done here rather than by go-message: go-message's
// multipart reader (a fork of mime/multipart) drops the preamble, the epilogue and the padding
// of delimiter lines, and rewrites header line endings as CRLF, and a downgrade must give all
// of those back byte for byte. It recognises what RFC 2046 §5.1.1 calls a delimiter line:
// "--" boundary, then "--" for the close delimiter, then spaces or tabs, at the start of a
// line. The line ending before a delimiter belongs to the delimiter, not to the body; a CR
// before that LF is part of it even where the other lines end in LF alone (go-message keeps it
// in the body then), because on the wire it is a CRLF either way. Tests check the framing
// against go-message's reader on every generated message.
type frame struct {
	br     *bufio.Reader
	bounds []string // boundaries of the open multiparts, outermost first
	held   *delim   // a delimiter that ended the current region and is not consumed yet
}

// delim is a delimiter line that ends a region, with the line ending before it.
type delim struct {
	eol   []byte // "\r\n", "\n" or empty (a delimiter right at the start of a region)
	line  []byte // the whole delimiter line as read, with its own line ending
	index int    // which of frame.bounds it closes
	close bool   // "--boundary--"
}

// Line endings as the frame hands them out. Read only.
var (
	crlf = []byte("\r\n")
	lf   = []byte("\n")
	cr   = []byte("\r")
)

func newFrame(r io.Reader) *frame { return &frame{br: bufio.NewReaderSize(r, bufSize)} }

// match reports which open boundary line delimits, if any. Outer boundaries are tried first:
// a part that reaches its parent's delimiter ends there, as in go-message, whose inner readers
// read through the outer ones.
func (f *frame) match(line []byte) (index int, close bool, ok bool) {
	if len(line) < 3 || line[0] != '-' || line[1] != '-' {
		return 0, false, false
	}
	for i, b := range f.bounds {
		rest, found := bytes.CutPrefix(line[2:], []byte(b))
		if !found {
			continue
		}
		cl := false
		if r, ok := bytes.CutPrefix(rest, []byte("--")); ok {
			rest, cl = r, true
		}
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) == 0 || string(rest) == "\n" || string(rest) == "\r\n" {
			return i, cl, true
		}
	}
	return 0, false, false
}

// line reads the next line with its ending, or a piece of a line longer than the buffer
// (whole is then false); err is io.EOF with the last piece. At the start of a line it
// recognises a delimiter: it holds it, with eol (the line ending before it), and reports held.
// The slice is valid until the next read.
func (f *frame) line(lineStart bool, eol []byte) (line []byte, whole, held bool, err error) {
	line, err = f.br.ReadSlice('\n')
	switch {
	case err == nil:
		whole = true
	case errors.Is(err, bufio.ErrBufferFull):
		err = nil
	case errors.Is(err, io.EOF):
		whole = true
	default:
		return nil, false, false, fmt.Errorf("downgrade: read: %w", err)
	}
	if lineStart && whole && len(line) > 0 {
		if i, cl, ok := f.match(line); ok {
			f.held = &delim{eol: eol, line: bytes.Clone(line), index: i, close: cl}
			return nil, true, true, nil
		}
	}
	return line, whole, false, err
}

// body streams the current region to sink, without the line ending of a delimiter that ends
// it, and returns that delimiter (held, not consumed) or nil at the end of input. Pieces handed
// to sink are valid only during the call.
func (f *frame) body(sink func([]byte) error) (*delim, error) {
	if f.held != nil {
		return f.held, nil
	}
	var eol []byte     // the line ending of the last line, not yet given to sink
	pendingCR := false // the last piece ended with a CR that may start a CRLF
	lineStart := true
	for {
		line, whole, held, err := f.line(lineStart, eol)
		if held || (err != nil && !errors.Is(err, io.EOF)) {
			return f.held, err
		}
		if pendingCR && string(line) == "\n" {
			eol, pendingCR, lineStart = crlf, false, true
			continue
		}
		if err := flush(sink, eol, pendingCR); err != nil {
			return nil, err
		}
		eol, pendingCR = nil, false
		content := line
		switch {
		case bytes.HasSuffix(line, crlf):
			content, eol = line[:len(line)-2], crlf
		case bytes.HasSuffix(line, lf):
			content, eol = line[:len(line)-1], lf
		case !whole && bytes.HasSuffix(line, cr):
			content, pendingCR = line[:len(line)-1], true
		}
		if len(content) > 0 {
			if err := sink(content); err != nil {
				return nil, err
			}
		}
		lineStart = eol != nil
		if errors.Is(err, io.EOF) {
			return nil, flush(sink, eol, pendingCR)
		}
	}
}

// flush gives sink a line ending (or lone CR) that turned out to be part of the body.
func flush(sink func([]byte) error, eol []byte, lone bool) error {
	if lone {
		eol = cr
	}
	if len(eol) == 0 {
		return nil
	}
	return sink(eol)
}

// consume takes the held delimiter, which the caller writes out.
func (f *frame) consume() *delim {
	d := f.held
	f.held = nil
	return d
}

// header reads a header section up to and including its blank line, or up to a delimiter
// line or the end of input when there is no blank line. It returns ErrLimit past max bytes.
func (f *frame) header(max int) ([]byte, error) {
	if f.held != nil {
		return nil, nil
	}
	var hdr []byte
	lineStart := true
	for {
		line, whole, held, err := f.line(lineStart, nil)
		if held {
			return hdr, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if len(hdr)+len(line) > max {
			return nil, ErrLimit
		}
		hdr = append(hdr, line...)
		if lineStart && whole && (string(line) == "\n" || string(line) == "\r\n") {
			return hdr, nil
		}
		lineStart = whole && bytes.HasSuffix(line, []byte("\n"))
		if errors.Is(err, io.EOF) {
			return hdr, nil
		}
	}
}
