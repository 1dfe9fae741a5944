package downgrade

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// toCRLF turns a message written with LF into one with CRLF.
func toCRLF(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// down downgrades msg with opts and fails the test on an error.
func down(t *testing.T, msg string, opts Options) (string, Result) {
	t.Helper()
	out, res := roundTrip(t, []byte(msg), opts)
	return string(out), res
}

// downErr downgrades msg and returns its *Error.
func downErr(t *testing.T, msg string, opts Options) *Error {
	t.Helper()
	_, err := Downgrade(io.Discard, strings.NewReader(msg), opts)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v; want an *Error", err)
	}
	return e
}

func TestSevenBitUnchanged(t *testing.T) {
	msgs := map[string]string{
		"plain":   "From: a@example.org\nSubject: hi\n\nhello\n",
		"no body": "From: a@example.org\nSubject: hi\n",
		"multipart with preamble, padding, epilogue": `From: a@example.org
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_x"

This is a multi-part message in MIME format.
--=_x  
Content-Type: text/plain; charset=us-ascii

plain text
--=_x
Content-Type: application/pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--=_x--
epilogue
`,
		"quoted-printable text": "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9\n",
		"partial last line":     "Subject: x\n\nno line ending",
	}
	for name, msg := range msgs {
		for _, m := range []string{msg, toCRLF(msg)} {
			out, res := down(t, m, Options{})
			if out != m || res.Changed() {
				t.Errorf("%s: changed (%+v):\n%q", name, res, out)
			}
		}
	}
}

func TestTextPlain8Bit(t *testing.T) {
	msg := `From: Ann <ann@example.org>
To: bob@example.test
Subject: lunch
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
X-Mailer: test

Caf` + "\xc3\xa9" + ` at noon? 1+1=2 
` + strings.Repeat("x", 100) + `
`
	want := `From: Ann <ann@example.org>
To: bob@example.test
Subject: lunch
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable
X-Mailer: test

Caf=C3=A9 at noon? 1+1=3D2=20
` + strings.Repeat("x", 75) + "=\n" + strings.Repeat("x", 25) + `
`
	for _, c := range []struct{ in, want string }{{msg, want}, {toCRLF(msg), toCRLF(want)}} {
		out, res := down(t, c.in, Options{})
		if out != c.want {
			t.Errorf("got\n%q\nwant\n%q", out, c.want)
		}
		if res != (Result{QuotedPrintable: 1}) {
			t.Errorf("result %+v", res)
		}
	}
}

func TestNestedMultipart(t *testing.T) {
	att := "Content-Type: application/pdf; name=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK"
	msg := `From: a@example.org
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"
Content-Transfer-Encoding: 8bit

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

Viele Gr` + "\xc3\xbc\xc3\x9f" + `e aus Berlin, bis bald!
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<p>` + "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" + `</p>
--inner--
--outer
` + att + `
--outer--
`
	out, res := down(t, msg, Options{})
	if res != (Result{QuotedPrintable: 1, Base64: 1, Relabeled: 1}) {
		t.Errorf("result %+v", res)
	}
	for _, keep := range []string{"\n--outer\n" + att + "\n--outer--\n", "\n--inner\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\nPHA+5pel5pys6KqePC9wPg==\n--inner--\n"} {
		if !strings.Contains(out, keep) {
			t.Errorf("output lacks %q:\n%s", keep, out)
		}
	}
}

func TestMessageRFC822(t *testing.T) {
	msg := `From: postmaster@example.org
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

Your message could not be delivered.
--r
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

From: b@example.test
Subject: original
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1

Ol` + "\xe1" + ` mundo
--r--
`
	out, res := down(t, msg, Options{})
	if res != (Result{QuotedPrintable: 1, Relabeled: 1}) {
		t.Errorf("result %+v", res)
	}
	want := "Content-Type: message/rfc822\nContent-Transfer-Encoding: 7bit\n\nFrom: b@example.test\nSubject: original\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nOl=E1 mundo\n--r--\n"
	if !strings.Contains(out, want) {
		t.Errorf("got\n%s", out)
	}
}

func TestBinaryAttachment(t *testing.T) {
	for _, cte := range []string{"binary", "8bit", "", " 8BIT (from the client)"} {
		field := ""
		if cte != "" {
			field = "Content-Transfer-Encoding: " + cte + "\n"
		}
		msg := "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: image/png\n" + field +
			"\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\n--b--\n"
		var b bytes.Buffer
		res, err := Downgrade(&b, strings.NewReader(msg), Options{})
		if strings.Contains(cte, "(") { // go-message cannot read a comment there: no round trip
			if err := check7(b.Bytes(), true); err != nil {
				t.Error(err)
			}
		} else {
			roundTrip(t, []byte(msg), Options{})
		}
		if err != nil || res != (Result{Base64: 1}) || !strings.Contains(b.String(), "\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgoAAAANSUhEUg==\n--b--\n") {
			t.Errorf("%q: %v %+v\n%s", cte, err, res, b.String())
		}
	}
}

