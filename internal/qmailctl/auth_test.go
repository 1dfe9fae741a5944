package qmailctl

import (
	"reflect"
	"testing"
)

func TestAuthPolicy(t *testing.T) {
	p := parseAuthPolicy(splitLines([]byte("relay.test\n[192.0.2.1]\n")), splitLines([]byte("cram-md5 plain\nLOGIN\n")))
	for relay, want := range map[string]bool{"relay.test": true, "RELAY.TEST": true, "192.0.2.1": true, "[192.0.2.1]": true, "other.test": false} {
		if got := p.InClear(relay); got != want {
			t.Errorf("InClear(%q) = %v", relay, got)
		}
	}
	if want := []string{"CRAM-MD5", "PLAIN", "LOGIN"}; !reflect.DeepEqual(p.Mechanisms, want) {
		t.Errorf("Mechanisms = %q", p.Mechanisms)
	}
	if all := parseAuthPolicy(splitLines([]byte("*\n")), nil); !all.InClear("any.test") || all.Mechanisms != nil {
		t.Error(`"*" must allow every relay, and no authmechanisms all mechanisms`)
	}
	var none *AuthPolicy
	if none.InClear("x") {
		t.Error("nil policy allows clear text")
	}
}
