package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func encode(t testing.TB, in string, chunk int) (string, error) {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	enc := NewBodyEncoder(bw)
	for p := []byte(in); len(p) > 0; {
		n := min(chunk, len(p))
		enc.Write(p[:n])
		p = p[n:]
	}
	err := enc.Close()
	bw.Flush()
	return out.String(), err
}

func TestBodyEncoder(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ".\r\n"},
		{"a\n", "a\r\n.\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{".\n", "..\r\n.\r\n"},
		{"a\n.b\n..c\n", "a\r\n..b\r\n...c\r\n.\r\n"},
		{"a\r\r\n", "a\r\r\n.\r\n"},       // lone CR passes, the CRLF after it is kept
		{"a\r.\n", "a\r.\r\n.\r\n"},       // decision 1: a CR never starts a line
		{"x\n\r.\n", "x\r\n\r.\r\n.\r\n"}, // a line starting with CR is not dot-stuffed
		{"abc\r", "abc\r\n.\r\n"},         // a final CR counts as a line ending
		{"\xff\x00long\n", "\xff\x00long\r\n.\r\n"},
		{"\n\n", "\r\n\r\n.\r\n"},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 2, 3, 1 << 20} {
			got, err := encode(t, tt.in, chunk)
			if err != nil || got != tt.want {
				t.Errorf("encode(%q) in %d-byte chunks = %q, %v; want %q", tt.in, chunk, got, err, tt.want)
			}
		}
	}
}

func TestBodyEncoderPartialLine(t *testing.T) {
	for _, in := range []string{"abc", "a\nb", "a\r\nb"} {
		got, err := encode(t, in, 1)
		if !errors.Is(err, ErrPartialLine) {
			t.Errorf("%q: err = %v", in, err)
		}
		if strings.HasSuffix(got, ".\r\n") {
			t.Errorf("%q: final dot written: %q", in, got)
		}
	}
}

// FuzzBodyEncoder checks the two promises of the encoder for any input and any chunking:
// decoding the wire form gives back the input (with line endings normalised), and no line of
// the wire form is a lone "." before the real end.
func FuzzBodyEncoder(f *testing.F) {
	for _, s := range []string{"a\n.\n", "a\r.\n", ".\r\n.\n", "\r\r\n.", "x\r", ".."} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, in string, chunk uint8) {
		wire, err := encode(t, in, int(chunk)+1)
		if err != nil {
			if !errors.Is(err, ErrPartialLine) {
				t.Fatal(err)
			}
			if strings.Contains(wire, "\r\n.\r\n") || strings.HasPrefix(wire, ".\r\n") {
				t.Fatalf("partial message %q produced an end of data: %q", in, wire)
			}
			return
		}
		if !strings.HasSuffix(wire, ".\r\n") {
			t.Fatalf("no final dot: %q", wire)
		}
		body := strings.TrimSuffix(wire, ".\r\n")
		if body != "" && !strings.HasSuffix(body, "\r\n") {
			t.Fatalf("final dot not on its own line: %q", wire)
		}
		lines := strings.Split(body, "\r\n")
		var dec []string
		for _, l := range lines[:len(lines)-1] {
			if l == "." {
				t.Fatalf("lone dot line inside the message: in %q wire %q", in, wire)
			}
			if strings.HasPrefix(l, ".") {
				if !strings.HasPrefix(l, "..") {
					t.Fatalf("unstuffed dot line %q", l)
				}
				l = l[1:]
			}
			dec = append(dec, l)
		}
		want := strings.ReplaceAll(in, "\r\n", "\n")
		if strings.HasSuffix(want, "\r") {
			want = strings.TrimSuffix(want, "\r") + "\n"
		}
		got := ""
		if len(dec) > 0 {
			got = strings.Join(dec, "\n") + "\n"
		}
		if got != want {
			t.Fatalf("round trip of %q: got %q, wire %q", in, got, wire)
		}
	})
}
