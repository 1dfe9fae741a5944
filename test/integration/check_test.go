//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// `mxout check` against the peers' DNS (Unbound on 5353) and Postfix (2525): the JSON facts of
// docs/check.md, field by field. The structs below are the documented schema, written out here
// on purpose: the test reads the output as any other program would, not through package check.

type checkReport struct {
	Domain    string       `json:"domain"`
	Port      int          `json:"port"`
	CheckedAt time.Time    `json:"checked_at"`
	MX        checkMX      `json:"mx"`
	Hosts     []checkHost  `json:"hosts"`
	MTASTS    *checkSTS    `json:"mta_sts"`
	Verdict   checkVerdict `json:"verdict"`
}

type checkSTS struct {
	Record *struct {
		Text string `json:"text"`
		ID   string `json:"id"`
	} `json:"record"`
	RecordError string `json:"record_error"`
	DNSSEC      string `json:"dnssec"`
	Policy      *struct {
		Mode   string   `json:"mode"`
		MX     []string `json:"mx"`
		MaxAge int      `json:"max_age"`
		Source string   `json:"source"`
	} `json:"policy"`
	Error string `json:"error"`
}

type checkMX struct {
	DNSSEC  string `json:"dnssec"`
	Records []struct {
		Pref int    `json:"pref"`
		Host string `json:"host"`
	} `json:"records"`
	NullMX     bool   `json:"null_mx"`
	ImplicitMX bool   `json:"implicit_mx"`
	Error      string `json:"error"`
}

type checkHost struct {
	Name         string `json:"name"`
	Pref         int    `json:"pref"`
	Planned      bool   `json:"planned"`
	MTASTSMatch  *bool  `json:"mta_sts_match"`
	AddressError string `json:"address_error"`
	DNSSEC       string `json:"dnssec"`
	TLSA         *struct {
		Name    string `json:"name"`
		Used    bool   `json:"used"`
		DNSSEC  string `json:"dnssec"`
		Records []struct {
			Usage        int    `json:"usage"`
			Selector     int    `json:"selector"`
			MatchingType int    `json:"matching_type"`
			Data         string `json:"data"`
			Usable       bool   `json:"usable"`
		} `json:"records"`
		Error string `json:"error"`
		Note  string `json:"note"`
	} `json:"tlsa"`
	Policy *struct {
		Name    string `json:"name"`
		Require string `json:"require"`
		Rule    string `json:"rule"`
		Port    int    `json:"port"`
		Error   string `json:"error"`
	} `json:"policy"`
	Addresses []checkAddress `json:"addresses"`
}

type checkAddress struct {
	Address    string       `json:"address"`
	Port       int          `json:"port"`
	Error      string       `json:"error"`
	Greeting   string       `json:"greeting"`
	Extensions []string     `json:"extensions"`
	STARTTLS   *checkTLS    `json:"starttls"`
	TLSExts    []string     `json:"extensions_tls"`
	Verdict    checkOutcome `json:"verdict"`
}

type checkTLS struct {
	Offered bool   `json:"offered"`
	Reply   string `json:"reply"`
	Error   string `json:"error"`
	Version string `json:"version"`
	Cipher  string `json:"cipher"`
	Chain   []struct {
		Subject    string    `json:"subject"`
		Issuer     string    `json:"issuer"`
		DNSNames   []string  `json:"dns_names"`
		IPs        []string  `json:"ip_addresses"`
		NotBefore  time.Time `json:"not_before"`
		NotAfter   time.Time `json:"not_after"`
		DaysLeft   int       `json:"days_left"`
		SHA256     string    `json:"sha256"`
		SPKISHA256 string    `json:"spki_sha256"`
	} `json:"chain"`
	NameMatches bool   `json:"name_matches"`
	CATrusted   bool   `json:"ca_trusted"`
	CAError     string `json:"ca_error"`
	DANE        *struct {
		Matched bool   `json:"matched"`
		Method  string `json:"method"`
		Record  string `json:"record"`
		Depth   int    `json:"depth"`
		Error   string `json:"error"`
	} `json:"dane"`
}

type checkOutcome struct {
	Action  string `json:"action"`
	DSN     string `json:"dsn"`
	TLS     string `json:"tls"`
	Version string `json:"tls_version"`
	Reason  string `json:"reason"`
	Text    string `json:"text"`
}

type checkVerdict struct {
	checkOutcome
	Host    string `json:"host"`
	Address string `json:"address"`
	Policy  string `json:"policy"`
}

