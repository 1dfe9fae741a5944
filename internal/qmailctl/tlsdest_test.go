package qmailctl

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func tlsFrom(t *testing.T, content string) *TLSDestinations {
	t.Helper()
	d, err := parseTLSDestinations(splitLines([]byte(content)))
	if err != nil {
		t.Fatalf("parse %q: %v", content, err)
	}
	return d
}

// onlyRule parses a one-line file and returns its rule.
func onlyRule(t *testing.T, content string) *TLSRule {
	t.Helper()
	d := tlsFrom(t, content)
	var all []*TLSRule
	for _, rs := range d.rules {
		all = append(all, rs...)
	}
	if len(all) != 1 {
		t.Fatalf("%q: %d rules, want 1", content, len(all))
	}
	return all[0]
}

const sha256Hex = "E44194C56EF0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A"

// TestManualExamples parses the examples (0)-(20) of the s/qmail 4.3
// qmail-remote(8) tlsdestinations section.
func TestManualExamples(t *testing.T) {
	flags := []struct {
		line string
		want TLSDestinations
	}{
		{"*:", TLSDestinations{Opportunistic: true}}, // (0)
		{"?:", TLSDestinations{Fallback: true}},      // (1)
		{"-:", TLSDestinations{Anonymous: true}},     // (2)
		{"/:", TLSDestinations{NoTLSA: true}},        // (3)
	}
	for _, tt := range flags {
		d := tlsFrom(t, tt.line)
		d.rules = nil
		if !reflect.DeepEqual(*d, tt.want) {
			t.Errorf("%q: %+v, want %+v", tt.line, *d, tt.want)
		}
	}
	rules := []struct {
		line string
		want TLSRule
	}{
		{"-*:", TLSRule{Key: "-*", Kind: RuleAnonymous}},            // (4)
		{"+*:", TLSRule{Key: "+*", Kind: RuleCA}},                   // (5)
		{"~*:", TLSRule{Key: "~*", Kind: RuleNameWild}},             // (6)
		{"=*:", TLSRule{Key: "=*", Kind: RuleNameExact}},            // (7)
		{"/*:", TLSRule{Key: "/*", Kind: RuleNoVerify}},             // (8)
		{"example.com:", TLSRule{Key: "example.com", Kind: RuleCA}}, // (9)
		{"securityfirst.com:/etc/ssl/cafile|!SSLv2:HIGH", // (10)
			TLSRule{Key: "securityfirst.com", Kind: RuleCA, CAFile: "/etc/ssl/cafile", Ciphers: "!SSLv2:HIGH"}},
		{"remote.com:/etc/ssl/certdir/||3;465", // (11)
			TLSRule{Key: "remote.com", Kind: RuleCA, CADir: "/etc/ssl/certdir/", VerifyDepth: 3, Port: 465, ImplicitTLS: true}},
		{"mx.partner.com:/etc/ssl/partnerca||2|mydomain.net", // (12)
			TLSRule{Key: "mx.partner.com", Kind: RuleCA, CAFile: "/etc/ssl/partnerca", VerifyDepth: 2, SenderDomain: "mydomain.net"}},
		{"=mx.myfriend.com:/etc/ssl/cacert||4", // (13)
			TLSRule{Key: "=mx.myfriend.com", Kind: RuleNameExact, CAFile: "/etc/ssl/cacert", VerifyDepth: 4}},
		{"~wildneighbor.net:", TLSRule{Key: "~wildneighbor.net", Kind: RuleNameWild}}, // (14)
		{"-adhonlydomain.com:||aNULL:!kRSA", // (15)
			TLSRule{Key: "-adhonlydomain.com", Kind: RuleAnonymous, Ciphers: "aNULL:!kRSA"}},
		{"%peer.partner.com:=" + sha256Hex, // (16), with a complete fingerprint
			TLSRule{Key: "%peer.partner.com", Kind: RulePin, FingerprintHash: crypto.SHA256, Fingerprint: mustHex(sha256Hex)}},
		{"!nosslhost.example.com:", TLSRule{Key: "!nosslhost.example.com", Kind: RuleNever}}, // (17)
		{"hiddenpartner.org:;35", TLSRule{Key: "hiddenpartner.org", Kind: RuleCA, Port: 35}}, // (18)
		{"?tlsold.net:", TLSRule{Key: "?tlsold.net", Kind: RuleFallback}},                    // (19)
		{"/nodane.org:", TLSRule{Key: "/nodane.org", Kind: RuleNoTLSA}},                      // (20)
	}
	for _, tt := range rules {
		got := onlyRule(t, tt.line)
		tt.want.Line = 1
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.line, *got, tt.want)
		}
	}
	// (16) as printed, with its elided fingerprint, is refused.
	if _, err := parseTLSDestinations(splitLines([]byte("%peer.partner.com:=E44194C56EF....."))); !errors.Is(err, ErrControl) {
		t.Errorf("(16) literal: err = %v, want ErrControl", err)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestTLSValue(t *testing.T) {
	tests := []struct {
		value string
		want  TLSRule // Key, Line and Kind are filled in by the test
	}{
		{"", TLSRule{}},
		{";s", TLSRule{Port: 465, ImplicitTLS: true}},
		{";s587", TLSRule{Port: 587, ImplicitTLS: true}},
		{";587", TLSRule{Port: 587}},
		{";6209", TLSRule{Port: 6209, QMTPS: true}},
		{";", TLSRule{}},
		{"|HIGH;26", TLSRule{Ciphers: "HIGH", Port: 26}},
		{"/ca.pem;26|HIGH|3", TLSRule{CAFile: "/ca.pem", Ciphers: "HIGH", VerifyDepth: 3, Port: 26}},
		{"/ca/||;s|Example.NET", TLSRule{CADir: "/ca/", Port: 465, ImplicitTLS: true, SenderDomain: "example.net"}},
		{"|||example.net", TLSRule{SenderDomain: "example.net"}},
		{"||0", TLSRule{}},
		{"||100", TLSRule{VerifyDepth: 100}},
	}
	for _, tt := range tests {
		got := onlyRule(t, "mx.example.test:"+tt.value)
		tt.want.Key, tt.want.Line, tt.want.Kind = "mx.example.test", 1, RuleCA
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.value, *got, tt.want)
		}
	}
}

