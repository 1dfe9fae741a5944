package downgrade

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mxout/mxout/internal/downgrade/mimetest"
)

// FuzzDowngrade: never a panic; an error is an *Error with a 5.6.x code; otherwise the output
// is 7-bit, equals the input when the Result says nothing changed, and a second downgrade of
// it changes nothing.
func FuzzDowngrade(f *testing.F) {
	f.Add([]byte("Subject: caf\xc3\xa9\n\nr\xe9sum\xe9\n"), false)
	f.Add([]byte("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xff\xfe\r\n--b--\r\npost\r\n"), true)
	f.Add([]byte("Content-Type: message/rfc822\n\nContent-Type: multipart/digest; boundary=\"x y\"\n\n--x y\n\nSubject: s\n\n\x00\x80\n--x y--\n"), false)
	for seed := int64(1); seed <= 8; seed++ {
		f.Add(mimetest.NewGen(seed, []string{"\n", "\r\n"}[seed%2], seed%4 == 0).Message(), seed%4 == 0)
	}
	f.Fuzz(func(t *testing.T, msg []byte, small bool) {
		opts := Options{}
		if small {
			opts = Options{MaxHeaderBytes: 4096, MaxDepth: 4, LookAhead: 64}
		}
		var out bytes.Buffer
		res, err := Downgrade(&out, bytes.NewReader(msg), opts)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not an *Error: %v", err)
			}
			if c := e.Code(); c != "5.6.3" && c != "5.6.9" {
				t.Fatalf("code %s", c)
			}
			return
		}
		for i, c := range out.Bytes() {
			if c >= 0x80 {
				t.Fatalf("8-bit byte at %d of the output", i)
			}
		}
		if !res.Changed() && !bytes.Equal(out.Bytes(), msg) {
			t.Fatalf("output differs, result says unchanged")
		}
		differ(t, msg, out.Bytes())
		// Encoded-words make header sections longer: give the second pass room for them.
		opts.MaxHeaderBytes *= 4
		var again bytes.Buffer
		res2, err := Downgrade(&again, bytes.NewReader(out.Bytes()), opts)
		if err != nil || res2.Changed() || !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatalf("second downgrade: %v, %+v\nfirst:\n%q\nsecond:\n%q", err, res2, out.Bytes(), again.Bytes())
		}
	})
}

// differ checks the downgrade's framing against go-message's reader: when go-message reads the
// input, it reads the same tree and the same decoded bodies from the output. Inputs with CR are
// left out: go-message decides once per multipart whether lines end in LF or CRLF, the frame
// decides per line (docs/downgrade.md).
func differ(t *testing.T, in, out []byte) {
	t.Helper()
	if bytes.IndexByte(in, '\r') >= 0 {
		return
	}
	a, err := mimetest.ReadTree(in)
	if err != nil {
		return
	}
	b, err := mimetest.ReadTree(out)
	if err != nil {
		t.Fatalf("go-message reads the input, not the output: %v\n%q\n%q", err, in, out)
	}
	mimetest.DropFields(a)
	mimetest.DropFields(b)
	if err := mimetest.Same(a, b, "message"); err != nil {
		t.Fatalf("%v\nin:  %q\nout: %q", err, in, out)
	}
}
