package tlspolicy

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/mtasts"
	"github.com/mxout/mxout/internal/qmailctl"
)

// stsEffects are the MTA-STS inputs of the who-wins table (docs/tls.md).
var stsEffects = []struct {
	name string
	eff  *mtasts.Effect
}{
	{"sts-none", nil},
	{"enforce", &mtasts.Effect{Mode: mtasts.ModeEnforce, MXMatch: true, RequireTLS: true, Report: true}},
	{"enforce-nomatch", &mtasts.Effect{Mode: mtasts.ModeEnforce, Skip: true, Report: true}},
	{"testing", &mtasts.Effect{Mode: mtasts.ModeTesting, MXMatch: true, Report: true}},
}

// TestDecideSTSGolden is the who-wins table of docs/tls.md as code: every tlsdestinations
// rule of the DANE table, every TLSA state and every MTA-STS effect, against
// testdata/sts.golden (go test -run STSGolden -update rewrites it). Its invariants are
// checked on every line besides: usable TLSA records decide whatever the policy says, and an
// enforce policy never leaves a hop that could go out in clear or unverified.
func TestDecideSTSGolden(t *testing.T) {
	var out bytes.Buffer
	for _, rules := range decideRules {
		var d *qmailctl.TLSDestinations
		if rules != "" {
			d = tlsdest(t, rules)
		}
		fmt.Fprintf(&out, "# %q\n", rules)
		for _, s := range decideTLSA {
			for _, e := range stsEffects {
				p, err := Decide(d, nil, Input{
					Destination: "mx.example.test", ServerName: "mx.example.test",
					SenderDomain: "sender.test", TLSA: s.state, STS: e.eff,
				})
				line := describe(p, err)
				if err == nil && p.sts {
					line += " sts"
				}
				if err == nil && p.stsTest {
					line += " sts-test"
				}
				fmt.Fprintf(&out, "%-9s %-15s %s\n", s.name, e.name, line)
				if err != nil || e.eff == nil {
					continue
				}
				if len(p.DANE) > 0 && (p.sts || p.stsTest) {
					t.Errorf("%q %s %s: DANE decided, yet MTA-STS applies", rules, s.name, e.name)
				}
				if e.eff.RequireTLS && len(p.DANE) == 0 && (p.Mode != Mandatory || p.Fallback || !p.sts || p.Require == VerifiedNone) {
					t.Errorf("%q %s %s: enforce left %s", rules, s.name, e.name, line)
				}
			}
		}
	}
	checkGolden(t, "sts.golden", out.Bytes())
}

// TestSTSVerify runs handshakes under an enforce policy: the Web PKI chain (here a test CA
// given as STSRoots) and the MX host's name must both verify, with RFC 6125 wildcards, and a
// local rule's own check must pass as well.
func TestSTSVerify(t *testing.T) {
	ca := newNode(t, nil, nil)
	other := newNode(t, nil, nil)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	good := newNode(t, ca, nil, "mx.example.test")
	wild := newNode(t, ca, nil, "*.example.test")
	deepWild := newNode(t, ca, nil, "*.test")
	domainOnly := newNode(t, ca, nil, "example.test")
	untrusted := newNode(t, other, nil, "mx.example.test")
	enforce := &mtasts.Effect{Mode: mtasts.ModeEnforce, MXMatch: true, RequireTLS: true, Report: true}
	pinOf := func(n *node) string {
		sum, _ := digest(crypto.SHA256, n.cert.Raw)
		return fmt.Sprintf("%%example.test:=%x\n", sum)
	}
	tests := []struct {
		name  string
		rules string
		cert  *node
		want  error // nil: the handshake succeeds with VerifiedMTASTS
		x509  any   // the crypto/x509 cause the error must also wrap
	}{
		{"exact name", "", good, nil, nil},
		{"wildcard", "", wild, nil, nil},
		{"wildcard two labels up", "", deepWild, ErrName, &x509.HostnameError{}},
		{"domain is not the mx host", "", domainOnly, ErrName, &x509.HostnameError{}},
		{"untrusted", "", untrusted, ErrCAVerify, &x509.UnknownAuthorityError{}},
		{"never rule loses", "!example.test:\n", untrusted, ErrCAVerify, nil},
		{"pin and sts pass", pinOf(good), good, nil, nil},
		{"pin passes, sts fails", pinOf(domainOnly), domainOnly, ErrName, nil},
		{"ca rule fails, sts would pass", "example.test:" + writeFile(t, filepath.Join(t.TempDir(), "other.pem"), certPEM(other.cert)) + "\n", good, ErrCAVerify, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d *qmailctl.TLSDestinations
			if tc.rules != "" {
				d = tlsdest(t, tc.rules)
			}
			p, err := Decide(d, nil, Input{Destination: "example.test", ServerName: "mx.example.test", STS: enforce, STSRoots: roots})
			if err != nil {
				t.Fatal(err)
			}
			if p.Mode != Mandatory || p.Fallback || p.Name() != "mta-sts" || !p.MTASTS() {
				t.Fatalf("policy %s fallback=%v name %s", p.Mode, p.Fallback, p.Name())
			}
			s := handshake(t, p, serverConfig(tc.cert.tlsCert(), 0, 0))
			if tc.want == nil {
				if s.err != nil || s.facts.Verified != VerifiedMTASTS {
					t.Fatalf("err %v, verified %v; want success with mta-sts", s.err, s.facts.Verified)
				}
				return
			}
			if !errors.Is(s.err, tc.want) {
				t.Fatalf("err %v; want %v", s.err, tc.want)
			}
			if tc.x509 != nil && !errors.As(s.err, tc.x509) {
				t.Errorf("err %v does not wrap %T", s.err, tc.x509)
			}
		})
	}
}

// TestSTSTestingRecords: a testing policy never fails the handshake, and Facts say what
// enforce would have said.
func TestSTSTestingRecords(t *testing.T) {
	ca := newNode(t, nil, nil)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	good := newNode(t, ca, nil, "mx.example.test")
	bad := newNode(t, ca, nil, "other.example.test")
	for _, tc := range []struct {
		name  string
		match bool
		cert  *node
		want  string // "" for no failure, else a part of the failure's text
	}{
		{"passes", true, good, ""},
		{"name mismatch", true, bad, "does not match"},
		{"mx not in policy", false, good, "mx pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eff := &mtasts.Effect{Mode: mtasts.ModeTesting, MXMatch: tc.match, Report: true}
			p, err := Decide(nil, nil, Input{Destination: "example.test", ServerName: "mx.example.test", STS: eff, STSRoots: roots})
			if err != nil {
				t.Fatal(err)
			}
			if p.Mode != Opportunistic || p.Require != VerifiedNone {
				t.Fatalf("testing changed the policy: %s %s", p.Mode, p.Require)
			}
			s := handshake(t, p, serverConfig(tc.cert.tlsCert(), 0, 0))
			if s.err != nil {
				t.Fatalf("handshake failed under testing: %v", s.err)
			}
			if !s.facts.STSTested {
				t.Fatal("not marked as tested")
			}
			switch {
			case tc.want == "" && s.facts.STSFailure != nil:
				t.Errorf("failure %v; want none", s.facts.STSFailure)
			case tc.want != "" && (s.facts.STSFailure == nil || !strings.Contains(s.facts.STSFailure.Error(), tc.want)):
				t.Errorf("failure %v; want one with %q", s.facts.STSFailure, tc.want)
			}
		})
	}
}