func TestFingerprintLengths(t *testing.T) {
	hexOf := func(n int) string { return strings.Repeat("aB", n/2) }
	tests := []struct {
		fp   string
		hash crypto.Hash
	}{
		{hexOf(40), crypto.SHA1},
		{hexOf(56), crypto.SHA224},
		{hexOf(64), crypto.SHA256},
		{hexOf(128), crypto.SHA512},
		{"AB:" + hexOf(38), crypto.SHA1}, // colons removed
	}
	for _, tt := range tests {
		r := onlyRule(t, "%mx.example.test:="+tt.fp)
		want := bytes.Repeat([]byte{0xab}, tt.hash.Size())
		if r.FingerprintHash != tt.hash || !bytes.Equal(r.Fingerprint, want) {
			t.Errorf("%q: hash %v fp %x", tt.fp, r.FingerprintHash, r.Fingerprint)
		}
	}
}

func TestTLSBadLines(t *testing.T) {
	bad := []string{
		"nocolon",
		"%mx.example.test:=" + strings.Repeat("a", 39),  // bad length
		"%mx.example.test:=" + strings.Repeat("a", 62),  // bad length
		"%mx.example.test:=" + strings.Repeat("g", 40),  // not hex
		"%mx.example.test:=" + strings.Repeat("a", 129), // bad length
		"%mx.example.test:",                             // pin without fingerprint
		"%mx.example.test:/ca.pem",                      // pin without fingerprint
		"mx.example.test:=" + strings.Repeat("a", 40),   // fingerprint without pin
		"%.example.test:=" + strings.Repeat("a", 40),    // pin on a suffix
		"=.example.test:",                               // exact name on a suffix
		"*:/ca.pem",                                     // value on a single-character rule
		"?:x",
		":",
		"!:",
		"~:",
		"%:",
		"=:",
		"+example.test:",
		"!*:",
		"%*:",
		"*.example.test:",
		" example.test:",
		"exa mple.test:",
		"mx.example.test:;0",
		"mx.example.test:;65536",
		"mx.example.test:;25x",
		"mx.example.test:;ss",
		"mx.example.test:;25;26",
		"mx.example.test:/ca;25|HIGH;26",
		"mx.example.test:|||example.net;25",
		"mx.example.test:|||a|b",
		"mx.example.test:|||exa mple.net",
		"mx.example.test:|HIGH|abc",
		"mx.example.test:||101",
	}
	for _, l := range bad {
		_, err := parseTLSDestinations(splitLines([]byte("*:\n" + l + "\n")))
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != "tlsdestinations" || fe.Line != 2 || fe.Reason == "" {
			t.Errorf("%q: err = %v, want FileError at line 2", l, err)
		}
	}
}

func TestTLSLookupOrder(t *testing.T) {
	table := `
-*:
/*:
+*:
~*:
=*:
/.test:
?.test:
-.test:
.test:
~.test:
!.test:
/.example.test:
?.example.test:
-.example.test:
.example.test:
~.example.test:
/mx.example.test:
?mx.example.test:
-mx.example.test:
mx.example.test:
~mx.example.test:
=mx.example.test:
%mx.example.test:=` + strings.Repeat("a", 64) + `
!mx.example.test:
`
	// Remove the keys one by one, in lookup order; each time the next key
	// in the order must win.
	order := []string{
		"!mx.example.test", "%mx.example.test", "=mx.example.test", "~mx.example.test", "mx.example.test",
		"-mx.example.test", "?mx.example.test", "/mx.example.test",
		"~.example.test", ".example.test", "-.example.test", "?.example.test", "/.example.test",
		"!.test", "~.test", ".test", "-.test", "?.test", "/.test",
		"=*", "~*", "+*", "-*", "/*",
	}
	d := tlsFrom(t, table)
	for _, key := range order {
		r := d.Lookup("MX.Example.TEST", "")
		if r == nil || r.Key != key {
			t.Fatalf("Lookup = %+v, want key %q", r, key)
		}
		delete(d.rules, asciiLower(key))
	}
	if r := d.Lookup("mx.example.test", ""); r != nil {
		t.Errorf("empty table: %+v", r)
	}
}

