package idn

import "testing"

func TestToASCII(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"example.test", "example.test", true},
		{"Ex-Ample.TEST.", "Ex-Ample.TEST.", true}, // ASCII: unchanged, case and final dot kept
		{"_25._tcp.mx.test", "_25._tcp.mx.test", true},
		{"bücher.example", "xn--bcher-kva.example", true},
		{"BÜCHER.example", "xn--bcher-kva.example", true},
		{"mx.bücher.example.", "mx.xn--bcher-kva.example.", true},
		{"münchen。test", "xn--mnchen-3ya.test", true},
		{"_25._tcp.bücher.example", "", false}, // IDNA refuses '_' once it has to convert
		{"\xff.test", "", false},
		{"\u0301a.test", "", false},
		{"[192.0.2.1]", "[192.0.2.1]", true},
	}
	for _, tt := range tests {
		got, ok := ToASCII(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ToASCII(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if got := Host("\xff.test"); got != "\xff.test" {
		t.Errorf("Host of a bad name = %q; want it unchanged", got)
	}
	if got := Host("bücher.example"); got != "xn--bcher-kva.example" {
		t.Errorf("Host(bücher.example) = %q", got)
	}
}

func FuzzToASCII(f *testing.F) {
	for _, s := range []string{"bücher.example", "example.test", "_25._tcp.bücher.x", "\xff", "ｅｘａｍｐｌｅ．ｔｅｓｔ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		out, ok := ToASCII(name)
		if !ok {
			return
		}
		if !IsASCII(out) {
			t.Fatalf("ToASCII(%q) = %q, not ASCII", name, out)
		}
		if again, ok := ToASCII(out); !ok || again != out {
			t.Fatalf("ToASCII(%q) = %q, then %q, %v", name, out, again, ok)
		}
	})
}
