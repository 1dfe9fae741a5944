package tlspolicy

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

// Suite name groups for the expectations below, in the order of suites.
var (
	ecdheGCM    = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"}
	ecdheChacha = []string{"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"}
	ecdheCBC1   = []string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA"}
	ecdheCBC256 = []string{"ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256"}
	rsaAES      = []string{"AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA256", "AES128-SHA", "AES256-SHA"}
	tdesSuites  = []string{"ECDHE-RSA-DES-CBC3-SHA", "DES-CBC3-SHA"}
	rc4Names    = []string{"ECDHE-ECDSA-RC4-SHA", "ECDHE-RSA-RC4-SHA", "RC4-SHA"}
)

func join(groups ...[]string) []string { return slices.Concat(groups...) }

func TestParseCiphers(t *testing.T) {
	goDefault := join(ecdheGCM, ecdheChacha, ecdheCBC1)
	high := join(goDefault, ecdheCBC256, rsaAES)
	tests := []struct {
		in   string
		want []string // nil: error
	}{
		{"HIGH", high},
		{"!SSLv2:HIGH", high},
		{"HIGH:!aNULL:!MD5", high},
		{"HIGH, !kRSA", join(goDefault, ecdheCBC256)},
		{"HIGH:!RSA:@STRENGTH", join(goDefault, ecdheCBC256)},
		{"@SECLEVEL=2:HIGH:+AES", high},
		{"DEFAULT", goDefault},
		{"ALL", join(high, tdesSuites)},
		{"ALL:!3DES", high},
		{"MEDIUM", tdesSuites},
		{"RC4", rc4Names},
		{"ECDHE+RC4", rc4Names[:2]},
		{"RC4-SHA", rc4Names[2:]},
		{"ALL:RC4:!kRSA", join(goDefault, ecdheCBC256, tdesSuites[:1], rc4Names[:2])},
		{"ECDHE+AESGCM", ecdheGCM},
		{"EECDH+AESGCM:EDH+AESGCM", ecdheGCM},
		{"kEECDH+aECDSA+CHACHA20", ecdheChacha[:1]},
		{"AESGCM+AES256", []string{"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "AES256-GCM-SHA384"}},
		{"AES128+SHA256", join(ecdheCBC256, []string{"AES128-SHA256"})},
		{"ECDHE+SHA384", nil}, // OpenSSL's SHA384 is CBC-SHA384, which Go lacks
		{"ECDSA+TLSv1.2", []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-SHA256"}},
		{"SSLv3:!3DES", join(ecdheCBC1, []string{"AES128-SHA", "AES256-SHA"})},
		{"TLSv1+SHA1+aRSA+AES", []string{"ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "AES128-SHA", "AES256-SHA"}},
		{"CHACHA20", ecdheChacha},
		{"HIGH:-AES256:AES256", high},
		{"HIGH:!AES256:AES256", []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA"}},
		{"ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-CHACHA20-POLY1305", ecdheGCM[1:2]},
		{"TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES256-GCM-SHA384", ecdheGCM[2:3]},
		{"AES128-SHA;AES256-SHA", []string{"AES128-SHA", "AES256-SHA"}},
		{"ECDHE-ECDSA-CAMELLIA256-SHA384:AES128-SHA", []string{"AES128-SHA"}},
		{"!ADH:!AECDH:-eNULL:!NULL:DEFAULT", goDefault},
		// Errors.
		{"", nil},
		{"aNULL", nil},
		{"aNULL:!kRSA", nil},
		{"HIGH:ADH", nil},
		{"ECDHE+aNULL", nil},
		{"ADH-AES128-SHA", nil},
		{"NULL-SHA256", nil},
		{"eNULL", nil},
		{"high", nil},
		{"HIGH:BOGUS", nil},
		{"ECDHE-RSA-AES128-GCM-SHA265", nil},
		{"HIGH:@FOO", nil},
		{"HIGH:@SECLEVEL=9", nil},
		{"@STRENGTH", nil},
		{"TLS_AES_256_GCM_SHA384", nil},
		{"DHE-RSA-AES256-SHA", nil},
		{"+HIGH", nil},
		{"HIGH:!", nil},
		{"HIGH:+", nil},
		{"HIGH+", nil},
		{"LOW:EXPORT:DES:MD5", nil},
		{"HIGH:!ALL", nil},
	}
	for _, tt := range tests {
		ids, err := parseCiphers(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("parseCiphers(%q) = %v; want an error", tt.in, suiteNames(ids))
			}
			continue
		}
		if err != nil {
			t.Errorf("parseCiphers(%q): %v", tt.in, err)
			continue
		}
		if got := suiteNames(ids); !slices.Equal(got, tt.want) {
			t.Errorf("parseCiphers(%q)\n got %v\nwant %v", tt.in, got, tt.want)
		}
	}
}

func suiteNames(ids []uint16) []string {
	var names []string
	for _, id := range ids {
		for _, c := range suites {
			if c.id == id {
				names = append(names, c.name)
			}
		}
	}
	return names
}

// TestSuitesTable checks the table against crypto/tls: every TLS 1.2 suite
// Go implements is there once, with the OpenSSL name matching Go's name.
func TestSuitesTable(t *testing.T) {
	if len(suites) > 32 {
		t.Fatalf("%d suites do not fit a uint32 set", len(suites))
	}
	goSuites := map[uint16]string{}
	for _, c := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if !slices.Equal(c.SupportedVersions, []uint16{tls.VersionTLS13}) {
			goSuites[c.ID] = c.Name
		}
	}
	seen := map[uint16]bool{}
	for _, c := range suites {
		name, ok := goSuites[c.id]
		if !ok || seen[c.id] {
			t.Errorf("%s (%#04x): not a TLS 1.2 suite of crypto/tls, or listed twice", c.name, c.id)
			continue
		}
		seen[c.id] = true
		for _, part := range strings.Split(c.name, "-") {
			p := strings.NewReplacer("AES128", "AES_128", "AES256", "AES_256", "DES", "3DES_EDE", "RC4", "RC4_128").Replace(part)
			if part != "SHA" && part != "CBC3" && !strings.Contains(name, p) {
				t.Errorf("%s: part %s not in Go's name %s", c.name, part, name)
			}
		}
	}
	if len(seen) != len(goSuites) {
		t.Errorf("table has %d of crypto/tls's %d TLS 1.2 suites", len(seen), len(goSuites))
	}
}

func TestCipherConfigHandshake(t *testing.T) {
	c := newNode(t, nil, nil, "mx.example.test").tlsCert()
	tests := []struct {
		rule string
		max  uint16
		want uint16
		fail bool
	}{
		{"-*:||ECDHE-ECDSA-AES256-GCM-SHA384", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, false},
		{"-*:||ECDHE-ECDSA-CHACHA20-POLY1305", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, false},
		{"-*:||aRSA", tls.VersionTLS12, 0, true}, // an ECDSA server has no RSA suite
		// TLS 1.3 suites are not configurable: a TLS 1.3 server still works.
		{"-*:||aRSA", 0, tls.TLS_AES_128_GCM_SHA256, false},
	}
	for _, tt := range tests {
		p, err := Decide(tlsdest(t, tt.rule+"\n"), nil, Input{Destination: "mx.example.test", ServerName: "mx.example.test"})
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		srv := serverConfig(c, 0, tt.max)
		srv.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
		s := handshake(t, p, srv)
		if tt.fail {
			if s.err == nil {
				t.Errorf("%s: handshake succeeded with %s", tt.rule, s.facts.CipherName())
			}
			continue
		}
		if s.err != nil || s.facts.CipherSuite != tt.want || s.facts.CipherName() != tls.CipherSuiteName(tt.want) {
			t.Errorf("%s: %v, suite %s; want %s", tt.rule, s.err, s.facts.CipherName(), tls.CipherSuiteName(tt.want))
		}
	}
}

func TestOpportunisticAcceptsTLS10(t *testing.T) {
	c := newNode(t, nil, nil, "mx.example.test").tlsCert()
	for _, tt := range []struct {
		rules string
		ok    bool
	}{{"*:\n", true}, {"-*:\n", false}} {
		p, err := Decide(tlsdest(t, tt.rules), nil, Input{Destination: "mx.example.test", ServerName: "mx.example.test"})
		if err != nil {
			t.Fatal(err)
		}
		s := handshake(t, p, serverConfig(c, tls.VersionTLS10, tls.VersionTLS10))
		if (s.err == nil) != tt.ok {
			t.Errorf("%q: TLS 1.0 handshake error %v; want success %v", tt.rules, s.err, tt.ok)
		}
		if tt.ok && s.facts.VersionName() != "TLSv1" {
			t.Errorf("%q: version %s", tt.rules, s.facts.VersionName())
		}
	}
}

func FuzzParseCiphers(f *testing.F) {
	for _, s := range []string{"HIGH:!aNULL:!MD5", "EECDH+AESGCM:EDH+AESGCM", "ALL:RC4:!kRSA", "aNULL:!kRSA",
		"ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256", "@SECLEVEL=1:DEFAULT", "HIGH:-AES256:+AES128", "!+:-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseCiphers(s)
		again, err2 := parseCiphers(s)
		if !slices.Equal(ids, again) || (err == nil) != (err2 == nil) {
			t.Fatalf("%q: not deterministic", s)
		}
		if err != nil {
			if ids != nil || !strings.HasPrefix(err.Error(), "tlspolicy: ") {
				t.Fatalf("%q: error %v with result %v", s, err, ids)
			}
			return
		}
		if len(ids) == 0 || len(suiteNames(ids)) != len(ids) {
			t.Fatalf("%q: result %v has unknown suites or is empty", s, ids)
		}
		seen := map[uint16]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%q: %#04x twice", s, id)
			}
			seen[id] = true
			if !strings.Contains(s, "RC4") && strings.Contains(tls.CipherSuiteName(id), "RC4") {
				t.Fatalf("%q: selected RC4 without asking", s)
			}
		}
	})
}
