package dns

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/dns/dnstest"
)

func TestQueryName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string // want "" means ErrNotFound
	}{
		{"example.test", "example.test."},
		{"example.test.", "example.test."},
		{"Ex-Ample.TEST", "Ex-Ample.TEST."},
		{"_25._tcp.mx.example.test", "_25._tcp.mx.example.test."},
		{"bücher.test", "xn--bcher-kva.test."},
		{"BÜCHER.test.", "xn--bcher-kva.test."},
		{"münchen。test", "xn--mnchen-3ya.test."},                 // ideographic full stop
		{"ｅｘａｍｐｌｅ．ｔｅｓｔ", "example.test."},                        // fullwidth, all ASCII after mapping
		{"他们为什么不说中文.test", "xn--ihqwcrb4cv8a8dqg056pqjye.test."}, // RFC 3492 §7.1 (B)
		{"xn--bcher-kva.test", "xn--bcher-kva.test."},
		{strings.Repeat("a", 63) + ".test", strings.Repeat("a", 63) + ".test."},
		{strings.Repeat("a.", 126) + "b", strings.Repeat("a.", 126) + "b."}, // 253 characters
		{"", ""},
		{".", ""},
		{"..", ""},
		{"a..test", ""},
		{".a.test", ""},
		{"example.test..", ""},
		{strings.Repeat("a", 64) + ".test", ""},
		{strings.Repeat("a.", 126) + "bc", ""}, // 254 characters
		{"ex ample.test", ""},
		{"ex\\.ample.test", ""},
		{"ex\x00ample.test", ""},
		{"exa*mple.test", ""},
		{"\xff.test", ""},                   // not UTF-8
		{"a\u0301.test", "xn--a-xbb.test."}, // a decomposed letter is encoded as it is (no NFC)
		{"\u0301a.test", ""},                // a label may not start with a mark
		{"ab--ü.test", ""},                  // hyphens in positions 3 and 4
		{"-ü.test", ""},
		{"ü-.test", ""},
		{"ü!.test", ""},
		{"☃.test", ""}, // a symbol, not a letter
		{strings.Repeat("ü", 60) + ".test", ""},
	}
	for _, tt := range tests {
		got, err := queryName(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrNotFound) || got != "" {
				t.Errorf("queryName(%q) = %q, %v; want ErrNotFound", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("queryName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestPunycode checks the encoder against the samples of RFC 3492 §7.1.
func TestPunycode(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"ü", "tda"},
		{"bücher", "bcher-kva"},
		{"ليهمابتكلموشعربي؟", "egbpdaj6bu4bxfgehfvwxn"},                                               // (A)
		{"他們爲什麽不說中文", "ihqwctvzc91f659drss3x8bo0yb"},                                                  // (C)
		{"Pročprostěnemluvíčesky", "Proprostnemluvesky-uyb24dma41a"},                                  // (D)
		{"למההםפשוטלאמדבריםעברית", "4dbcagdahymbxekheh6e0a7fei0b"},                                    // (E)
		{"PorquénopuedensimplementehablarenEspañol", "PorqunopuedensimplementehablarenEspaol-fmd56a"}, // (J)
		{"3年B組金八先生", "3B-ww4c5e180e575a65lsy2b"},                                                      // (L)
		{"安室奈美恵-with-SUPER-MONKEYS", "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n"},                      // (M)
		{"そのスピードで", "d9juau41awczczp"},                                                                // (Q)
		{"abc", "abc-"},
	}
	for _, tt := range tests {
		if got := punycode([]rune(tt.in)); got != tt.want {
			t.Errorf("punycode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestBadNameSendsNothing checks that a name that cannot exist fails without any query.
func TestBadNameSendsNothing(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{})
	r := resolverFor(srv)
	for _, name := range []string{"", "a..test", "☃.test", strings.Repeat("x", 300)} {
		_, res, err := r.LookupMX(context.Background(), name)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrNotFound) || e.Name != name || e.Type != "MX" || res.Authentic {
			t.Errorf("LookupMX(%q) = %+v, %v; want ErrNotFound naming it", name, res, err)
		}
		if _, _, err := r.LookupTLSA(context.Background(), 25, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupTLSA(25, %q) error %v; want ErrNotFound", name, err)
		}
	}
	if q := srv.Queries(); len(q) != 0 {
		t.Errorf("queries sent for impossible names: %+v", q)
	}
}
