package smtp

import "testing"

// The cases observed from the reference (spec/qmail-control-files.md, rcpt-odd-addresses).
func TestPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"john doe@example.com", `"john doe"@example.com`},
		{".dot@x", `".dot"@x`},
		{"a..b@x", `"a..b"@x`},
		{"x@y@example.com", `"x@y"@example.com`},
		{`"q"@x`, `"\"q\""@x`},
		{`back\slash@x`, `"back\\slash"@x`},
		{"\xfc@x", "\"\xfc\"@x"},
		{"@example.com", `""@example.com`},
		{"@", `""@`},
		{"", ""},
		{"no at sign", "no at sign"},
		{"#@[]", "#@[]"},
		{"UPPER@EXAMPLE.COM", "UPPER@EXAMPLE.COM"},
		{"a.b+c@example.test", "a.b+c@example.test"},
		{"trail.@x", `"trail."@x`},
	}
	for _, tt := range tests {
		if got := Path(tt.in, false); got != tt.want {
			t.Errorf("Path(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Path("üser@example.test", true); got != "üser@example.test" {
		t.Errorf("SMTPUTF8 local part quoted: %q", got)
	}
}

func TestValidAddress(t *testing.T) {
	for in, want := range map[string]bool{"a@b": true, "": true, "a\r@b": false, "a\n@b": false, "a\x00b": false} {
		if ValidAddress(in) != want {
			t.Errorf("ValidAddress(%q) != %v", in, want)
		}
	}
}

// FuzzPath: the encoded path never holds an unescaped quote inside its quoted part, and the
// local part comes back when the quoting is undone.
func FuzzPath(f *testing.F) {
	f.Add("john doe@example.com", false)
	f.Add(`a"b\c@x`, true)
	f.Fuzz(func(t *testing.T, addr string, utf8 bool) {
		got := Path(addr, utf8)
		at := -1
		for i := len(addr) - 1; i >= 0; i-- {
			if addr[i] == '@' {
				at = i
				break
			}
		}
		if at < 0 {
			if got != addr {
				t.Fatalf("no @ but changed: %q", got)
			}
			return
		}
		local := addr[:at]
		if len(got) == 0 || got[0] != '"' {
			if got != addr {
				t.Fatalf("unquoted but changed: %q", got)
			}
			return
		}
		var un []byte
		i := 1
		for ; i < len(got) && got[i] != '"'; i++ {
			if got[i] == '\\' {
				i++
			}
			un = append(un, got[i])
		}
		if string(un) != local || got[i+1:] != addr[at:] {
			t.Fatalf("Path(%q) = %q does not decode back", addr, got)
		}
	})
}
