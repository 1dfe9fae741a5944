package downgrade

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxHeaderBytes = 256 << 10
	DefaultMaxDepth       = 32
	DefaultLookAhead      = 1 << 20
)

// Options bound the work of a downgrade and say what the channel accepts.
type Options struct {
	// UTF8Headers means the transaction uses SMTPUTF8 (RFC 6531), so header fields that are
	// UTF-8 go out as they are (RFC 6532 §3). False (a server without SMTPUTF8): 8-bit
	// header fields are encoded where that is safe and refused otherwise.
	UTF8Headers bool
	// MaxHeaderBytes bounds one header section (the message's or a part's). Past it the
	// downgrade fails with ErrLimit. 0 means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// MaxDepth bounds the nesting of multiparts and message/rfc822. An entity deeper than this
	// is not entered: copied as is when 7-bit, ErrLimit when 8-bit. 0 means DefaultMaxDepth.
	MaxDepth int
	// LookAhead is how much of a part's body is held in memory to decide whether it needs
	// encoding and how. A part that ends within it is judged on all of its bytes. 0 means
	// DefaultLookAhead.
	LookAhead int
}

func (o Options) withDefaults() Options {
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.LookAhead <= 0 {
		o.LookAhead = DefaultLookAhead
	}
	return o
}

// Result counts what a downgrade changed. The zero value means the output is the input.
type Result struct {
	QuotedPrintable int   // parts given a quoted-printable body
	Base64          int   // parts given a base64 body
	Headers         int   // header fields turned into encoded-words
	Relabeled       int   // multiparts and message/rfc822 parts relabeled from 8bit or binary to 7bit
	Replaced        int64 // 8-bit bytes of preambles and epilogues replaced by '?'
}

// Changed reports whether the output differs from the input.
func (r Result) Changed() bool { return r != Result{} }

// Downgrade copies the message from src to dst with every 8-bit MIME part re-encoded, so that
// the output is 7-bit. It reads src once and writes as it reads; memory is bounded by opts.
//
// Everything else is copied byte for byte: 7-bit parts, delimiter lines, header fields, line
// endings (LF or CRLF, as they come). The only other changes, each counted in Result: 8-bit
// words of Subject, Comments and Content-Description become encoded-words, a multipart or
// message/rfc822 labeled 8bit or binary is relabeled 7bit, 8-bit bytes of preambles and
// epilogues become '?', and a pre-MIME message whose body is re-encoded gets MIME-Version
// (and Content-Type when it has none). Fields the downgrade writes use the line ending of
// their header section. A message that is 7-bit already (no 8-bit byte, no NUL, no line over
// 998 bytes, nothing labeled 8bit or binary) comes out as it went in.
//
// Downgrade is safe for concurrent use by several goroutines, each with its own src and dst.
//
// On error dst holds a prefix of the output and must be discarded: a caller streaming into
// DATA closes the connection without the final dot. Because the message is re-readable, a
// caller can learn of a permanent failure (*Error) before the transaction by running
// Downgrade once into io.Discard (or into a message.Scan, which also gives the size to
// declare with SIZE). Errors of src and dst are returned wrapped, not as *Error.
func Downgrade(dst io.Writer, src io.Reader, opts Options) (Result, error) {
	d := &downgrader{opts: opts.withDefaults(), f: newFrame(src), w: bufio.NewWriterSize(dst, 32<<10)}
	bp := lookAheadPool.Get().(*[]byte)
	d.buf = (*bp)[:0]
	defer func() {
		*bp = d.buf[:0]
		lookAheadPool.Put(bp)
	}()
	if err := d.entity("", 0, "text/plain", true); err != nil {
		return d.res, err
	}
	if err := d.w.Flush(); err != nil {
		return d.res, fmt.Errorf("downgrade: write: %w", err)
	}
	return d.res, nil
}

// lookAheadPool keeps look-ahead buffers from one message to the next: a transport sends many,
// and growing a fresh megabyte for each costs more than the downgrade itself.
var lookAheadPool = sync.Pool{New: func() any { return new([]byte) }}

type downgrader struct {
	opts Options
	f    *frame
	w    *bufio.Writer
	res  Result
	buf  []byte // look-ahead buffer, reused from part to part
}

// write sends bytes to dst; a failure is sticky in the bufio.Writer and reported here.
func (d *downgrader) write(p []byte) error {
	if _, err := d.w.Write(p); err != nil {
		return fmt.Errorf("downgrade: write: %w", err)
	}
	return nil
}

