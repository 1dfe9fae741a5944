package txtext

import (
	"strings"
	"testing"
)

func TestGrammar(t *testing.T) {
	names := map[string]bool{"a": true, "x_y-z.1": true, strings.Repeat("a", 32): true, strings.Repeat("a", 33): false,
		"": false, "_x": false, "-x": false, "a b": false, "a;": false}
	for s, want := range names {
		if Name(s) != want {
			t.Errorf("Name(%q) = %v, want %v", s, !want, want)
		}
	}
	values := map[string]bool{"abc": true, "!~": true, "mailto:a@b": true, "": false, "a;b": false, "a=b": false,
		"a b": false, "\x7f": false, "\xe9": false}
	for s, want := range values {
		if Value(s) != want {
			t.Errorf("Value(%q) = %v, want %v", s, !want, want)
		}
	}
}
