package tlspolicy

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/dane"
	"github.com/mxout/mxout/internal/qmailctl"
)

var update = flag.Bool("update", false, "rewrite testdata/decide.golden")

// decideRules are the tlsdestinations files of the golden table, for the
// hop mx.example.test and the sender domain sender.test.
var decideRules = []string{
	"",
	"*:\n",
	"-:\n",
	"?:\n",
	"/:\n",
	"?mx.example.test:\n",
	"/mx.example.test:\n",
	"-mx.example.test:\n",
	"-*:\n",
	"/*:\n",
	"mx.example.test:\n",
	"+*:\n",
	"~.example.test:\n",
	"=mx.example.test:\n",
	"%mx.example.test:=" + strings.Repeat("ab", 32) + "\n",
	"!mx.example.test:\n",
	"!mx.example.test:;2525\n",
	"mx.example.test:;465\n",
	"=mx.example.test:;s2465\n",
	"mx.example.test:;6209\n",
	"?:\n-mx.example.test:\n",
	"?:\n/mx.example.test:\n",
	"mx.example.test:|||other.test\n",
	"mx.example.test:|||sender.test\n",
}

// decideTLSA are the TLSA states of the golden table.
var decideTLSA = []struct {
	name  string
	state TLSAState
}{
	{"none", TLSAState{}},
	{"insecure", TLSAState{Looked: true, Records: []dane.Record{eeRecord}}},
	{"nodata", TLSAState{Looked: true, Secure: true}},
	{"usable", TLSAState{Looked: true, Secure: true, Records: []dane.Record{eeRecord}}},
	{"unusable", TLSAState{Looked: true, Secure: true, Records: []dane.Record{pkixRecord}}},
	{"mixed", TLSAState{Looked: true, Secure: true, Records: []dane.Record{pkixRecord, eeRecord, taRecord}}},
	{"servfail", TLSAState{Looked: true, Err: errors.New("dns: temporary failure")}},
}

var (
	eeRecord   = dane.Record{Usage: dane.UsageDANEEE, Selector: dane.SelectorSPKI, MatchingType: dane.MatchSHA256, Data: bytes.Repeat([]byte{1}, 32)}
	taRecord   = dane.Record{Usage: dane.UsageDANETA, Selector: dane.SelectorCert, MatchingType: dane.MatchSHA256, Data: bytes.Repeat([]byte{2}, 32)}
	pkixRecord = dane.Record{Usage: dane.UsagePKIXEE, Selector: dane.SelectorSPKI, MatchingType: dane.MatchSHA256, Data: bytes.Repeat([]byte{3}, 32)}
)

// describe is one line of the golden table.
func describe(p *Policy, err error) string {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return "untyped error: " + err.Error()
		}
		return fmt.Sprintf("error kind=%q subject=%q temporary=%v", e.Kind, e.Subject, e.Temporary())
	}
	s := fmt.Sprintf("%s require=%s rule=%q", p.Mode, p.Require, p.Rule)
	if p.Fallback {
		s += " fallback"
	}
	if p.Implicit {
		s += " implicit"
	}
	if p.Port != 0 {
		s += fmt.Sprintf(" port=%d", p.Port)
	}
	if len(p.DANE) > 0 {
		s += fmt.Sprintf(" dane=%d", len(p.DANE))
	}
	return s
}

// TestDecideGolden is the cross product of tlsdestinations rules and TLSA
// states, as Postfix's tls_policy.in/.ref: testdata/decide.golden is the
// reviewed reference (go test -run Golden -update rewrites it).
func TestDecideGolden(t *testing.T) {
	var out bytes.Buffer
	for _, rules := range decideRules {
		var d *qmailctl.TLSDestinations
		if rules != "" {
			d = tlsdest(t, rules)
		}
		need := NeedTLSA(d, "mx.example.test", "sender.test")
		fmt.Fprintf(&out, "# %q needtlsa=%v\n", rules, need)
		var first string
		for _, s := range decideTLSA {
			p, err := Decide(d, nil, Input{
				Destination: "mx.example.test", ServerName: "mx.example.test",
				SenderDomain: "sender.test", TLSA: s.state,
			})
			line := describe(p, err)
			fmt.Fprintf(&out, "%-9s %s\n", s.name, line)
			if first == "" {
				first = line
			} else if !need && line != first {
				t.Errorf("%q: NeedTLSA is false, yet TLSA state %s changed the decision: %s", rules, s.name, line)
			}
			if err == nil && p.Fallback && p.Mode != Opportunistic {
				t.Errorf("%q, %s: fallback with mode %v", rules, s.name, p.Mode)
			}
		}
	}
	checkGolden(t, "decide.golden", out.Bytes())
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("decision table differs from %s:\n%s", golden, diffLines(string(want), string(got)))
	}
}

// diffLines lists the lines that differ, by position.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, a, c)
		}
	}
	return b.String()
}

