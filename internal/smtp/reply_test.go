package smtp

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		code  int
		lines []string
		err   error
	}{
		{"single", "250 ok\r\n", 250, []string{"250 ok"}, nil},
		{"bare LF", "250 ok\n", 250, []string{"250 ok"}, nil},
		{"multi", "250-a\r\n250-b\r\n250 c\r\n", 250, []string{"250-a", "250-b", "250 c"}, nil},
		{"multi bare LF", "550-a\n550 b\n", 550, []string{"550-a", "550 b"}, nil},
		{"code only", "250\r\n", 250, []string{"250"}, nil},
		{"garbage is one malformed line", "hello there\r\n", 0, []string{"hello there"}, nil},
		{"short line", "25\r\n", 0, []string{"25"}, nil},
		{"mixed codes are malformed", "250-ok\r\n451 no\r\n", 0, []string{"250-ok", "451 no"}, nil},
		{"out of range code", "650 x\r\n", 0, []string{"650 x"}, nil},
		{"no separator after the code", "250ok\r\n", 0, []string{"250ok"}, nil},
		{"four digits", "2500 ok\r\n", 0, []string{"2500 ok"}, nil},
		{"tab after the code", "250\tok\r\n", 0, []string{"250\tok"}, nil},
		{"malformed final line of a multi-line reply", "250-ok\r\n250ok\r\n", 0, []string{"250-ok", "250ok"}, nil},
		{"mixed codes, second line garbage", "250-ok\r\n25\r\n", 0, []string{"250-ok", "25"}, nil},
		{"mixed codes in the middle", "250-a\r\n550-b\r\n250 c\r\n", 0, []string{"250-a", "550-b", "250 c"}, nil},
		{"interior CR kept", "550 a\rb\r\n", 550, []string{"550 a\rb"}, nil},
		{"NUL kept", "550 a\x00b\r\n", 550, []string{"550 a\x00b"}, nil},
		{"eof at start", "", 0, nil, io.EOF},
		{"partial final line", "250 ok", 0, []string{"250 ok"}, io.ErrUnexpectedEOF},
		{"eof after continuation", "250-a\r\n", 0, []string{"250-a"}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := readReply(bufio.NewReaderSize(strings.NewReader(tt.in), 16))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && r.Code != tt.code {
				t.Errorf("code = %d, want %d", r.Code, tt.code)
			}
			if strings.Join(r.Lines, "|") != strings.Join(tt.lines, "|") {
				t.Errorf("lines = %q, want %q", r.Lines, tt.lines)
			}
		})
	}
}

func TestReadReplyBounded(t *testing.T) {
	long := "250 " + strings.Repeat("x", MaxReplyBytes) + "\r\n"
	r, err := readReply(bufio.NewReader(strings.NewReader(long)))
	if !errors.Is(err, ErrReplyTooLong) {
		t.Fatalf("long line: err = %v", err)
	}
	if n := len(strings.Join(r.Lines, "")); n > MaxReplyBytes {
		t.Errorf("kept %d bytes, more than the limit", n)
	}
	many := strings.Repeat("250-x\r\n", MaxReplyLines+5) + "250 end\r\n"
	if _, err := readReply(bufio.NewReader(strings.NewReader(many))); !errors.Is(err, ErrReplyTooLong) {
		t.Fatalf("many lines: err = %v", err)
	}
	total := strings.Repeat("250-"+strings.Repeat("y", 1000)+"\r\n", 80) + "250 end\r\n"
	if _, err := readReply(bufio.NewReader(strings.NewReader(total))); !errors.Is(err, ErrReplyTooLong) {
		t.Fatalf("many long lines: err = %v", err)
	}
}

func TestReplyEnhanced(t *testing.T) {
	tests := []struct {
		line string
		want string
	}{
		{"550 5.1.1 no such user", "5.1.1"},
		{"250 2.0.0 Ok: queued", "2.0.0"},
		{"451 4.7.1 later", "4.7.1"},
		{"550 4.1.1 class disagrees", ""},
		{"550 no code here", ""},
		{"550 5.1234.1 too long", ""},
		{"550", ""},
	}
	for _, tt := range tests {
		r, _ := readReply(bufio.NewReader(strings.NewReader(tt.line + "\r\n")))
		if got := r.Enhanced(); got != tt.want {
			t.Errorf("%q: Enhanced = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestParseExtensions(t *testing.T) {
	r, _ := readReply(bufio.NewReader(strings.NewReader(
		"250-mx.example.test hi\r\n250-PIPELINING\r\n250-size 1000\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")))
	ext := parseExtensions(r)
	for _, kw := range []string{"PIPELINING", "SIZE", "8bitmime", "SMTPUTF8"} {
		if !ext.Has(kw) {
			t.Errorf("missing %s in %v", kw, ext)
		}
	}
	if ext.Has("STARTTLS") {
		t.Error("STARTTLS not announced")
	}
	if got := ext.MaxSize(); got != 1000 {
		t.Errorf("MaxSize = %d", got)
	}
	for in, want := range map[string]int64{"": 0, "0": 0, "x": 0, "-5": 0, "10485760": 10485760} {
		if got := (Extensions{"SIZE": in}).MaxSize(); got != want {
			t.Errorf("SIZE %q: MaxSize = %d, want %d", in, got, want)
		}
	}
}

// FuzzReadReply: whatever a server sends, the reader returns within its bounds, never reports
// a code for a reply whose lines disagree, and never panics.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"250 ok\r\n", "250-a\n250 b\n", "hello\r\n", "25\r\n", "250-x\r\n451 y\r\n", "", "550 \x00\r\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := readReply(bufio.NewReaderSize(strings.NewReader(in), 16))
		if n := len(strings.Join(r.Lines, "")); n > MaxReplyBytes {
			t.Fatalf("kept %d bytes", n)
		}
		if err != nil || r.Code == 0 {
			return
		}
		for _, l := range r.Lines {
			if lineCode([]byte(l)) != r.Code {
				t.Fatalf("code %d but line %q", r.Code, l)
			}
		}
	})
}