// entity downgrades one entity: a header section and its body, up to the end of its region.
// defType is the type of an entity without Content-Type (RFC 2046 §5.1.5 for digests), and
// isMessage marks the header of a whole message (the top, or the body of a message/rfc822).
func (d *downgrader) entity(part string, depth int, defType string, isMessage bool) error {
	raw, err := d.f.header(d.opts.MaxHeaderBytes)
	if errors.Is(err, ErrLimit) {
		return &Error{Part: part, Err: ErrLimit}
	}
	if err != nil {
		return err
	}
	sec := splitSection(raw)
	n, err := sec.make7(part, d.opts.UTF8Headers)
	d.res.Headers += n
	if err != nil {
		return err
	}
	th, perr := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if perr != nil {
		return d.leaf(part, &sec, leafSpec{fail: ErrMalformed})
	}
	c := parseContent(message.Header{Header: th}, defType)

	switch {
	case strings.HasPrefix(c.mediaType, "multipart/"):
		// RFC 2045 §6.4 allows multiparts no other encoding; go-message enters them whatever
		// they say, and so does the downgrade.
		if depth >= d.opts.MaxDepth {
			return d.leaf(part, &sec, leafSpec{fail: ErrLimit})
		}
		if c.boundary == "" || len(c.boundary) > maxBoundary {
			return d.leaf(part, &sec, leafSpec{fail: ErrMalformed})
		}
		if err := d.composite(&sec, c.cte); err != nil {
			return err
		}
		def := "text/plain"
		if c.mediaType == "multipart/digest" {
			def = "message/rfc822"
		}
		return d.multipart(part, depth, c.boundary, def)
	case c.mediaType == "message/rfc822":
		if depth >= d.opts.MaxDepth {
			return d.leaf(part, &sec, leafSpec{fail: ErrLimit})
		}
		if !c.identity() {
			return d.leaf(part, &sec, leafSpec{fail: ErrMalformed})
		}
		if err := d.composite(&sec, c.cte); err != nil {
			return err
		}
		return d.entity(part, depth+1, "text/plain", true)
	}
	spec := leafSpec{
		text:      strings.HasPrefix(c.mediaType, "text/"),
		declared8: c.cte == "8bit" || c.cte == "binary",
	}
	if !c.identity() {
		spec.fail = ErrMalformed
	}
	if isMessage && !c.mimeVersion {
		// A pre-MIME message: without MIME-Version the new encoding field means nothing
		// (RFC 2045 §4), and without Content-Type its charset is unknown (RFC 1428).
		spec.extra = []string{"MIME-Version", "1.0"}
		if !c.hasType {
			spec.extra = append(spec.extra, "Content-Type", "text/plain; charset=unknown-8bit")
		}
	}
	return d.leaf(part, &sec, spec)
}

// content is what a header section says about its body, as go-message parses it.
type content struct {
	mediaType   string // lower case; the raw value when go-message cannot parse it
	boundary    string
	cte         string // Content-Transfer-Encoding, lower case, "" when absent
	hasType     bool
	mimeVersion bool
}

func parseContent(h message.Header, defType string) content {
	c := content{
		mediaType:   defType,
		cte:         mechanism(h.Get("Content-Transfer-Encoding")),
		hasType:     h.Has("Content-Type"),
		mimeVersion: h.Has("Mime-Version"),
	}
	if c.hasType {
		t, params, _ := h.ContentType() // on a parse error: the raw value, no parameters
		c.mediaType, c.boundary = strings.ToLower(strings.TrimSpace(t)), params["boundary"]
	}
	return c
}

// mechanism is the encoding a Content-Transfer-Encoding value names, lower case, without the
// comment or white space that may follow it (RFC 2045 §6.1, RFC 5322 §3.2.2).
func mechanism(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, " \t(;"); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(v)
}

// identity reports an encoding that leaves the bytes as they are (RFC 2045 §6.2).
func (c content) identity() bool {
	return c.cte == "" || c.cte == "7bit" || c.cte == "8bit" || c.cte == "binary"
}

// composite writes the header of a multipart or message/rfc822 that the downgrade enters. Its
// encoding field stays unless it says 8bit or binary, which becomes 7bit: everything under it
// is 7-bit once the downgrade is done (RFC 2045 §6.4).
func (d *downgrader) composite(sec *section, cte string) error {
	relabel := ""
	if cte == "8bit" || cte == "binary" {
		relabel = "7bit"
		d.res.Relabeled++
	}
	if err := sec.write(d.w, relabel); err != nil {
		return fmt.Errorf("downgrade: write: %w", err)
	}
	return nil
}

// multipart downgrades the body of a multipart: preamble, parts, epilogue. A multipart that
// ends without its close delimiter (at the end of input, or at a delimiter of an enclosing
// multipart) ends there, as in go-message.
func (d *downgrader) multipart(part string, depth int, boundary, defType string) error {
	f := d.f
	own := len(f.bounds)
	f.bounds = append(f.bounds, boundary)
	defer func() { f.bounds = f.bounds[:own] }()

	dl, err := f.body(d.sanitize) // the preamble
	if err != nil {
		return err
	}
	for i := 1; dl != nil && dl.index == own && !dl.close; i++ {
		if err := d.delimiter(); err != nil {
			return err
		}
		child := strconv.Itoa(i)
		if part != "" {
			child = part + "." + child
		}
		if err := d.entity(child, depth+1, defType, false); err != nil {
			return err
		}
		dl = f.held
	}
	if dl == nil || dl.index != own {
		return nil
	}
	if err := d.delimiter(); err != nil { // the close delimiter
		return err
	}
	f.bounds = f.bounds[:own]
	_, err = f.body(d.sanitize) // the epilogue
	return err
}

// delimiter writes the held delimiter line, with the line ending before it.
func (d *downgrader) delimiter() error {
	dl := d.f.consume()
	if err := d.write(dl.eol); err != nil {
		return err
	}
	return d.write(dl.line)
}

// sanitize writes preamble or epilogue text, which readers ignore (RFC 2046 §5.1.1), with
// each 8-bit byte replaced by '?': there is no encoding to give it.
func (d *downgrader) sanitize(p []byte) error {
	if !has8(p) {
		return d.write(p)
	}
	q := bytes.Clone(p)
	for i, c := range q {
		if c >= 0x80 {
			q[i] = '?'
			d.res.Replaced++
		}
	}
	return d.write(q)
}
