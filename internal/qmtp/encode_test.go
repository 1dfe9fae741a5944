package qmtp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestCopyLF(t *testing.T) {
	tests := map[string]string{
		"":                        "",
		"a\nb\n":                  "a\nb\n",
		"a\r\nb\r\n":              "a\nb\n",
		"a\r\n\r\n.\r\n":          "a\n\n.\n",
		"lone\rcr\r\n":            "lone\rcr\n",
		"ends in cr\r":            "ends in cr\r",
		"no final newline":        "no final newline",
		"\r\r\n\n":                "\r\n\n",
		"8bit \xff\x00\r\n":       "8bit \xff\x00\n",
		"\r":                      "\r",
		"\r\n":                    "\n",
		"mixed\nends\r\nlast\r\r": "mixed\nends\nlast\r\r",
	}
	for in, want := range tests {
		for name, r := range map[string]io.Reader{
			"whole":    strings.NewReader(in),
			"one byte": iotest.OneByteReader(strings.NewReader(in)),
			"half":     iotest.HalfReader(strings.NewReader(in)),
		} {
			var out bytes.Buffer
			n, err := copyLF(&out, r, make([]byte, 4))
			if err != nil || out.String() != want || n != int64(len(want)) {
				t.Errorf("%q (%s): %q, %d, %v; want %q", in, name, out.String(), n, err, want)
			}
		}
	}
}

func TestCopyLFReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := copyLF(io.Discard, io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), make([]byte, 8))
	var re readError
	if !errors.As(err, &re) || !errors.Is(err, boom) {
		t.Errorf("err %v; want a readError wrapping the cause", err)
	}
}

// FuzzCopyLF: in any chunking the output is the input with each CRLF turned into LF, and the
// count is its length.
func FuzzCopyLF(f *testing.F) {
	for _, s := range []string{"a\r\nb", "\r\r\n", "\r", "x\ny\r\n\r\n"} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, in string, size uint8) {
		var out bytes.Buffer
		n, err := copyLF(&out, strings.NewReader(in), make([]byte, int(size%16)+1))
		want := strings.ReplaceAll(in, "\r\n", "\n")
		if err != nil || out.String() != want || n != int64(len(want)) {
			t.Fatalf("%q: %q, %d, %v", in, out.String(), n, err)
		}
	})
}
