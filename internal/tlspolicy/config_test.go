package tlspolicy

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/dane"
	"github.com/mxout/mxout/internal/smtptest"
)

// verifyCase is one handshake: a tlsdestinations file (CAFILE and CADIR in
// it are replaced by the test CA's file and directory), the hop, the TLSA
// state, the certificate the server presents, and what must come of it.
type verifyCase struct {
	name       string
	rules      string
	dest, host string // Destination and ServerName; host defaults to dest
	tlsa       TLSAState
	server     tls.Certificate
	wantErr    error    // a sentinel the client's error must wrap; nil: success
	want       Verified // Facts.Verified on success
}

func runVerifyCases(t *testing.T, caPEM string, tests []verifyCase) {
	t.Helper()
	dir := t.TempDir()
	caFile := writeFile(t, filepath.Join(dir, "ca.pem"), caPEM)
	caDir := filepath.Join(dir, "cadir") + "/"
	mkdir(t, caDir)
	writeFile(t, filepath.Join(caDir, "ca.crt"), caPEM)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := strings.NewReplacer("CAFILE", caFile, "CADIR", caDir).Replace(tt.rules)
			host := tt.host
			if host == "" {
				host = tt.dest
			}
			p, err := Decide(tlsdest(t, rules), nil, Input{Destination: tt.dest, ServerName: host, TLSA: tt.tlsa})
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			s := handshake(t, p, serverConfig(tt.server, 0, 0))
			if tt.wantErr != nil {
				if !errors.Is(s.err, tt.wantErr) {
					t.Fatalf("handshake error %v; want %v", s.err, tt.wantErr)
				}
				if s.srvErr == nil {
					t.Errorf("server finished its handshake although the client refused the certificate")
				}
				return
			}
			if s.err != nil || s.srvErr != nil {
				t.Fatalf("handshake: client %v, server %v", s.err, s.srvErr)
			}
			if s.facts.Verified != tt.want || s.facts.Version != tls.VersionTLS13 {
				t.Errorf("facts %+v; want verified %v over TLS 1.3", *s.facts, tt.want)
			}
			if cn := tt.server.Leaf.Subject.CommonName; s.facts.PeerCN != cn {
				t.Errorf("PeerCN %q, want %q", s.facts.PeerCN, cn)
			}
		})
	}
}

func TestVerifyCA(t *testing.T) {
	root := newNode(t, nil, nil)
	issue := func(names ...string) tls.Certificate { return newNode(t, root, nil, names...).tlsCert(root) }
	ca := issue("mx.example.test")
	other := newNode(t, newNode(t, nil, nil), nil, "mx.example.test").tlsCert() // same name, unknown CA
	wildcard := issue("*.example.test")
	apex := issue("example.test")
	tld := issue("test")
	tests := []verifyCase{
		{name: "opportunistic unknown CA", rules: "*:\n", dest: "mx.example.test", server: other, want: VerifiedNone},
		{name: "opportunistic observes CA+name", rules: "/mx.example.test:CAFILE\n", dest: "mx.example.test", server: ca, want: VerifiedCAName},
		{name: "opportunistic observes wrong name", rules: "/mx.example.test:CAFILE\n", dest: "mx.example.test", host: "mx.other.test", server: ca, want: VerifiedNone},
		{name: "anonymous any cert", rules: "-mx.example.test:\n", dest: "mx.example.test", server: other, want: VerifiedNone},
		{name: "no-verify any cert", rules: "/*:\n", dest: "mx.example.test", server: other, want: VerifiedNone},
		{name: "ca file", rules: "mx.example.test:CAFILE\n", dest: "mx.example.test", server: ca, want: VerifiedCA},
		{name: "ca dir", rules: "+*:CADIR\n", dest: "mx.example.test", server: ca, want: VerifiedCA},
		{name: "ca ignores name", rules: "mx.example.test:CAFILE\n", dest: "mx.example.test", host: "mx.other.test", server: ca, want: VerifiedCA},
		{name: "ca wrong CA", rules: "mx.example.test:CAFILE\n", dest: "mx.example.test", server: other, wantErr: ErrCAVerify},
		{name: "ca system roots", rules: "mx.example.test:\n", dest: "mx.example.test", server: ca, wantErr: ErrCAVerify},
		{name: "wild exact name", rules: "~mx.example.test:CAFILE\n", dest: "mx.example.test", server: ca, want: VerifiedCAName},
		{name: "wild wildcard", rules: "~mx.example.test:CAFILE\n", dest: "mx.example.test", server: wildcard, want: VerifiedCAName},
		{name: "wild partial subdomain", rules: "~mx.example.test:CAFILE\n", dest: "mx.example.test", server: apex, want: VerifiedCAName},
		{name: "wild destination", rules: "~example.test:CAFILE\n", dest: "example.test", host: "mx.hoster.test", server: apex, want: VerifiedCAName},
		{name: "wild not under a tld", rules: "~mx.example.test:CAFILE\n", dest: "mx.example.test", server: tld, wantErr: ErrName},
		{name: "wild wrong name", rules: "~mx.other.test:CAFILE\n", dest: "mx.other.test", server: ca, wantErr: ErrName},
		{name: "wild wrong CA", rules: "~mx.example.test:CAFILE\n", dest: "mx.example.test", server: other, wantErr: ErrCAVerify},
		{name: "exact", rules: "=mx.example.test:CAFILE\n", dest: "mx.example.test", server: ca, want: VerifiedCANameExact},
		{name: "exact case and dot", rules: "=mx.example.test:CAFILE\n", dest: "mx.example.test", host: "MX.Example.Test.", server: ca, want: VerifiedCANameExact},
		{name: "exact refuses wildcard", rules: "=mx.example.test:CAFILE\n", dest: "mx.example.test", server: wildcard, wantErr: ErrName},
		{name: "exact refuses partial", rules: "=mx.example.test:CAFILE\n", dest: "mx.example.test", server: apex, wantErr: ErrName},
		{name: "exact wrong CA", rules: "=mx.example.test:CAFILE\n", dest: "mx.example.test", server: other, wantErr: ErrCAVerify},
	}
	runVerifyCases(t, certPEM(root.cert), tests)
}

