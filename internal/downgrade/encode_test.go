package downgrade

import (
	"bytes"
	"encoding/base64"
	"io"
	"math/rand"
	"mime/quotedprintable"
	"strings"
	"testing"
)

func TestQPWriter(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain\n", "plain\n"},
		{"a=b\r\n", "a=3Db\r\n"},
		{"trailing \nand\t\r\nlast ", "trailing=20\nand=09\r\nlast=20"},
		{"two  spaces\n", "two  spaces\n"},
		{"lone\rcr\x00\x7f\n", "lone=0Dcr=00=7F\n"},
		{"ends with cr\r", "ends with cr=0D"},
		{"caf\xc3\xa9", "caf=C3=A9"},
		{strings.Repeat("a", 80), strings.Repeat("a", 75) + "=\n" + strings.Repeat("a", 5)},
		{strings.Repeat("a", 74) + "\xff", strings.Repeat("a", 74) + "=\n=FF"},
		{strings.Repeat("a", 75) + "--b", strings.Repeat("a", 75) + "=\n=2D-b"},
		{"--b\n", "--b\n"},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 2, 1000} {
			var out bytes.Buffer
			q := &qpWriter{w: &out, eol: "\n"}
			for p := []byte(tt.in); len(p) > 0; {
				n := min(chunk, len(p))
				q.Write(p[:n])
				p = p[n:]
			}
			q.Close()
			if out.String() != tt.want {
				t.Errorf("%q (chunks of %d): got %q, want %q", tt.in, chunk, out.String(), tt.want)
			}
		}
	}
}

// TestEncodersRoundTrip decodes random data with the standard decoders, as a receiver would.
func TestEncodersRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 300; i++ {
		data := make([]byte, r.Intn(600))
		for j := range data {
			alphabet := "ab =\t\r\n\xff\x00-."
			data[j] = alphabet[r.Intn(len(alphabet))]
		}
		var q, b bytes.Buffer
		qw := &qpWriter{w: &q, eol: "\r\n"}
		bw := newB64Writer(&b, "\r\n")
		for _, w := range []io.WriteCloser{qw, bw} {
			w.Write(data)
			w.Close()
		}
		got, err := io.ReadAll(quotedprintable.NewReader(&q))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("quoted-printable: %v\n%q\n%q", err, got, data)
		}
		got, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, &newlineDropper{&b}))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("base64: %v", err)
		}
		for _, out := range [][]byte{q.Bytes(), b.Bytes()} {
			for _, line := range bytes.Split(out, []byte("\n")) {
				if len(line) > 77 {
					t.Fatalf("line of %d: %q", len(line), line)
				}
			}
		}
	}
}

// newlineDropper removes CR and LF, which Go's base64 decoder already skips; it is here to
// make the test independent of that.
type newlineDropper struct{ r io.Reader }

func (d *newlineDropper) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	k := 0
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' {
			p[k] = c
			k++
		}
	}
	return k, err
}