// runCheck runs `mxout check --json` for domain against the peers and returns the decoded
// report and the exit status.
func runCheck(t *testing.T, domain string) (checkReport, int) {
	t.Helper()
	peersDir(t)
	bin := binary(t, "mxout")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "check", "--json", "-p", peerSMTPPort, "--dns", peerDNS,
		"-h", "client.example.test", "--timeout", "10s", domain)
	// A state directory of the test's own. For the MTA-STS domains the test CA is the system
	// roots (Go reads SSL_CERT_FILE), for the policy host and the MX certificates; the other
	// tests want the certificates untrusted (ca_trusted false).
	cmd.Env = append(cleanEnv(), "MXOUT_STATE="+t.TempDir())
	if strings.HasPrefix(domain, "sts-") {
		cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+caFile(t))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("mxout check %s: %v", domain, err)
	}
	if stdout.Len() == 0 {
		t.Fatalf("mxout check %s printed nothing (exit %d, stderr %q). If cmd/mxout does not dispatch check yet, add "+
			"`case \"check\": return runCheck(args[1:], stdout, stderr)` to run in cmd/mxout/main.go",
			domain, cmd.ProcessState.ExitCode(), stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("mxout check %s wrote to stderr: %s", domain, stderr.Bytes())
	}
	var rep checkReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("mxout check %s: %v in %s", domain, err, stdout.Bytes())
	}
	if rep.Domain != domain || rep.Port != 2525 || time.Since(rep.CheckedAt) > time.Minute {
		t.Errorf("header: domain %q port %d checked_at %v", rep.Domain, rep.Port, rep.CheckedAt)
	}
	if !strings.HasPrefix(domain, "sts-") && (rep.MTASTS == nil || rep.MTASTS.Record != nil || rep.MTASTS.Policy != nil ||
		rep.MTASTS.RecordError == "" || rep.MTASTS.Error != "") {
		t.Errorf("mta_sts %+v; want no record and no policy, without an error", rep.MTASTS)
	}
	return rep, cmd.ProcessState.ExitCode()
}

