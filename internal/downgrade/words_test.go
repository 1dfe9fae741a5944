package downgrade

import (
	"mime"
	"strings"
	"testing"
)

// TestEncodeField: only the 8-bit runs become encoded-words, and a reader decodes the same
// text before and after, white space included.
func TestEncodeField(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Subject: caf\xc3\xa9 cr\xc3\xa8me\n", "Subject: =?utf-8?q?caf=C3=A9_cr=C3=A8me?=\n"},
		{"Subject: Re: caf\xc3\xa9 au lait cr\xc3\xa8me\n", "Subject: Re: =?utf-8?q?caf=C3=A9?= au lait =?utf-8?q?cr=C3=A8me?=\n"},
		{"Subject: =?utf-8?q?x?= \xc3\xa9\n", "Subject: =?utf-8?q?x?= =?utf-8?b?IMOp?=\n"},
		{"Subject: \xc3\xa9  =?utf-8?q?x?=\n", "Subject: =?utf-8?q?=C3=A9__?= =?utf-8?q?x?=\n"},
		{"Subject: caf\xc3\xa9\n\tau  lait\n", "Subject: =?utf-8?q?caf=C3=A9?=\tau  lait\n"},
		{"SUBJECT :\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\r\n", "SUBJECT : =?utf-8?b?0J/RgNC40LLQtdGC?=\n"},
		{"Subject: " + strings.Repeat("mot ", 20) + "\xc3\xa9t\xc3\xa9 " + strings.Repeat("\xe6\x97\xa5", 40) + "\n", ""},
	}
	dec := new(mime.WordDecoder)
	unfold := func(field string) string {
		v := field[strings.IndexByte(field, ':')+1:]
		v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", ""), "\n", "")
		d, err := dec.DecodeHeader(strings.Trim(v, " \t"))
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		return d
	}
	for _, tt := range tests {
		got := string(encodeField([]byte(tt.in), "\n"))
		if tt.want != "" && got != tt.want {
			t.Errorf("%q:\ngot  %q\nwant %q", tt.in, got, tt.want)
		}
		if has8([]byte(got)) {
			t.Errorf("%q: 8-bit output %q", tt.in, got)
		}
		for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
			if len(line) > foldAt {
				t.Errorf("%q: line of %d: %q", tt.in, len(line), line)
			}
		}
		if a, b := unfold(tt.in), unfold(got); a != b {
			t.Errorf("%q: reads %q, was %q", tt.in, b, a)
		}
	}
}
