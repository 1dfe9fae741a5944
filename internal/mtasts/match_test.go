package mtasts

import "testing"

func TestMatch(t *testing.T) {
	t.Parallel()
	p := &Policy{Mode: ModeEnforce, MX: []string{"mail.example.test", "*.example.net"}}
	tests := []struct {
		host string
		want bool
	}{
		{"mail.example.test", true},
		{"MAIL.Example.TEST", true},
		{"mail.example.test.", true},
		{"mx.example.net", true},
		{"MX.example.net.", true},
		{"example.net", false},      // the wildcard needs a label
		{"a.mx.example.net", false}, // exactly one label
		{".example.net", false},
		{"xexample.net", false},
		{"mail.example.test.evil.test", false},
		{"other.example.test", false},
		{"", false},
		{".", false},
	}
	for _, tt := range tests {
		if got := p.Match(tt.host); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestEffect(t *testing.T) {
	t.Parallel()
	pol := func(m Mode) *Policy { return &Policy{Mode: m, MX: []string{"*.example.test"}} }
	tests := []struct {
		name string
		p    *Policy
		host string
		want Effect
	}{
		{"no policy", nil, "mx.example.test", Effect{}},
		{"none", pol(ModeNone), "mx.other.test", Effect{}},
		{"testing match", pol(ModeTesting), "mx.example.test", Effect{Mode: ModeTesting, MXMatch: true, Report: true}},
		{"testing no match", pol(ModeTesting), "mx.other.test", Effect{Mode: ModeTesting, Report: true}},
		{"enforce match", pol(ModeEnforce), "mx.example.test", Effect{Mode: ModeEnforce, MXMatch: true, RequireTLS: true, Report: true}},
		{"enforce no match", pol(ModeEnforce), "mx.other.test", Effect{Mode: ModeEnforce, Skip: true, Report: true}},
	}
	for _, tt := range tests {
		if got := tt.p.Effect(tt.host); got != tt.want {
			t.Errorf("%s: Effect(%q) = %+v, want %+v", tt.name, tt.host, got, tt.want)
		}
	}
}
