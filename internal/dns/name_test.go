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
		{"\xff.test", ""},                 // not UTF-8
		{"a\u0301.test", "xn--1ca.test."}, // a decomposed letter is encoded as it is (no NFC)
		{"\u0301a.test", ""},              // a label may not start with a mark
		{"ab--ü.test", ""},                // hyphens in positions 3 and 4
		{"-ü.test", ""},
		{"ü-.test", ""},
		{"ü!.test", ""},
		{"☃.test", "xn--n3h.test."}, // UTS #46 lookup mapping lets symbols through
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

// TestBadNameSendsNothing checks that a name that cannot exist fails without any query.
func TestBadNameSendsNothing(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{})
	r := resolverFor(srv)
	for _, name := range []string{"", "a..test", "\xff.test", strings.Repeat("x", 300)} {
		_, res, err := r.LookupMX(context.Background(), name)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrNotFound) || e.Name != name || e.Type != "MX" || res.Authentic {
			t.Errorf("LookupMX(%q) = %+v, %v; want ErrNotFound naming it", name, res, err)
		}
		// A TLSA owner that cannot be built is "unknown", never "no records" (a caller reads
		// ErrNotFound as a denial).
		if _, _, err := r.LookupTLSA(context.Background(), 25, name); !errors.Is(err, ErrTemporary) || errors.Is(err, ErrNotFound) {
			t.Errorf("LookupTLSA(25, %q) error %v; want ErrTemporary", name, err)
		}
	}
	if q := srv.Queries(); len(q) != 0 {
		t.Errorf("queries sent for impossible names: %+v", q)
	}
}