func TestPreMIME(t *testing.T) {
	msg := "From: a@example.org\nSubject: old\n\nsee my r\xe9sum\xe9, ok?\n"
	out, _ := down(t, msg, Options{})
	want := "From: a@example.org\nSubject: old\nContent-Transfer-Encoding: quoted-printable\nMIME-Version: 1.0\nContent-Type: text/plain; charset=unknown-8bit\n\nsee my r=E9sum=E9, ok?\n"
	if out != want {
		t.Errorf("got\n%q\nwant\n%q", out, want)
	}
}

func TestPreambleEpilogue8Bit(t *testing.T) {
	msg := "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\nvoil\xc3\xa0\n--b\n\nok\n--b--\n\xff\n"
	out, res := down(t, msg, Options{})
	if res != (Result{Replaced: 3}) || out != "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\nvoil??\n--b\n\nok\n--b--\n?\n" {
		t.Errorf("%+v\n%q", res, out)
	}
}

func TestLongLines(t *testing.T) {
	long := strings.Repeat("0123456789", 120)
	msg := "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n" + long +
		"\n--b\nContent-Type: application/json\n\n" + long + "\n--b--\n"
	_, res := down(t, msg, Options{})
	if res != (Result{QuotedPrintable: 1, Base64: 1}) {
		t.Errorf("result %+v", res)
	}
}

// TestHeaders covers each way an 8-bit header field goes: encoded-words when unstructured and
// UTF-8, as it is under SMTPUTF8, refused otherwise with the code that says why.
func TestHeaders(t *testing.T) {
	body := "MIME-Version: 1.0\n\nok\n"
	out, res := down(t, "Subject: caf\xc3\xa9 au lait\nComments: \xc3\xa9\xc3\xa9\xc3\xa9\n"+body, Options{})
	if res.Headers != 2 || !strings.HasPrefix(out, "Subject: =?utf-8?q?caf=C3=A9?= au lait\nComments: =?utf-8?b?w6nDqcOp?=\n") {
		t.Errorf("%+v\n%s", res, out)
	}
	long := "Subject: " + strings.Repeat("\xc3\xa9t\xc3\xa9 ", 40) + "\n" + body
	out, _ = down(t, long, Options{})
	if !strings.Contains(out, "?=\n =?utf-8?") {
		t.Errorf("long subject not folded:\n%s", out)
	}

	tests := []struct {
		name, field string
		opts        Options
		code        string
	}{
		{"from", "From: J\xc3\xb6rg <j@example.org>\n", Options{}, "5.6.9"},
		{"address", "To: j\xc3\xb6rg@example.org\n", Options{}, "5.6.9"},
		{"x-field", "X-Note: \xc3\xa9\n", Options{}, "5.6.9"},
		{"latin-1 subject", "Subject: caf\xe9\n", Options{}, "5.6.3"},
		{"latin-1 under SMTPUTF8", "Subject: caf\xe9\n", Options{UTF8Headers: true}, "5.6.3"},
	}
	for _, tt := range tests {
		e := downErr(t, tt.field+body, tt.opts)
		if !errors.Is(e, ErrHeader8Bit) || e.Code() != tt.code || e.Part != "" || e.Field == "" {
			t.Errorf("%s: %v (part %q field %q code %s); want ErrHeader8Bit, %s", tt.name, e, e.Part, e.Field, e.Code(), tt.code)
		}
	}
	nested := "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; name=\"\xc3\xa9.txt\"\n\nx\n--b--\n"
	if e := downErr(t, nested, Options{}); e.Part != "1" || e.Field != "content-type" {
		t.Errorf("nested: %v", e)
	}

	utf8 := "From: J\xc3\xb6rg <j@example.org>\nSubject: caf\xc3\xa9\n" + body
	var b bytes.Buffer
	res, err := Downgrade(&b, strings.NewReader(utf8), Options{UTF8Headers: true})
	if err != nil || b.String() != utf8 || res.Changed() {
		t.Errorf("SMTPUTF8: %v, changed %+v\n%s", err, res, b.String())
	}
}

