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
	tests := []struct {
		in              string
		sender, recipnt bool
	}{
		{"a@b", true, true},
		{"", true, false}, // the null sender
		{"a\r@b", false, false},
		{"a\n@b", false, false},
		{"a\x00b", false, false},
		// decision 13: nothing may end the path early
		{"x@example.net> RET=HDRS ENVID=a", false, false},
		{"a@example.test> NOTIFY=NEVER", false, false},
		{"a@example.test> ORCPT=rfc822;b", false, false},
		{"a@example.test> ORCPT=rfc822;b@example.test", true, true}, // split at the last '@': all before it is quoted
		{"a@example.test>", false, false},
		{"a@<example.test", false, false},
		{"a@exa mple.test", false, false},
		{"a@example.test\t", false, false},
		{"a@example.test\x7f", false, false},
		{"postmaster", true, false}, // no '@': a sender may be local, a recipient may not
		{"postmaster> NOTIFY=NEVER", false, false},
		{"post master", false, false},
		// the local part is quoted by Path: anything but CR, LF and NUL is safe there
		{"d e@example.test", true, true},
		{"a> NOTIFY=NEVER <b@example.test", true, true},
		{"\x01@example.test", true, true},
		{"#@[]", true, true},
		{"üser@exämple.test", true, true},
	}
	for _, tt := range tests {
		if ValidAddress(tt.in) != tt.sender || ValidRecipient(tt.in) != tt.recipnt {
			t.Errorf("%q: ValidAddress %v ValidRecipient %v, want %v %v", tt.in,
				ValidAddress(tt.in), ValidRecipient(tt.in), tt.sender, tt.recipnt)
		}
	}
}

// FuzzValidAddress: an address that passes ValidAddress, written by Path, gives a path whose
// only unquoted '>' is its closing bracket and which holds no space, CR or LF outside quotes:
// nothing of it can be read as a parameter.
func FuzzValidAddress(f *testing.F) {
	f.Add("x@example.net> RET=HDRS", false)
	f.Add("a b\"c>@d", true)
	f.Fuzz(func(t *testing.T, addr string, utf8 bool) {
		if !ValidAddress(addr) {
			return
		}
		path := "<" + Path(addr, utf8) + ">"
		quoted := false
		for i := 0; i < len(path); i++ {
			c := path[i]
			switch {
			case c == '\r' || c == '\n':
				t.Fatalf("%q: line break in %q", addr, path)
			case quoted && c == '\\':
				i++
			case c == '"':
				quoted = !quoted
			case !quoted && (c <= ' ' || (c == '>' && i != len(path)-1)):
				t.Fatalf("%q: %q ends the path early at byte %d", addr, path, i)
			}
		}
	})
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