func TestVerifyIPLiteral(t *testing.T) {
	c := smtptest.NewCert(t, "127.0.0.1")
	runVerifyCases(t, string(c.CAPEM), []verifyCase{
		{name: "exact ip", rules: "=*:CAFILE\n", dest: "[127.0.0.1]", server: c.Leaf, want: VerifiedCANameExact},
		{name: "exact other ip", rules: "=*:CAFILE\n", dest: "[127.0.0.2]", server: c.Leaf, wantErr: ErrName},
		{name: "wild ip", rules: "~*:CAFILE\n", dest: "127.0.0.1", server: c.Leaf, want: VerifiedCAName},
	})
}

func TestVerifyDepth(t *testing.T) {
	// root -> int1 -> int2 -> leaf: the verified chain has 4 certificates.
	root := newNode(t, nil, nil)
	int1 := newNode(t, root, nil)
	int2 := newNode(t, int1, nil)
	deep := newNode(t, int2, nil, "mx.example.test").tlsCert(int2, int1)
	shallow := newNode(t, root, nil, "mx.example.test").tlsCert()
	runVerifyCases(t, certPEM(root.cert), []verifyCase{
		{name: "no limit", rules: "mx.example.test:CAFILE\n", dest: "mx.example.test", server: deep, want: VerifiedCA},
		{name: "depth 3", rules: "mx.example.test:CAFILE||3\n", dest: "mx.example.test", server: deep, want: VerifiedCA},
		{name: "depth 2", rules: "mx.example.test:CAFILE||2\n", dest: "mx.example.test", server: deep, wantErr: ErrCAVerify},
		{name: "depth 1 direct", rules: "=mx.example.test:CAFILE||1\n", dest: "mx.example.test", server: shallow, want: VerifiedCANameExact},
		{name: "depth 1 deep", rules: "=mx.example.test:CAFILE||1\n", dest: "mx.example.test", server: deep, wantErr: ErrCAVerify},
	})
}

func TestVerifyPin(t *testing.T) {
	c := smtptest.NewCert(t, "mx.example.test")
	der := c.Leaf.Certificate[0]
	s1, s224, s256, s512 := sha1.Sum(der), sha256.Sum224(der), sha256.Sum256(der), sha512.Sum512(der)
	sums := map[string][]byte{"sha1": s1[:], "sha224": s224[:], "sha256": s256[:], "sha512": s512[:]}
	var tests []verifyCase
	for name, sum := range sums {
		good := strings.ToUpper(hex.EncodeToString(sum))
		bad := append([]byte(nil), sum...)
		bad[len(bad)-1] ^= 1
		tests = append(tests,
			verifyCase{name: name + " match", rules: "%mx.example.test:=" + good + "\n", dest: "mx.example.test", server: c.Leaf, want: VerifiedPin},
			verifyCase{name: name + " colons", rules: "%mx.example.test:=" + colons(good) + "\n", dest: "mx.example.test", server: c.Leaf, want: VerifiedPin},
			verifyCase{name: name + " mismatch", rules: "%mx.example.test:=" + hex.EncodeToString(bad) + "\n", dest: "mx.example.test", server: c.Leaf, wantErr: ErrPin},
		)
	}
	// A pin checks no chain and no name: TLSA records are not even consulted.
	tests = append(tests, verifyCase{name: "pin beats tlsa", rules: "%mx.example.test:=" + hex.EncodeToString(s256[:]) + "\n",
		dest: "mx.example.test", host: "mx.other.test", server: c.Leaf, want: VerifiedPin,
		tlsa: TLSAState{Looked: true, Secure: true, Records: []dane.Record{eeRecord}}})
	runVerifyCases(t, string(c.CAPEM), tests)
}

