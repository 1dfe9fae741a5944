package smtp

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestXText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"q-1.abc", "q-1.abc"},
		{"a+b=c", "a+2Bb+3Dc"},
		{"a b", "a+20b"},
		{"\x00\x7f\xff", "+00+7F+FF"},
		{"~!", "~!"},
	}
	for _, tt := range tests {
		if got := XText(tt.in); got != tt.want {
			t.Errorf("XText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUTF8AddrXText(t *testing.T) {
	tests := []struct {
		in      string
		unitext bool
		want    string
	}{
		{"jöe@example.de", false, `j\x{F6}e@example.de`},
		{"jöe@example.de", true, "jöe@example.de"},
		{"a+b=c\\d@x", true, `a\x{2B}b\x{3D}c\x{5C}d@x`},
		{"δοκιμή@παράδειγμα.δοκιμή", false, `\x{3B4}\x{3BF}\x{3BA}\x{3B9}\x{3BC}\x{3AE}@\x{3C0}\x{3B1}\x{3C1}\x{3AC}\x{3B4}\x{3B5}\x{3B9}\x{3B3}\x{3BC}\x{3B1}.\x{3B4}\x{3BF}\x{3BA}\x{3B9}\x{3BC}\x{3AE}`},
		{"a b@x", true, `a\x{20}b@x`},
		{"😀@x", false, `\x{1F600}@x`},
	}
	for _, tt := range tests {
		if got := UTF8AddrXText(tt.in, tt.unitext); got != tt.want {
			t.Errorf("UTF8AddrXText(%q, %v) = %q, want %q", tt.in, tt.unitext, got, tt.want)
		}
	}
}

func TestORcptParam(t *testing.T) {
	tests := []struct {
		in       string
		smtputf8 bool
		want     string
		bad      bool
	}{
		{"rfc822;user+tag@example.com", false, "rfc822;user+2Btag@example.com", false},
		{"user@example.com", false, "rfc822;user@example.com", false},
		{"RFC822;a=b@x", false, "RFC822;a+3Db@x", false},
		{"x400;/C=US/", false, "x400;/C+3DUS/", false},
		{"rfc822;jöe@example.de", false, `utf-8;j\x{F6}e@example.de`, false},
		{"rfc822;jöe@example.de", true, "utf-8;jöe@example.de", false},
		{"utf-8;joe@example.de", false, `utf-8;joe@example.de`, false},
		{"x400;jöe", false, "", true},
		{"rfc822;", false, "", true},
		{";a@b", false, "", true},
		{"rf c;a@b", false, "", true},
		{"rfc822;a\r\nRCPT TO:<x@y>", false, "", true},
		{"rfc822;\xff@x", false, "", true},
		{"rfc822;" + strings.Repeat("+", 200) + "@x", false, "", true},
	}
	for _, tt := range tests {
		got, err := ORcptParam(tt.in, tt.smtputf8)
		if tt.bad {
			if !errors.Is(err, ErrDSN) {
				t.Errorf("ORcptParam(%q) = %q, %v; want ErrDSN", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ORcptParam(%q, %v) = %q, %v; want %q", tt.in, tt.smtputf8, got, err, tt.want)
		}
	}
}

func TestDSNCheck(t *testing.T) {
	good := []DSN{
		{},
		{Ret: "full", EnvID: "q-1 2", Notify: "success, delay", ORcpt: []string{"", "rfc822;a@b"}},
		{Ret: "HDRS", Notify: "never"},
		{EnvID: strings.Repeat("a", 100)},
	}
	for _, d := range good {
		if err := d.Check(); err != nil {
			t.Errorf("%+v: %v", d, err)
		}
	}
	bad := []DSN{
		{Ret: "BODY"},
		{Notify: "NEVER,SUCCESS"},
		{Notify: "SUCCES"},
		{Notify: ","},
		{EnvID: "a\x00"},
		{EnvID: "ä"},
		{EnvID: strings.Repeat("=", 34)}, // 102 once encoded
		{ORcpt: []string{"x400;ä"}},
	}
	for _, d := range bad {
		if err := d.Check(); !errors.Is(err, ErrDSN) {
			t.Errorf("%+v: %v, want ErrDSN", d, err)
		}
	}
}

func TestNotifyValue(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"never":                   "NEVER",
		" Never ":                 "NEVER",
		"failure,success":         "FAILURE,SUCCESS",
		"delay, DELAY ,failure":   "DELAY,FAILURE",
		"SUCCESS,FAILURE,DELAY":   "SUCCESS,FAILURE,DELAY",
		"success,failure,success": "SUCCESS,FAILURE",
	} {
		if got, err := notifyValue(in); err != nil || got != want {
			t.Errorf("notifyValue(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzORcptParam: whatever a job's orcpt holds, an accepted value is one ESMTP parameter value:
// no blank, control or '=' outside the encodings, at most 500 characters, ASCII unless the
// session declared SMTPUTF8.
func FuzzORcptParam(f *testing.F) {
	for _, s := range []string{"rfc822;a@b", "a+b@c", "utf-8;ö@x", "x;y", ";", "rfc822;a b\r\n"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, smtputf8 bool) {
		v, err := ORcptParam(in, smtputf8)
		if err != nil {
			if !errors.Is(err, ErrDSN) {
				t.Fatalf("%q: %v", in, err)
			}
			return
		}
		if len(v) > maxORcpt || !utf8.ValidString(v) {
			t.Fatalf("%q -> %q: too long or not UTF-8", in, v)
		}
		typ, addr, ok := strings.Cut(v, ";")
		if !ok || !isAtom(typ) || addr == "" {
			t.Fatalf("%q -> %q: not addr-type;value", in, v)
		}
		for _, r := range addr {
			if r <= ' ' || r == 0x7f || r == '=' || (r >= 0x80 && !smtputf8) {
				t.Fatalf("%q -> %q: %q in the value", in, v, r)
			}
		}
	})
}