func TestNeedTLSA(t *testing.T) {
	tests := []struct {
		rules, dest string
		want        bool
	}{
		{"", "mx.example.test", true},
		{"/:\n", "mx.example.test", false},
		{"/*:\n", "mx.example.test", false},
		{"/.example.test:\n", "mx.example.test", false},
		{"/.example.test:\n", "mx.other.test", true},
		{"!mx.example.test:\n", "mx.example.test", false},
		{"%mx.example.test:=" + strings.Repeat("0", 40) + "\n", "mx.example.test", false},
		{"=mx.example.test:\n", "mx.example.test", true},
		{"?mx.example.test:\n", "mx.example.test", true},
		{"-*:\n", "mx.example.test", true},
	}
	for _, tt := range tests {
		var d *qmailctl.TLSDestinations
		if tt.rules != "" {
			d = tlsdest(t, tt.rules)
		}
		if got := NeedTLSA(d, tt.dest, ""); got != tt.want {
			t.Errorf("NeedTLSA(%q, %s) = %v, want %v", tt.rules, tt.dest, got, tt.want)
		}
	}
}

func TestDecideFileErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := writeFile(t, filepath.Join(dir, "not.pem"), "hello\n")
	emptyDir := filepath.Join(dir, "empty") + "/"
	if err := os.Mkdir(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		rule    string
		kind    ErrorKind
		subject string
	}{
		{"mx.example.test:" + missing, KindCAFile, missing},
		{"mx.example.test:" + notPEM, KindCAFile, notPEM},
		{"mx.example.test:" + emptyDir, KindCAFile, emptyDir},
		{"mx.example.test:" + dir + "/nodir/", KindCAFile, dir + "/nodir/"},
		{"-mx.example.test:||aNULL:!kRSA", KindCiphers, "aNULL:!kRSA"},
		{"mx.example.test:|HIGH:BOGUS", KindCiphers, "HIGH:BOGUS"},
		{"mx.example.test:;6209", KindUnsupported, "mx.example.test"},
	}
	for _, tt := range tests {
		d := tlsdest(t, tt.rule+"\n")
		_, err := Decide(d, nil, Input{Destination: "mx.example.test", ServerName: "mx.example.test"})
		var e *Error
		if !errors.As(err, &e) || e.Kind != tt.kind || e.Subject != tt.subject || !e.Temporary() {
			t.Errorf("%s: got %v; want kind %q, subject %q", tt.rule, err, tt.kind, tt.subject)
		}
	}
}

func TestDecideNeverIgnoresBrokenFiles(t *testing.T) {
	// A "!" rule uses no TLS, so a broken domaincerts entry must not
	// stop delivery in clear.
	cfg := control(t, map[string]string{
		"tlsdestinations": "!mx.example.test:\n",
		"domaincerts":     "*:" + filepath.Join(t.TempDir(), "missing.pem") + "\n",
	})
	p, err := Decide(cfg.TLSDestinations, cfg.DomainCerts, Input{Destination: "mx.example.test", SenderDomain: "a.test"})
	if err != nil || p.Mode != Never {
		t.Fatalf("got %v, %v; want mode never", describe(p, err), err)
	}
	_, err = Decide(cfg.TLSDestinations, cfg.DomainCerts, Input{Destination: "other.test", SenderDomain: "a.test"})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindClientCert {
		t.Fatalf("got %v; want a client certificate error for a TLS hop", err)
	}
}

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{Never.String(), "never"},
		{Opportunistic.String(), "opportunistic"},
		{Mandatory.String(), "mandatory"},
		{Mode(7).String(), "Mode(7)"},
		{VerifiedNone.String(), "none"},
		{VerifiedCANameExact.String(), "ca+exact-name"},
		{VerifiedDANETA.String(), "dane-ta"},
		{Verified(-1).String(), "Verified(-1)"},
		{KindKeyMismatch.String(), "client private key does not match certificate"},
		{ErrorKind(99).String(), "ErrorKind(99)"},
		{(&Error{Kind: KindCAFile, Subject: "/ca.pem", Err: errNoCACert}).Error(),
			"tlspolicy: cannot set up ca certificates: /ca.pem: tlspolicy: no pem certificate found"},
		{Facts{}.VersionName() + Facts{}.CipherName(), ""},
		{Facts{Version: 0x0301}.VersionName(), "TLSv1"},
		{Facts{Version: 0x0304, CipherSuite: 0x1301}.VersionName(), "TLSv1.3"},
		{Facts{Version: 0x0304, CipherSuite: 0x1301}.CipherName(), "TLS_AES_128_GCM_SHA256"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	var zero Policy
	if zero.Mode != Opportunistic || zero.Require != VerifiedNone || !(Never < Opportunistic && Opportunistic < Mandatory) {
		t.Errorf("zero Policy is %v/%v; want opportunistic, unverified", zero.Mode, zero.Require)
	}
}