func colons(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

func TestVerifyDANE(t *testing.T) {
	c := smtptest.NewCert(t, "mx.example.test") // chain: leaf, CA
	spki := sha256.Sum256(c.Leaf.Leaf.RawSubjectPublicKeyInfo)
	caSum := sha256.Sum256(c.CA.Raw)
	ee := dane.Record{Usage: dane.UsageDANEEE, Selector: dane.SelectorSPKI, MatchingType: dane.MatchSHA256, Data: spki[:]}
	ta := dane.Record{Usage: dane.UsageDANETA, Selector: dane.SelectorCert, MatchingType: dane.MatchSHA256, Data: caSum[:]}
	secure := func(rrs ...dane.Record) TLSAState { return TLSAState{Looked: true, Secure: true, Records: rrs} }
	tests := []verifyCase{
		{name: "ee", rules: "*:\n", dest: "example.test", host: "mx.example.test", tlsa: secure(ee), server: c.Leaf, want: VerifiedDANEEE},
		{name: "ee ignores names", rules: "*:\n", dest: "other.test", host: "mx.other.test", tlsa: secure(ee), server: c.Leaf, want: VerifiedDANEEE},
		{name: "ee overrides exact rule", rules: "=mx.other.test:\n", dest: "mx.other.test", tlsa: secure(ee), server: c.Leaf, want: VerifiedDANEEE},
		{name: "ee mismatch", rules: "*:\n", dest: "example.test", host: "mx.example.test", tlsa: secure(eeRecord), server: c.Leaf, wantErr: ErrDANE},
		{name: "ta", rules: "*:\n", dest: "example.test", host: "mx.example.test", tlsa: secure(ta), server: c.Leaf, want: VerifiedDANETA},
		{name: "ta by destination", rules: "*:\n", dest: "mx.example.test", host: "mx.hoster.test", tlsa: secure(ta), server: c.Leaf, want: VerifiedDANETA},
		{name: "ta wrong name", rules: "*:\n", dest: "other.test", host: "mx.other.test", tlsa: secure(ta), server: c.Leaf, wantErr: ErrDANE},
		{name: "ta mismatch", rules: "*:\n", dest: "example.test", host: "mx.example.test", tlsa: secure(taRecord), server: c.Leaf, wantErr: ErrDANE},
		// RFC 7672 §2.2.2: mx.alias.test is a secure CNAME for mx.example.test, where the
		// records were found; that expanded name is a reference identifier.
		{name: "ta at the expanded name", rules: "*:\n", dest: "alias.test", host: "mx.alias.test",
			tlsa: TLSAState{Looked: true, Secure: true, Records: []dane.Record{ta}, Name: "mx.example.test"}, server: c.Leaf, want: VerifiedDANETA},
		{name: "unusable encrypts only", rules: "*:\n", dest: "example.test", host: "mx.example.test", tlsa: secure(pkixRecord), server: c.Leaf, want: VerifiedNone},
		{name: "insecure ignored", rules: "*:\n", dest: "example.test", host: "mx.example.test",
			tlsa: TLSAState{Looked: true, Records: []dane.Record{eeRecord}}, server: c.Leaf, want: VerifiedNone},
	}
	runVerifyCases(t, string(c.CAPEM), tests)
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestSNIFollowsTLSABase: with TLSA records found at a CNAME-expanded name, SNI carries that
// name (the TLSA base domain, RFC 7672 §8.1); otherwise the hop's own name.
func TestSNIFollowsTLSABase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tlsa TLSAState
		want string
	}{
		{TLSAState{Looked: true, Secure: true, Records: []dane.Record{eeRecord}, Name: "real.example.test"}, "real.example.test"},
		{TLSAState{Looked: true, Secure: true, Records: []dane.Record{eeRecord}}, "mx.alias.test"},
		{TLSAState{Looked: true, Secure: true, Records: []dane.Record{pkixRecord}, Name: "real.example.test"}, "mx.alias.test"},
		{TLSAState{}, "mx.alias.test"},
	}
	for _, tt := range tests {
		p, err := Decide(nil, nil, Input{Destination: "alias.test", ServerName: "mx.alias.test", TLSA: tt.tlsa})
		if err != nil {
			t.Fatal(err)
		}
		if cfg, _ := p.Config(); cfg.ServerName != tt.want {
			t.Errorf("TLSA %+v: SNI %q; want %q", tt.tlsa, cfg.ServerName, tt.want)
		}
	}
}