// peerLeafSPKI is the SHA2-256 of the Postfix peer's leaf key, the data of its "3 1 1" records.
func peerLeafSPKI(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(peersDir(t), "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("tls/cert.pem: no PEM block")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// wantPeerTLS checks the STARTTLS facts of a session with the Postfix peer.
func wantPeerTLS(t *testing.T, a checkAddress, spki string) {
	t.Helper()
	if a.Error != "" || a.Greeting != "220 mx1.example.test ESMTP mxout-test-peer" {
		t.Errorf("%s: error %q, greeting %q", a.Address, a.Error, a.Greeting)
	}
	for _, ext := range []string{"PIPELINING", "SIZE 10485760", "STARTTLS", "8BITMIME", "SMTPUTF8", "CHUNKING"} {
		if !slices.Contains(a.Extensions, ext) {
			t.Errorf("%s: extensions %v lack %q", a.Address, a.Extensions, ext)
		}
	}
	if slices.Contains(a.TLSExts, "STARTTLS") || !slices.Contains(a.TLSExts, "PIPELINING") {
		t.Errorf("%s: extensions after TLS %v", a.Address, a.TLSExts)
	}
	s := a.STARTTLS
	if s == nil {
		t.Fatalf("%s: no starttls facts", a.Address)
	}
	if !s.Offered || s.Reply != "" || s.Error != "" || !strings.HasPrefix(s.Version, "TLSv1.") || s.Cipher == "" {
		t.Errorf("%s: starttls %+v", a.Address, s)
	}
	if len(s.Chain) != 2 {
		t.Fatalf("%s: chain of %d certificates; want leaf and CA (chain.pem)", a.Address, len(s.Chain))
	}
	leaf := s.Chain[0]
	if leaf.Subject != "CN=mx1.example.test" || !slices.Contains(leaf.DNSNames, "mx1.example.test") ||
		!slices.Contains(leaf.DNSNames, "*.example.test") || !slices.Contains(leaf.IPs, "127.0.0.1") ||
		leaf.SPKISHA256 != spki || len(leaf.SHA256) != 64 || leaf.DaysLeft < 1 || !leaf.NotAfter.After(leaf.NotBefore) {
		t.Errorf("%s: leaf %+v", a.Address, leaf)
	}
	if s.Chain[1].Subject != leaf.Issuer {
		t.Errorf("%s: chain[1] %q is not the leaf's issuer %q", a.Address, s.Chain[1].Subject, leaf.Issuer)
	}
	// The test CA is in no system root store.
	if !s.NameMatches || s.CATrusted || !strings.Contains(s.CAError, "unknown authority") {
		t.Errorf("%s: name_matches %v ca_trusted %v ca_error %q", a.Address, s.NameMatches, s.CATrusted, s.CAError)
	}
}

func TestCheckDANEValid(t *testing.T) {
	t.Parallel()
	spki := peerLeafSPKI(t)
	rep, code := runCheck(t, "example.test")
	if code != 0 {
		t.Errorf("exit %d; want 0 (would deliver)", code)
	}
	var mx []string
	for _, r := range rep.MX.Records {
		mx = append(mx, fmt.Sprintf("%s/%d", r.Host, r.Pref))
	}
	slices.Sort(mx)
	if rep.MX.DNSSEC != "secure" || rep.MX.NullMX || rep.MX.ImplicitMX || rep.MX.Error != "" ||
		!slices.Equal(mx, []string{"mx1.example.test/10", "mx2.example.test/20"}) {
		t.Errorf("mx = %+v", rep.MX)
	}
	if len(rep.Hosts) != 2 || rep.Hosts[0].Name != "mx1.example.test" || rep.Hosts[1].Name != "mx2.example.test" {
		t.Fatalf("hosts %+v; want mx1 then mx2", rep.Hosts)
	}
	for _, h := range rep.Hosts {
		if !h.Planned || h.DNSSEC != "secure" || h.AddressError != "" || h.TLSA == nil || h.Policy == nil {
			t.Fatalf("%s: %+v", h.Name, h)
		}
		tl := h.TLSA
		if tl.Name != "_2525._tcp."+h.Name || !tl.Used || tl.DNSSEC != "secure" || tl.Error != "" || tl.Note != "" ||
			len(tl.Records) != 1 || tl.Records[0].Usage != 3 || tl.Records[0].Selector != 1 ||
			tl.Records[0].MatchingType != 1 || tl.Records[0].Data != spki || !tl.Records[0].Usable {
			t.Errorf("%s: tlsa %+v", h.Name, tl)
		}
		if p := h.Policy; p.Name != "dane" || p.Require != "dane-ee" || p.Rule != "tlsa" || p.Port != 2525 || p.Error != "" {
			t.Errorf("%s: policy %+v", h.Name, p)
		}
	}
	mx1 := rep.Hosts[0]
	if !slices.ContainsFunc(mx1.Addresses, func(a checkAddress) bool { return a.Address == "127.0.0.1" }) {
		t.Errorf("mx1 addresses %+v lack 127.0.0.1", mx1.Addresses)
	}
	for _, a := range mx1.Addresses {
		wantPeerTLS(t, a, spki)
		if d := a.STARTTLS.DANE; d == nil || !d.Matched || d.Method != "DANE-EE" || d.Depth != 0 || d.Record != "3 1 1 "+spki || d.Error != "" {
			t.Errorf("%s: dane %+v", a.Address, d)
		}
		if v := a.Verdict; v.Action != "deliver" || v.TLS != "dane-ee" || v.Version != a.STARTTLS.Version || v.DSN != "" || v.Reason != "" {
			t.Errorf("%s: verdict %+v", a.Address, v)
		}
	}
	mx2 := rep.Hosts[1]
	if len(mx2.Addresses) != 1 {
		t.Fatalf("mx2 addresses %+v", mx2.Addresses)
	}
	// Nothing listens on 127.0.0.2:2525, except while mitm_test.go (maybe another package's run
	// against the same peers) puts its STARTTLS-stripping proxy there; DANE refuses that too.
	a2 := mx2.Addresses[0]
	if a2.Address != "127.0.0.2" || a2.Port != 2525 || a2.Verdict.Action != "defer" || a2.Verdict.DSN == "" || a2.Verdict.Reason == "" {
		t.Errorf("mx2 %+v", a2)
	}
	if a2.Greeting == "" && (!strings.HasPrefix(a2.Error, "connect: ") || a2.STARTTLS != nil) {
		t.Errorf("mx2: no session, but error %q and starttls %+v", a2.Error, a2.STARTTLS)
	}
	v := rep.Verdict
	first := mx1.Addresses[0]
	if v.Action != "deliver" || v.Host != "mx1.example.test" || v.Policy != "dane" || v.TLS != "dane-ee" ||
		v.Address != "["+first.Address+"]:2525" ||
		v.Text != "would deliver via mx1.example.test "+v.Address+" over DANE-verified TLS (dane-ee, "+v.Version+"), dane policy" {
		t.Errorf("verdict %+v", v)
	}
}

func TestCheckDANEMismatch(t *testing.T) {
	t.Parallel()
	spki := peerLeafSPKI(t)
	rep, code := runCheck(t, "dane-bad.example.test")
	if code != 1 {
		t.Errorf("exit %d; want 1 (would not deliver)", code)
	}
	if rep.MX.DNSSEC != "secure" || len(rep.MX.Records) != 1 || rep.MX.Records[0].Host != "mx-bad.example.test" {
		t.Errorf("mx %+v", rep.MX)
	}
	if len(rep.Hosts) != 1 || len(rep.Hosts[0].Addresses) != 1 {
		t.Fatalf("hosts %+v", rep.Hosts)
	}
	h := rep.Hosts[0]
	if tl := h.TLSA; tl == nil || !tl.Used || tl.DNSSEC != "secure" || len(tl.Records) != 1 ||
		tl.Records[0].Data != strings.Repeat("0", 64) || !tl.Records[0].Usable {
		t.Errorf("tlsa %+v", h.TLSA)
	}
	if p := h.Policy; p == nil || p.Name != "dane" || p.Require != "dane-ee" {
		t.Errorf("policy %+v", h.Policy)
	}
	a := h.Addresses[0]
	if a.Address != "127.0.0.1" {
		t.Errorf("address %q", a.Address)
	}
	wantPeerTLS(t, a, spki)
	if d := a.STARTTLS.DANE; d == nil || d.Matched || d.Method != "" || !strings.Contains(d.Error, "no tlsa record matches") {
		t.Errorf("dane %+v", d)
	}
	want := checkOutcome{Action: "defer", DSN: "4.7.5", Reason: "certificate does not match TLSA",
		Text: "would not deliver to this host: certificate does not match TLSA"}
	if a.Verdict != want {
		t.Errorf("address verdict %+v; want %+v", a.Verdict, want)
	}
	if v := rep.Verdict; v.Action != "defer" || v.DSN != "4.7.5" || v.Host != "" || v.Address != "" ||
		v.Text != "would defer 4.7.5: no address would take the message (last: mx-bad.example.test [127.0.0.1]:2525: certificate does not match TLSA)" {
		t.Errorf("verdict %+v", v)
	}
}

func TestCheckInsecureNoDANE(t *testing.T) {
	t.Parallel()
	spki := peerLeafSPKI(t)
	rep, code := runCheck(t, "insecure.test")
	if code != 0 {
		t.Errorf("exit %d; want 0", code)
	}
	if rep.MX.DNSSEC != "insecure" || len(rep.MX.Records) != 1 || rep.MX.Records[0].Host != "mx1.insecure.test" {
		t.Errorf("mx %+v", rep.MX)
	}
	if len(rep.Hosts) != 1 {
		t.Fatalf("hosts %+v", rep.Hosts)
	}
	h := rep.Hosts[0]
	if h.DNSSEC != "insecure" || !h.Planned {
		t.Errorf("host %+v", h)
	}
	// The zone publishes TLSA records, but unsigned: shown, not used (RFC 7672 §2.2.1).
	if tl := h.TLSA; tl == nil || tl.Used || tl.DNSSEC != "insecure" || len(tl.Records) != 1 || tl.Records[0].Data != spki ||
		!strings.Contains(tl.Note, "not DNSSEC-secure") {
		t.Errorf("tlsa %+v", h.TLSA)
	}
	if p := h.Policy; p == nil || p.Name != "opportunistic" || p.Require != "none" || p.Rule != "" || p.Port != 2525 {
		t.Errorf("policy %+v", h.Policy)
	}
	for _, a := range h.Addresses {
		wantPeerTLS(t, a, spki)
		if a.STARTTLS.DANE != nil {
			t.Errorf("%s: dane %+v; want null", a.Address, a.STARTTLS.DANE)
		}
		if v := a.Verdict; v.Action != "deliver" || v.TLS != "none" || v.Text != "would deliver over TLS, certificate not verified ("+v.Version+")" {
			t.Errorf("%s: verdict %+v", a.Address, v)
		}
	}
	if v := rep.Verdict; v.Action != "deliver" || v.Host != "mx1.insecure.test" || v.Policy != "opportunistic" || v.TLS != "none" {
		t.Errorf("verdict %+v", v)
	}
}

func TestCheckNullMX(t *testing.T) {
	t.Parallel()
	rep, code := runCheck(t, "nullmx.example.test")
	if code != 1 {
		t.Errorf("exit %d; want 1", code)
	}
	if !rep.MX.NullMX || rep.MX.DNSSEC != "secure" || len(rep.MX.Records) != 1 || rep.MX.Records[0].Host != "." ||
		rep.MX.Records[0].Pref != 0 || rep.MX.ImplicitMX {
		t.Errorf("mx %+v", rep.MX)
	}
	if rep.Hosts == nil || len(rep.Hosts) != 0 {
		t.Errorf("hosts %#v; want []", rep.Hosts)
	}
	want := checkVerdict{checkOutcome: checkOutcome{Action: "bounce", DSN: "5.1.10", Reason: "null MX", Text: "null MX: would bounce 5.1.10"}}
	if rep.Verdict != want {
		t.Errorf("verdict %+v; want %+v", rep.Verdict, want)
	}
}

// TestCheckTLSALookupFails: dane-bogus's TLSA answer is bogus (SERVFAIL): the engine would not
// try the host; the probe still shows it.
func TestCheckTLSALookupFails(t *testing.T) {
	t.Parallel()
	rep, code := runCheck(t, "dane-bogus.example.test")
	if code != 1 {
		t.Errorf("exit %d; want 1", code)
	}
	if len(rep.Hosts) != 1 || len(rep.Hosts[0].Addresses) != 1 {
		t.Fatalf("hosts %+v", rep.Hosts)
	}
	h := rep.Hosts[0]
	if tl := h.TLSA; tl == nil || !tl.Used || tl.DNSSEC != "" || len(tl.Records) != 0 || !strings.Contains(tl.Error, "SERVFAIL") {
		t.Errorf("tlsa %+v", h.TLSA)
	}
	if p := h.Policy; p == nil || p.Name != "" || !strings.Contains(p.Error, "tlsa lookup failed") {
		t.Errorf("policy %+v", h.Policy)
	}
	a := h.Addresses[0]
	if a.STARTTLS == nil || !a.STARTTLS.Offered || a.STARTTLS.DANE != nil {
		t.Errorf("starttls %+v", a.STARTTLS)
	}
	if v := a.Verdict; v.Action != "defer" || v.DSN != "4.4.3" || v.Reason != "the TLSA lookup failed" {
		t.Errorf("verdict %+v", v)
	}
}

// TestCheckMTASTS: an enforce policy whose MX host matches (delivery over MTA-STS-verified TLS)
// and one that allows no MX host (no delivery, and why); the record and the policy field by field.
func TestCheckMTASTS(t *testing.T) {
	t.Parallel()
	rep, code := runCheck(t, "sts-enforce.insecure.test")
	m := rep.MTASTS
	if m == nil || m.Record == nil || m.Record.ID != "20261130" || m.Record.Text != "v=STSv1; id=20261130" || m.DNSSEC != "insecure" ||
		m.Policy == nil || m.Policy.Mode != "enforce" || m.Policy.MaxAge != 86400 || m.Policy.Source != "fetch" ||
		len(m.Policy.MX) != 1 || m.Policy.MX[0] != "mx1.insecure.test" || m.Error != "" {
		t.Fatalf("mta_sts %+v", m)
	}
	if len(rep.Hosts) != 1 || rep.Hosts[0].MTASTSMatch == nil || !*rep.Hosts[0].MTASTSMatch {
		t.Errorf("hosts %+v", rep.Hosts)
	}
	if v := rep.Verdict; code != 0 || v.Action != "deliver" || v.Policy != "mta-sts" || v.TLS != "mta-sts" {
		t.Errorf("exit %d, verdict %+v", code, v)
	}

	rep, code = runCheck(t, "sts-nomatch.insecure.test")
	if len(rep.Hosts) != 1 || rep.Hosts[0].MTASTSMatch == nil || *rep.Hosts[0].MTASTSMatch || rep.MTASTS.Policy == nil {
		t.Fatalf("hosts %+v, mta_sts %+v", rep.Hosts, rep.MTASTS)
	}
	if v := rep.Verdict; code != 1 || v.Action != "defer" || !strings.Contains(v.Text, "the MTA-STS policy does not allow this MX host") {
		t.Errorf("exit %d, verdict %+v", code, v)
	}
}