func TestTLSLookup(t *testing.T) {
	table := `
mx.example.test:/first
mx.example.test:/second
=exact.example.test:
%pin.example.test:=` + strings.Repeat("a", 40) + `
.bound.test:/any
.bound.test:/ca-a|||Sender.Example
.bound.test:/ca-b|||other.example
`
	tests := []struct {
		host, sender string
		wantFile     string // "" = no rule
		wantKind     TLSRuleKind
	}{
		{"mx.example.test", "", "/second", RuleCA},          // equal keys: last line wins
		{"x.mx.example.test", "", "", 0},                    // plain key has no suffix match by itself
		{"exact.example.test", "", "", RuleNameExact},       // exact
		{"a.exact.example.test", "", "", 0},                 // "=" never matches a subdomain
		{"pin.example.test", "", "", RulePin},               //
		{"a.pin.example.test", "", "", 0},                   // "%" never matches a subdomain
		{"mx.bound.test", "other.example", "/ca-b", RuleCA}, // newest matching sender
		{"mx.bound.test", "sender.example", "/ca-a", RuleCA},
		{"mx.bound.test", "mail.SENDER.example", "/ca-a", RuleCA}, // subdomain of the binding
		{"mx.bound.test", "xsender.example", "/any", RuleCA},      // not a subdomain
		{"mx.bound.test", "", "/any", RuleCA},                     // no sender domain
		{"bound.test", "sender.example", "", 0},                   // ".bound.test" is not bound.test
		{"", "", "", 0},
	}
	d := tlsFrom(t, table)
	for _, tt := range tests {
		r := d.Lookup(tt.host, tt.sender)
		switch {
		case tt.wantFile == "" && tt.wantKind == 0:
			if r != nil {
				t.Errorf("Lookup(%q, %q) = %+v, want nil", tt.host, tt.sender, r)
			}
		case r == nil || r.CAFile != tt.wantFile || r.Kind != tt.wantKind:
			t.Errorf("Lookup(%q, %q) = %+v, want %q %v", tt.host, tt.sender, r, tt.wantFile, tt.wantKind)
		}
	}
}

func TestTLSLookupSenderFallsThrough(t *testing.T) {
	d := tlsFrom(t, "mx.example.test:/bound|||a.example\n-*:\n")
	if r := d.Lookup("mx.example.test", "b.example"); r == nil || r.Key != "-*" {
		t.Errorf("got %+v, want the -* rule", r)
	}
	if r := d.Lookup("empty.test", ""); r == nil || r.Key != "-*" {
		t.Errorf("empty host: got %+v, want the -* rule", r)
	}
}

func TestTLSNil(t *testing.T) {
	var d *TLSDestinations
	if d.Lookup("mx.example.test", "") != nil || (&TLSDestinations{}).Lookup("x.test", "") != nil {
		t.Error("nil or zero TLSDestinations found a rule")
	}
}

func TestTLSRuleKind(t *testing.T) {
	names := map[TLSRuleKind]string{RuleNever: "never", RuleFallback: "fallback", RuleNoTLSA: "no-tlsa",
		RuleAnonymous: "anonymous", RuleNoVerify: "no-verify", RuleCA: "ca", RuleNameWild: "name-wild",
		RuleNameExact: "name-exact", RulePin: "pin", RulePin + 1: "RuleKind(9)", -1: "RuleKind(-1)"}
	for k, want := range names {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(k), k.String(), want)
		}
	}
}

// TestTLSLookupInternationalKeys: per-host keys are stored in A-labels, so a rule written in
// Unicode matches the A-label host deliver looks up with, as one written in A-labels does.
func TestTLSLookupInternationalKeys(t *testing.T) {
	d := tlsFrom(t, "=mx.bücher.example:\n~.MÜNCHEN.example:\nxn--caf-dma.example:/ca\n-*:\n")
	tests := []struct {
		host, key string
	}{
		{"mx.xn--bcher-kva.example", "=mx.bücher.example"},
		{"mx.xn--mnchen-3ya.example", "~.MÜNCHEN.example"},
		{"xn--caf-dma.example", "xn--caf-dma.example"},
		{"xn--bcher-kva.example", "-*"},
	}
	for _, tt := range tests {
		if r := d.Lookup(tt.host, ""); r == nil || r.Key != tt.key {
			t.Errorf("Lookup(%q) = %+v; want the rule %q", tt.host, r, tt.key)
		}
	}
}
