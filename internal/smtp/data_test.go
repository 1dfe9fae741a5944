package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"regexp"
	"slices"
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
		{"a\r\r\n", "a\r\n\r\n.\r\n"},        // a lone CR ends a line, the CRLF after it is kept
		{"a\r.\n", "a\r\n..\r\n.\r\n"},       // decision 11: a lone CR ends a line, the dot after it is doubled
		{"x\n\r.\n", "x\r\n\r\n..\r\n.\r\n"}, // a line made of a lone CR
		{"a\rb\n", "a\r\nb\r\n.\r\n"},        // no bare CR reaches the wire
		{"\r", "\r\n.\r\n"},                  // a message of one lone CR
		{"\r\r", "\r\n\r\n.\r\n"},            // two
		{"line1\r.\nMAIL FROM:<evil@x>\n", // the measured smuggling case of decision 11
			"line1\r\n..\r\nMAIL FROM:<evil@x>\r\n.\r\n"},
		{"abc\r", "abc\r\n.\r\n"}, // a final CR counts as a line ending
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
	for _, in := range []string{"abc", "a\nb", "a\r\nb", "a\rb"} {
		got, err := encode(t, in, 1)
		if !errors.Is(err, ErrPartialLine) {
			t.Errorf("%q: err = %v", in, err)
		}
		if strings.HasSuffix(got, ".\r\n") {
			t.Errorf("%q: final dot written: %q", in, got)
		}
	}
}

// FuzzBodyEncoder checks the promises of the encoder for any input and any chunking (decisions
// 1 and 11): no bare CR or LF on the wire (RFC 5321 §2.3.8); the first line that is a lone "."
// is the real end, under a strict reading (only CRLF ends a line) and a lenient one (CR, LF or
// CRLF) alike; and decoding the wire form gives back the input with every line ending (CRLF,
// LF, or a lone CR) made one.
func FuzzBodyEncoder(f *testing.F) {
	for _, s := range []string{"a\n.\n", "a\r.\n", ".\r\n.\n", "\r\r\n.", "x\r", "..", "a\r\r.\r\n", "\r.\r\n"} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, in string, chunk uint8) {
		wire, err := encode(t, in, int(chunk)+1)
		if err != nil && !errors.Is(err, ErrPartialLine) {
			t.Fatal(err)
		}
		if i := bareCROrLF(wire); i >= 0 {
			t.Fatalf("bare CR or LF at %d: in %q wire %q", i, in, wire)
		}
		strict := strings.Split(wire, "\r\n")
		lenient := lenientEOL.Split(wire, -1)
		if strings.Join(strict, "|") != strings.Join(lenient, "|") {
			t.Fatalf("strict and lenient readings differ: in %q wire %q", in, wire)
		}
		end := slices.Index(strict, ".")
		if err != nil {
			if end >= 0 {
				t.Fatalf("partial message %q produced an end of data: %q", in, wire)
			}
			return
		}
		// The wire is lines, each CRLF-ended, so Split leaves one empty string after the dot.
		if end != len(strict)-2 || strict[len(strict)-1] != "" {
			t.Fatalf("the first lone dot is not the real end: in %q wire %q", in, wire)
		}
		var dec []string
		for _, l := range strict[:end] {
			if strings.HasPrefix(l, ".") {
				if !strings.HasPrefix(l, "..") {
					t.Fatalf("unstuffed dot line %q", l)
				}
				l = l[1:]
			}
			dec = append(dec, l+"\n")
		}
		want := strings.ReplaceAll(in, "\r\n", "\n")
		want = strings.ReplaceAll(want, "\r", "\n")
		if got := strings.Join(dec, ""); got != want {
			t.Fatalf("round trip of %q: got %q, wire %q", in, got, wire)
		}
	})
}

// lenientEOL is how a lenient receiver finds line ends: CRLF, a lone CR or a lone LF.
var lenientEOL = regexp.MustCompile("\r\n|\r|\n")

// bareCROrLF returns the index of the first CR not followed by LF or LF not preceded by CR, or -1.
func bareCROrLF(s string) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\r' && (i+1 == len(s) || s[i+1] != '\n'):
			return i
		case s[i] == '\n' && (i == 0 || s[i-1] != '\r'):
			return i
		}
	}
	return -1
}
