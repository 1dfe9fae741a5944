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

// read parses a message with go-message, decoding every leaf body.
func read(t *testing.T, msg []byte) *node {
	t.Helper()
	n, err := readTree(msg)
	if err != nil {
		t.Fatalf("go-message: %v", err)
	}
	return n
}

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

// check7 fails on an 8-bit byte, or when lines is set, a line over 998 bytes.
func check7(t *testing.T, out []byte, lines bool) {
	t.Helper()
	for i, c := range out {
		if c >= 0x80 {
			t.Fatalf("8-bit byte in output at %d", i)
		}
	}
	for i, line := range bytes.Split(out, []byte("\n")) {
		if !lines {
			break
		}
		if len(bytes.TrimSuffix(line, []byte("\r"))) > maxLine {
			t.Fatalf("output line %d has %d bytes", i+1, len(line))
		}
	}
}

// roundTrip downgrades msg and checks what every downgrade promises: 7-bit output with short
// lines (when every part fits in the look-ahead: a long line found later in a part sent as
// 7-bit goes out as it is), the same tree with the same decoded bodies and fields, and no change when Result
// says none.
func roundTrip(t *testing.T, msg []byte, opts Options) ([]byte, Result) {
	t.Helper()
	var out bytes.Buffer
	res, err := Downgrade(&out, bytes.NewReader(msg), opts)
	if err != nil {
		t.Fatalf("downgrade: %v\ninput:\n%s", err, msg)
	}
	check7(t, out.Bytes(), opts.LookAhead == 0)
	if !res.Changed() && !bytes.Equal(out.Bytes(), msg) {
		t.Fatalf("output differs, result says unchanged\nin:\n%q\nout:\n%q", msg, out.Bytes())
	}
	if err := same(read(t, msg), read(t, out.Bytes()), "message"); err != nil {
		t.Fatalf("%v\ninput:\n%s\noutput:\n%s", err, msg, out.Bytes())
	}
	return out.Bytes(), res
}
