package tlspolicy

import (
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/dane"
)

// TestDecideRequireTLS: Input.RequireTLS makes every hop mandatory without fallback and asks at
// least a CA and name check, keeps stronger rules and DANE as they are, and overrides "!".
func TestDecideRequireTLS(t *testing.T) {
	rec := dane.Record{Usage: 3, Selector: 1, MatchingType: 1, Data: make([]byte, 32)}
	pin := "%mx.example.test:=" + strings.Repeat("0", 40) + "\n"
	tests := []struct {
		name, rules string
		tlsa        TLSAState
		require     Verified
		dane        bool
	}{
		{"no rule", "", TLSAState{}, VerifiedCAName, false},
		{"fallback rule", "?mx.example.test:\n", TLSAState{}, VerifiedCAName, false},
		{"no-verify rule", "-mx.example.test:\n", TLSAState{}, VerifiedCAName, false},
		{"CA rule", "mx.example.test:\n", TLSAState{}, VerifiedCAName, false},
		{"exact name rule", "=mx.example.test:\n", TLSAState{}, VerifiedCANameExact, false},
		{"pin rule", pin, TLSAState{}, VerifiedPin, false},
		{"clear-only rule", "!mx.example.test:\n", TLSAState{}, VerifiedCAName, false},
		{"DANE", "", TLSAState{Looked: true, Secure: true, Records: []dane.Record{rec}}, VerifiedDANEEE, true},
	}
	for _, tt := range tests {
		d := tlsdest(t, tt.rules+"\n")
		in := Input{Destination: "mx.example.test", ServerName: "mx.example.test", TLSA: tt.tlsa, RequireTLS: true}
		p, err := Decide(d, nil, in)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if p.Mode != Mandatory || p.Fallback || p.Require != tt.require || (len(p.DANE) > 0) != tt.dane || !p.RequireTLS {
			t.Errorf("%s: %s, want mandatory, %s, DANE %v", tt.name, describe(p, nil), tt.require, tt.dane)
		}
		in.RequireTLS = false
		if p, _ := Decide(d, nil, in); p.RequireTLS {
			t.Errorf("%s: RequireTLS set without the input asking", tt.name)
		}
	}
}
