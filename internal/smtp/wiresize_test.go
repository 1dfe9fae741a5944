package smtp_test

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/smtp"
)

// FuzzWireSize: the size message.Scan declares with SIZE is what BodyEncoder sends, less the
// dot-stuffing and the final dot (RFC 1870 §4), for any input and any chunking of the scan.
func FuzzWireSize(f *testing.F) {
	for _, s := range []string{"a\n", "a\r.\nb\n", "\r\r\n", "x\r", ".\n..\r\n", "\r\n\r"} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, in string, chunk uint8) {
		var scan message.Scan
		for p := []byte(in); len(p) > 0; {
			n := min(int(chunk)+1, len(p))
			scan.Write(p[:n])
			p = p[n:]
		}
		var wire bytes.Buffer
		bw := bufio.NewWriter(&wire)
		enc := smtp.NewBodyEncoder(bw)
		enc.Write([]byte(in))
		if err := enc.Close(); err != nil {
			if !scan.Partial() {
				t.Fatalf("%q: encoder says %v, scan says complete", in, err)
			}
			return
		}
		bw.Flush()
		if scan.Partial() {
			t.Fatalf("%q: scan says partial, encoder sent %q", in, wire.String())
		}
		text := strings.TrimSuffix(wire.String(), ".\r\n")
		stuffed := 0
		for _, l := range strings.Split(text, "\r\n") {
			if strings.HasPrefix(l, ".") {
				stuffed++
			}
		}
		if got, want := scan.WireSize(), int64(len(text)-stuffed); got != want {
			t.Fatalf("%q: WireSize %d, encoder sent %d bytes of text (%q)", in, got, want, wire.String())
		}
	})
}
