// Package mimetest makes random MIME messages and reads messages into trees as go-message sees
// them, so that tests can check that a downgrade keeps what a reader gets: the downgrade's own
// property and fuzz tests, and the integration tests that send generated messages through a
// real server without 8BITMIME.
package mimetest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message"
)

// NewGen returns a generator whose choices are deterministic for seed, writing lines that end
// in eol ("\n" or "\r\n"). With declare, every 8-bit body is declared 8bit or binary.
func NewGen(seed int64, eol string, declare bool) *Gen {
	return &Gen{r: rand.New(rand.NewSource(seed)), eol: eol, declare: declare}
}

// Message returns the next random message: a header, then a random entity.
func (g *Gen) Message() []byte {
	var b bytes.Buffer
	g.message(&b, 0)
	return b.Bytes()
}

// has8 reports a byte of 0x80 or above.
func has8(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// Gen makes random MIME trees: multipart mixed, alternative, related and digest, message/rfc822,
// 7-bit, 8-bit, binary and long-line bodies declared in every legal way, LF or CRLF. Its choices
// are deterministic for a seed.
type Gen struct {
	r   *rand.Rand
	eol string
	n   int // boundaries made, to keep them distinct
	// declare: every 8-bit body is declared 8bit or binary. Needed with a short look-ahead,
	// where an undeclared 8-bit byte past it is an error (TestLate8Bit).
	declare bool
	bound   string // the boundary of the innermost multipart being written
}

// body makes a random body: 7-bit text, 8-bit text, binary, or long lines.
func (g *Gen) body() []byte {
	var b bytes.Buffer
	lines := g.r.Intn(6)
	kind := g.r.Intn(6)
	for i := 0; i < lines; i++ {
		switch kind {
		case 0, 1: // text, sometimes with 8-bit words, '=' and trailing white space
			words := []string{"hello", "caf\xc3\xa9", "=", "x=3D", "na\xc3\xafve", "\xe6\x97\xa5\xe6\x9c\xac", "a\tb", "", " "}
			for j := g.r.Intn(12); j > 0; j-- {
				w := words[g.r.Intn(len(words))]
				if kind == 0 && has8(w) {
					w = "plain"
				}
				b.WriteString(w + " ")
			}
		case 2: // binary
			for j := g.r.Intn(200); j > 0; j-- {
				b.WriteByte(byte(g.r.Intn(256)))
			}
		case 3: // a long 7-bit line
			b.WriteString(strings.Repeat("long ", 150+g.r.Intn(100)))
		case 4: // 8-bit in a latin-1 style
			b.WriteString("r\xe9sum\xe9 \xa0 ok")
		case 5: // a line ending with the enclosing boundary, where quoted-printable breaks it
			b.WriteString("caf\xc3\xa9 " + strings.Repeat("x", 65) + "--" + g.bound + []string{"", "--"}[g.r.Intn(2)])
		}
		if kind != 2 || g.r.Intn(2) == 0 {
			b.WriteString(g.eol)
		}
	}
	body := b.Bytes()
	if g.r.Intn(4) == 0 { // no final line ending
		body = bytes.TrimSuffix(body, []byte(g.eol))
	}
	if bytes.HasSuffix(body, []byte("\r")) {
		// A CR before the line ending of a delimiter is part of that line ending (frame.body);
		// go-message keeps it in the body when the message's lines end in LF.
		body = append(body, 'x')
	}
	return body
}

// field writes a header field.
func (g *Gen) field(w *bytes.Buffer, name, value string) {
	w.WriteString(name + ": " + value + g.eol)
}

// leaf writes a leaf part: its fields, the blank line and the body in an encoding its bytes
// allow (an 8-bit body is sent as 8bit, binary or undeclared; a 7-bit one may be encoded).
func (g *Gen) leaf(w *bytes.Buffer) {
	body := g.body()
	types := []string{"text/plain; charset=utf-8", "text/html; charset=\"utf-8\"", "application/octet-stream", "image/png", ""}
	if typ := types[g.r.Intn(len(types))]; typ != "" {
		g.field(w, "Content-Type", typ)
	}
	if g.r.Intn(3) == 0 {
		g.field(w, "Content-Disposition", "attachment; filename=\"f.bin\"")
	}
	if g.r.Intn(4) == 0 {
		g.field(w, "Content-Description", "caf\xc3\xa9 menu")
	}
	eight := has8(string(body)) || bytes.IndexByte(body, 0) >= 0
	switch c := g.r.Intn(4); {
	case eight && c == 0:
		g.field(w, "Content-Transfer-Encoding", "binary")
	case eight && c == 1 && !g.declare:
		// undeclared
	case eight:
		g.field(w, "Content-Transfer-Encoding", "8bit")
	case c == 0:
		g.field(w, "Content-Transfer-Encoding", "base64")
		enc := base64.StdEncoding.EncodeToString(body)
		body = nil
		for len(enc) > 76 {
			body = append(body, enc[:76]+g.eol...)
			enc = enc[76:]
		}
		body = append(body, enc...)
	case c == 1:
		g.field(w, "Content-Transfer-Encoding", "quoted-printable")
		var q bytes.Buffer
		qw := quotedprintable.NewWriter(&q)
		qw.Write(body)
		qw.Close()
		body = q.Bytes()
		if g.eol == "\n" {
			body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
		}
	case c == 2:
		g.field(w, "Content-Transfer-Encoding", "7bit")
	}
	w.WriteString(g.eol)
	w.Write(body)
}

// entity writes a random entity: a leaf, a multipart or a message/rfc822.
func (g *Gen) entity(w *bytes.Buffer, depth int) {
	k := g.r.Intn(6)
	if depth > 3 {
		k = 0
	}
	switch k {
	case 0, 1, 2:
		g.leaf(w)
	case 3, 4:
		g.n++
		// Boundary styles of common mailers: with '=', which quoted-printable escapes, and without.
		style := []string{"b%d=_%x", "b%d.%x", "------------b%d%x"}[g.r.Intn(3)]
		boundary := fmt.Sprintf(style, g.n, g.r.Intn(1<<20))
		outer := g.bound
		g.bound = boundary
		defer func() { g.bound = outer }()
		sub := []string{"mixed", "alternative", "related", "digest"}[g.r.Intn(4)]
		g.field(w, "Content-Type", "multipart/"+sub+"; boundary=\""+boundary+"\"")
		if g.r.Intn(3) == 0 {
			g.field(w, "Content-Transfer-Encoding", "8bit")
		}
		w.WriteString(g.eol)
		if g.r.Intn(2) == 0 {
			w.WriteString("This is a multi-part message in MIME format." + g.eol)
		}
		parts := 1 + g.r.Intn(3)
		for i := 0; i < parts; i++ {
			pad := []string{"", " ", "\t "}[g.r.Intn(3)]
			w.WriteString("--" + boundary + pad + g.eol)
			if sub == "digest" { // the part's own header, maybe empty, then a message
				if g.r.Intn(2) == 0 {
					g.field(w, "Content-Type", "message/rfc822")
				}
				w.WriteString(g.eol)
				g.message(w, depth+1)
			} else {
				g.entity(w, depth+1)
			}
			w.WriteString(g.eol)
		}
		w.WriteString("--" + boundary + "--" + g.eol)
		if g.r.Intn(2) == 0 {
			w.WriteString("epilogue" + g.eol)
		}
	default:
		g.field(w, "Content-Type", "message/rfc822")
		w.WriteString(g.eol)
		g.message(w, depth+1)
	}
}

// message writes a whole message: its header, then an entity.
func (g *Gen) message(w *bytes.Buffer, depth int) {
	g.field(w, "From", "Ann <ann@example.org>")
	g.field(w, "To", "bob@example.test")
	subjects := []string{"hi", "caf\xc3\xa9 \xe2\x98\x95 time", "re: a long subject that goes on and on", "=?utf-8?q?already_encoded?="}
	g.field(w, "Subject", subjects[g.r.Intn(len(subjects))])
	g.field(w, "MIME-Version", "1.0")
	g.entity(w, depth)
}

// node is a MIME entity as go-message reads it: what a downgrade must keep.
type Node struct {
	Type   string
	Fields []string // every header field as "Key: raw value", but the ones a downgrade may change
	Body   []byte   // decoded body of a leaf
	Kids   []*Node
}

// ReadTree parses a message with go-message, decoding every leaf body.
func ReadTree(msg []byte) (*Node, error) {
	e, err := message.Read(bytes.NewReader(msg))
	if err != nil && !message.IsUnknownCharset(err) {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	return walk(e, "text/plain")
}

// walk reads an entity; defType is the type of one without Content-Type, which go-message
// leaves to its caller (message/rfc822 in a digest, RFC 2046 §5.1.5).
func walk(e *message.Entity, defType string) (*Node, error) {
	n := &Node{Type: defType}
	if e.Header.Has("Content-Type") {
		n.Type, _, _ = e.Header.ContentType()
	}
	for f := e.Header.Fields(); f.Next(); {
		switch f.Key() {
		case "Content-Transfer-Encoding", "Mime-Version":
			continue
		case "Subject", "Comments", "Content-Description":
			v, err := f.Text()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Key(), err)
			}
			n.Fields = append(n.Fields, f.Key()+": "+v)
			continue
		}
		raw, _ := f.Raw()
		if string(raw) == "Content-Type: text/plain; charset=unknown-8bit\r\n" {
			continue // added to a pre-MIME message, whose type was text/plain already
		}
		n.Fields = append(n.Fields, string(raw))
	}
	if mr := e.MultipartReader(); mr != nil {
		def := "text/plain"
		if n.Type == "multipart/digest" {
			def = "message/rfc822"
		}
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil && !message.IsUnknownCharset(err) {
				return nil, fmt.Errorf("next part: %w", err)
			}
			kid, err := walk(p, def)
			if err != nil {
				return nil, err
			}
			n.Kids = append(n.Kids, kid)
		}
		return n, nil
	}
	if strings.EqualFold(n.Type, "message/rfc822") {
		inner, err := message.Read(e.Body)
		if err != nil && !message.IsUnknownCharset(err) {
			return nil, fmt.Errorf("embedded message: %w", err)
		}
		kid, err := walk(inner, "text/plain")
		if err != nil {
			return nil, err
		}
		n.Kids = append(n.Kids, kid)
		return n, nil
	}
	b, err := io.ReadAll(e.Body)
	if err != nil {
		return nil, fmt.Errorf("body of %s: %w", n.Type, err)
	}
	n.Body = b
	return n, nil
}

// DropFields forgets the fields of a tree, to compare structure and bodies only.
func DropFields(n *Node) {
	n.Fields = nil
	for _, k := range n.Kids {
		DropFields(k)
	}
}

// Same compares two trees, naming the first difference; path names the root ("message").
func Same(a, b *Node, path string) error {
	if a.Type != b.Type {
		return fmt.Errorf("%s: type %q became %q", path, a.Type, b.Type)
	}
	if strings.Join(a.Fields, "|") != strings.Join(b.Fields, "|") {
		return fmt.Errorf("%s: fields\n%q\nbecame\n%q", path, a.Fields, b.Fields)
	}
	if !bytes.Equal(a.Body, b.Body) {
		return fmt.Errorf("%s: body\n%q\nbecame\n%q", path, a.Body, b.Body)
	}
	if len(a.Kids) != len(b.Kids) {
		return fmt.Errorf("%s: %d parts became %d", path, len(a.Kids), len(b.Kids))
	}
	for i := range a.Kids {
		if err := Same(a.Kids[i], b.Kids[i], fmt.Sprintf("%s.%d", path, i+1)); err != nil {
			return err
		}
	}
	return nil
}