func TestLimits(t *testing.T) {
	big := "X-Big: " + strings.Repeat("a", 2000) + "\n\nbody\n"
	if e := downErr(t, big, Options{MaxHeaderBytes: 1000}); !errors.Is(e, ErrLimit) || e.Code() != "5.6.3" {
		t.Errorf("header: %v", e)
	}
	nest := func(depth int, leaf string) string {
		s := leaf
		for i := 0; i < depth; i++ {
			s = "Content-Type: message/rfc822\n\n" + s
		}
		return "MIME-Version: 1.0\n" + s
	}
	seven := nest(5, "Subject: deep\n\nplain\n")
	out, _ := down(t, seven, Options{MaxDepth: 2})
	if out != seven {
		t.Errorf("7-bit past the depth changed:\n%s", out)
	}
	if e := downErr(t, nest(5, "Subject: deep\n\ncaf\xc3\xa9\n"), Options{MaxDepth: 2}); !errors.Is(e, ErrLimit) {
		t.Errorf("depth: %v", e)
	}
	out, res := down(t, nest(5, "Subject: deep\n\ncaf\xc3\xa9 au lait, merci\n"), Options{MaxDepth: 6})
	if res.QuotedPrintable != 1 {
		t.Errorf("depth 6: %+v\n%s", res, out)
	}
}

func TestLate8Bit(t *testing.T) {
	head := "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
	body := strings.Repeat("seven bits\n", 10) + "caf\xc3\xa9\n"
	if e := downErr(t, head+"\n"+body, Options{LookAhead: 32}); !errors.Is(e, ErrLate8Bit) || e.Code() != "5.6.3" {
		t.Errorf("undeclared: %v", e)
	}
	// Declared 8bit: re-encoded whatever the look-ahead saw.
	_, res := down(t, head+"Content-Transfer-Encoding: 8bit\n\n"+body, Options{LookAhead: 32})
	if res.QuotedPrintable != 1 {
		t.Errorf("declared: %+v", res)
	}
	// The whole part within the look-ahead: judged on all its bytes.
	_, res = down(t, head+"\n"+body, Options{})
	if res.QuotedPrintable != 1 {
		t.Errorf("default look-ahead: %+v", res)
	}
}

func TestMalformed(t *testing.T) {
	tests := map[string]string{
		"8-bit in quoted-printable": "MIME-Version: 1.0\nContent-Transfer-Encoding: quoted-printable\n\ncaf\xc3\xa9\n",
		"8-bit in base64":           "MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\nAAAA\xff\n",
		"unknown encoding":          "MIME-Version: 1.0\nContent-Transfer-Encoding: x-uuencode\n\n\xff\n",
		"multipart, no boundary":    "MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n\xff\n",
		"encoded message/rfc822":    "MIME-Version: 1.0\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n\xff\n",
		"unparsable header":         "MIME-Version: 1.0\nno colon here\n\n\xff\n",
	}
	for name, msg := range tests {
		if e := downErr(t, msg, Options{}); !errors.Is(e, ErrMalformed) || e.Code() != "5.6.3" {
			t.Errorf("%s: %v", name, e)
		}
		seven := strings.ReplaceAll(strings.ReplaceAll(msg, "\xff", "x"), "\xc3\xa9", "e")
		var out bytes.Buffer
		if _, err := Downgrade(&out, strings.NewReader(seven), Options{}); err != nil || out.String() != seven {
			t.Errorf("%s, 7-bit: %v\n%q", name, err, out.String())
		}
	}
}

// TestFraming checks delimiter lines at the edges RFC 2046 §5.1.1 allows: right after the
// header, with padding, a part that ends without its close delimiter, a missing header.
func TestFraming(t *testing.T) {
	msgs := []string{
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b\nContent-Type: text/plain\n--b--\n",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n\ncaf\xc3\xa9 au lait, merci\n--b \t\n\nx\n--b--",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n\ncaf\xc3\xa9 au lait, merci",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\ncaf\xc3\xa9 au lait, merci\n--b--\n",
		"Content-Type: multipart/mixed; boundary=b\n\n--bb\ncaf\xc3\xa9 au lait, merci\n--b\n\ncaf\xc3\xa9 au lait, merci\n--b--\n",
	}
	wants := []string{
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b\nContent-Type: text/plain\n--b--\n",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 au lait, merci\n--b \t\n\nx\n--b--",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 au lait, merci",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 au lait, merci\n--b--\n",
		"Content-Type: multipart/mixed; boundary=b\n\n--bb\ncaf?? au lait, merci\n--b\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 au lait, merci\n--b--\n",
	}
	for i, msg := range msgs {
		var out bytes.Buffer
		if _, err := Downgrade(&out, strings.NewReader(msg), Options{}); err != nil || out.String() != wants[i] {
			t.Errorf("%d: %v\ngot  %q\nwant %q", i, err, out.String(), wants[i])
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestIOErrors(t *testing.T) {
	msg := "Subject: x\n\n" + strings.Repeat("caf\xc3\xa9\n", 20000)
	_, err := Downgrade(failWriter{}, strings.NewReader(msg), Options{})
	var e *Error
	if err == nil || errors.As(err, &e) {
		t.Errorf("write: %v", err)
	}
	_, err = Downgrade(io.Discard, io.MultiReader(strings.NewReader("Subject: x\n\n"), failReader{}), Options{})
	if err == nil || errors.As(err, &e) {
		t.Errorf("read: %v", err)
	}
}
