package downgrade

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// gen makes random MIME trees. Its choices are deterministic for a seed.
type gen struct {
	r   *rand.Rand
	eol string
	n   int // boundaries made, to keep them distinct
	// declare: every 8-bit body is declared 8bit or binary. Needed with a short look-ahead,
	// where an undeclared 8-bit byte past it is an error (TestLate8Bit).
	declare bool
	bound   string // the boundary of the innermost multipart being written
}

// body makes a random body: 7-bit text, 8-bit text, binary, or long lines.
func (g *gen) body() []byte {
	var b bytes.Buffer
	lines := g.r.Intn(6)
	kind := g.r.Intn(6)
	for i := 0; i < lines; i++ {
		switch kind {
		case 0, 1: // text, sometimes with 8-bit words, '=' and trailing white space
			words := []string{"hello", "caf\xc3\xa9", "=", "x=3D", "na\xc3\xafve", "\xe6\x97\xa5\xe6\x9c\xac", "a\tb", "", " "}
			for j := g.r.Intn(12); j > 0; j-- {
				w := words[g.r.Intn(len(words))]
				if kind == 0 && has8([]byte(w)) {
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
func (g *gen) field(w *bytes.Buffer, name, value string) {
	w.WriteString(name + ": " + value + g.eol)
}

// leaf writes a leaf part: its fields, the blank line and the body in an encoding its bytes
// allow (an 8-bit body is sent as 8bit, binary or undeclared; a 7-bit one may be encoded).
func (g *gen) leaf(w *bytes.Buffer) {
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
	eight := has8(body) || bytes.IndexByte(body, 0) >= 0
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
func (g *gen) entity(w *bytes.Buffer, depth int) {
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
func (g *gen) message(w *bytes.Buffer, depth int) {
	g.field(w, "From", "Ann <ann@example.org>")
	g.field(w, "To", "bob@example.test")
	subjects := []string{"hi", "caf\xc3\xa9 \xe2\x98\x95 time", "re: a long subject that goes on and on", "=?utf-8?q?already_encoded?="}
	g.field(w, "Subject", subjects[g.r.Intn(len(subjects))])
	g.field(w, "MIME-Version", "1.0")
	g.entity(w, depth)
}

// TestPropertyRoundTrip downgrades generated messages and checks every promise: the output
// is 7-bit with lines of at most 998 bytes, go-message reads the same tree from it with the same
// fields (Content-Transfer-Encoding aside, encoded-words decoded) and the same decoded bodies,
// and a message the downgrade says it did not change is byte for byte the input.
func TestPropertyRoundTrip(t *testing.T) {
	var total Result
	unchanged := 0
	for seed := int64(1); seed <= 400; seed++ {
		g := &gen{r: rand.New(rand.NewSource(seed)), eol: []string{"\n", "\r\n"}[seed%2]}
		opts := Options{}
		if seed%3 == 0 {
			opts.LookAhead = 16 // most parts decided before their end
			g.declare = true
		}
		var msg bytes.Buffer
		g.message(&msg, 0)
		_, res, err := check(msg.Bytes(), opts)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		total.QuotedPrintable += res.QuotedPrintable
		total.Base64 += res.Base64
		total.Headers += res.Headers
		total.Relabeled += res.Relabeled
		if !res.Changed() {
			unchanged++
		}
	}
	// The generator must reach every path, or the property proves little.
	if total.QuotedPrintable == 0 || total.Base64 == 0 || total.Headers == 0 || total.Relabeled == 0 || unchanged == 0 {
		t.Errorf("generator too narrow: %+v, %d unchanged", total, unchanged)
	}
	t.Logf("%+v, %d unchanged", total, unchanged)
}
