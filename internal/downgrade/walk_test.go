package downgrade

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message"
)

// node is a MIME entity as go-message reads it: what a downgrade must keep.
type node struct {
	typ    string
	fields []string // every header field as "Key: raw value", but the ones a downgrade may change
	body   []byte   // decoded body of a leaf
	kids   []*node
}

// readTree parses a message with go-message, decoding every leaf body.
func readTree(msg []byte) (*node, error) {
	e, err := message.Read(bytes.NewReader(msg))
	if err != nil && !message.IsUnknownCharset(err) {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	return walk(e, "text/plain")
}

// walk reads an entity; defType is the type of one without Content-Type, which go-message
// leaves to its caller (message/rfc822 in a digest, RFC 2046 §5.1.5).
func walk(e *message.Entity, defType string) (*node, error) {
	n := &node{typ: defType}
	if e.Header.Has("Content-Type") {
		n.typ, _, _ = e.Header.ContentType()
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
			n.fields = append(n.fields, f.Key()+": "+v)
			continue
		}
		raw, _ := f.Raw()
		if string(raw) == "Content-Type: text/plain; charset=unknown-8bit\r\n" {
			continue // added to a pre-MIME message, whose type was text/plain already
		}
		n.fields = append(n.fields, string(raw))
	}
	if mr := e.MultipartReader(); mr != nil {
		def := "text/plain"
		if n.typ == "multipart/digest" {
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
			n.kids = append(n.kids, kid)
		}
		return n, nil
	}
	if strings.EqualFold(n.typ, "message/rfc822") {
		inner, err := message.Read(e.Body)
		if err != nil && !message.IsUnknownCharset(err) {
			return nil, fmt.Errorf("embedded message: %w", err)
		}
		kid, err := walk(inner, "text/plain")
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, kid)
		return n, nil
	}
	b, err := io.ReadAll(e.Body)
	if err != nil {
		return nil, fmt.Errorf("body of %s: %w", n.typ, err)
	}
	n.body = b
	return n, nil
}

// dropFields forgets the fields of a tree, to compare structure and bodies only.
func dropFields(n *node) {
	n.fields = nil
	for _, k := range n.kids {
		dropFields(k)
	}
}

// same compares two trees, naming the first difference.
func same(a, b *node, path string) error {
	if a.typ != b.typ {
		return fmt.Errorf("%s: type %q became %q", path, a.typ, b.typ)
	}
	if strings.Join(a.fields, "|") != strings.Join(b.fields, "|") {
		return fmt.Errorf("%s: fields\n%q\nbecame\n%q", path, a.fields, b.fields)
	}
	if !bytes.Equal(a.body, b.body) {
		return fmt.Errorf("%s: body\n%q\nbecame\n%q", path, a.body, b.body)
	}
	if len(a.kids) != len(b.kids) {
		return fmt.Errorf("%s: %d parts became %d", path, len(a.kids), len(b.kids))
	}
	for i := range a.kids {
		if err := same(a.kids[i], b.kids[i], fmt.Sprintf("%s.%d", path, i+1)); err != nil {
			return err
		}
	}
	return nil
}

// check7 reports an 8-bit byte, or when lines is set, a line over 998 bytes.
func check7(out []byte, lines bool) error {
	for i, c := range out {
		if c >= 0x80 {
			return fmt.Errorf("8-bit byte in output at %d", i)
		}
	}
	for i, line := range bytes.Split(out, []byte("\n")) {
		if !lines {
			break
		}
		if len(bytes.TrimSuffix(line, []byte("\r"))) > maxLine {
			return fmt.Errorf("output line %d has %d bytes", i+1, len(line))
		}
	}
	return nil
}

// roundTrip downgrades msg and checks what every downgrade promises (check), failing the test.
func roundTrip(t *testing.T, msg []byte, opts Options) ([]byte, Result) {
	t.Helper()
	out, res, err := check(msg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return out, res
}

// check downgrades msg and checks what every downgrade promises: 7-bit output with short lines
// (when every part fits in the look-ahead: a long line found later in a part sent as 7-bit goes
// out as it is), the same tree with the same decoded bodies and fields, and no change when
// Result says none.
func check(msg []byte, opts Options) ([]byte, Result, error) {
	var b bytes.Buffer
	res, err := Downgrade(&b, bytes.NewReader(msg), opts)
	if err != nil {
		return nil, res, fmt.Errorf("downgrade: %v\ninput:\n%s", err, msg)
	}
	out := b.Bytes()
	if err := check7(out, opts.LookAhead == 0); err != nil {
		return nil, res, fmt.Errorf("%v\ninput:\n%s\noutput:\n%s", err, msg, out)
	}
	if !res.Changed() && !bytes.Equal(out, msg) {
		return nil, res, fmt.Errorf("output differs, result says unchanged\nin:\n%q\nout:\n%q", msg, out)
	}
	in, err := readTree(msg)
	if err != nil {
		return nil, res, fmt.Errorf("go-message, input: %v\n%s", err, msg)
	}
	got, err := readTree(out)
	if err != nil {
		return nil, res, fmt.Errorf("go-message, output: %v\n%s", err, out)
	}
	if err := same(in, got, "message"); err != nil {
		return nil, res, fmt.Errorf("%v\ninput:\n%s\noutput:\n%s", err, msg, out)
	}
	return out, res, nil
}
