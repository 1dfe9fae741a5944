//go:build integration

package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/mtasts"
	"github.com/mxout/mxout/internal/state"
	"github.com/mxout/mxout/internal/tlsrpt"
)

// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) against real parts: the policies come over HTTPS from
// the peers' policy host (mtasts.sh, 127.0.0.1:443), found through the peers' DNS, and the mail
// goes to Postfix. The sts-*.insecure.test domains are listed in test/peers/README.md.

// stsDelivery is a qmail-remote run to host with MTA-STS on: a state directory of its own and the
// test CA as the system roots.
func stsDelivery(t *testing.T, host, stateDir string, rcpt ...string) delivery {
	d := dnsDelivery(t, host, map[string]string{"notipme": notLoopback}, rcpt...)
	d.env = append(d.env, "MXOUT_STATE="+stateDir, "SSL_CERT_FILE="+caFile(t))
	return d
}

// recorded is what the deliveries recorded for TLS-RPT today in stateDir.
func recorded(t *testing.T, stateDir string) []tlsrpt.Result {
	t.Helper()
	rs, skipped, err := state.TLSRPT(stateDir).Day(time.Now())
	if err != nil || skipped > 0 {
		t.Fatalf("reading the TLS-RPT store: %v (%d lines skipped)", err, skipped)
	}
	return rs
}

// summary is "domain:result-type" (or "domain:ok") per result.
func summary(rs []tlsrpt.Result) string {
	var s []string
	for _, r := range rs {
		what := "ok"
		if r.Failure != nil {
			what = string(r.Failure.ResultType)
		}
		s = append(s, r.Policy.Domain+":"+what)
	}
	return strings.Join(s, " ")
}

// TestMTASTSEnforceDelivers: the MX host matches the policy (by name, and by wildcard) and its
// certificate names it: the mail goes over TLS verified as MTA-STS asks, and the session is
// recorded as a success under the recipient domain.
func TestMTASTSEnforceDelivers(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"sts-enforce.insecure.test", "sts-wild.insecure.test"} {
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			id, rcpt := newMessageID(t), "tina@example.test"
			msg := message(id, rcpt, "MTA-STS enforce.\n")
			reports := stsDelivery(t, host, dir, rcpt).run(t, msg)
			wantTLSAccepted(t, reports, id, msg, "TLS (MTA-STS validated)")
			if got := summary(recorded(t, dir)); got != host+":ok" {
				t.Errorf("recorded %s", got)
			}
			if _, err := os.Stat(filepath.Join(dir, "mta-sts", host+".json")); err != nil {
				t.Errorf("policy not cached: %v", err)
			}
		})
	}
}

// TestMTASTSEnforceRefuses: the policy allows no MX host (nothing is dialled), or the host's
// certificate does not name it: a temporary failure, recorded with the RFC's result type.
func TestMTASTSEnforceRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host, z, result string
	}{
		{"sts-nomatch.insecure.test", "No MX host of sts-nomatch.insecure.test is allowed by its MTA-STS policy (last refused: mx1.insecure.test). (#4.4.4)\n", "validation-failure"},
		{"sts-badcert.insecure.test", "Unable to validate X.509 certificate Subject for: sts-badcert.insecure.test at other.insecure.test. (#4.4.1)\n", "certificate-host-mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			reports := stsDelivery(t, tt.host, dir, "tina@example.test").run(t, message(newMessageID(t), "x", "must not arrive\n"))
			wantZ(t, reports, tt.z)
			if got := summary(recorded(t, dir)); got != tt.host+":"+tt.result {
				t.Errorf("recorded %s; want %s:%s", got, tt.host, tt.result)
			}
		})
	}
}

// TestMTASTSStrippedSTARTTLS: the MX host's address is a proxy that removes STARTTLS. Under an
// enforce policy not one byte of the envelope or the message crosses in clear.
func TestMTASTSStrippedSTARTTLS(t *testing.T) {
	t.Parallel()
	p := startStripper(t, "127.0.0.3:"+peerSMTPPort, "127.0.0.1:"+peerSMTPPort)
	dir := t.TempDir()
	reports := stsDelivery(t, "sts-strip.insecure.test", dir, "tina@example.test").run(t, message(newMessageID(t), "x", "secret\n"))
	wantZ(t, reports, "I wasn't able to negotiate a STARTTLS connection with: mx-strip.insecure.test for sts-strip.insecure.test. (#4.4.1)\n")
	if p.clientBytes() == "" {
		t.Fatal("the proxy saw no connection: the test proves nothing")
	}
	wantOnlyHello(t, p.clientBytes())
	if got := summary(recorded(t, dir)); got != "sts-strip.insecure.test:starttls-not-supported" {
		t.Errorf("recorded %s", got)
	}
}

// TestMTASTSTesting: a testing policy whose MX certificate does not name the host delivers
// anyway, and records the failure; mode none delivers and records nothing.
func TestMTASTSTesting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	id, rcpt := newMessageID(t), "tina@example.test"
	msg := message(id, rcpt, "MTA-STS testing.\n")
	reports := stsDelivery(t, "sts-testing.insecure.test", dir, rcpt).run(t, msg)
	wantAccepted(t, reports, 1, `127\.0\.0\.1`)
	waitMail(t, id, 1)
	rs := recorded(t, dir)
	if got := summary(rs); got != "sts-testing.insecure.test:certificate-host-mismatch" {
		t.Fatalf("recorded %s", got)
	}
	if f := rs[0].Failure; f.ReceivingMXHostname != "other.insecure.test" || f.ReceivingIP != "127.0.0.1" ||
		!slices.Equal(rs[0].Policy.MXHost, []string{"*.insecure.test"}) || !slices.Contains(rs[0].Policy.Strings, "mode: testing") {
		t.Errorf("result %+v, failure %+v", rs[0], f)
	}

	none := t.TempDir()
	id = newMessageID(t)
	msg = message(id, rcpt, "MTA-STS mode none.\n")
	wantAccepted(t, stsDelivery(t, "sts-none.insecure.test", none, rcpt).run(t, msg), 1, `(127\.0\.0\.1|::1)`)
	waitMail(t, id, 1)
	if got := summary(recorded(t, none)); got != "" {
		t.Errorf("mode none recorded %s", got)
	}
}

// TestMTASTSBadPolicyHost: a policy that cannot be had (too big, redirected, no policy host) is
// no policy: the mail goes as without MTA-STS, and the fetch failure is recorded.
func TestMTASTSBadPolicyHost(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"sts-oversize.insecure.test", "sts-redirect.insecure.test", "sts-nopolicy.insecure.test"} {
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			id, rcpt := newMessageID(t), "tina@example.test"
			msg := message(id, rcpt, "no usable policy\n")
			wantAccepted(t, stsDelivery(t, host, dir, rcpt).run(t, msg), 1, `(127\.0\.0\.1|::1)`)
			waitMail(t, id, 1)
			if got := summary(recorded(t, dir)); got != host+":sts-policy-fetch-error" {
				t.Errorf("recorded %s", got)
			}
		})
	}
}

// peerResolver is the MTA-STS resolver mxout builds, on the peers' DNS, with the test CA.
func peerResolver(t *testing.T, dir string) *mtasts.Resolver {
	t.Helper()
	pem, err := os.ReadFile(caFile(t))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	r := &dns.Resolver{Servers: []string{peerDNS}}
	res := state.MTASTS(dir, r)
	res.Fetcher.Roots = roots
	return res
}

// TestMTASTSFetchBounds: an oversize policy and one that stalls are refused, the stall within
// the fetch timeout; a redirect is not followed.
func TestMTASTSFetchBounds(t *testing.T) {
	t.Parallel()
	res := peerResolver(t, t.TempDir())
	res.Fetcher.Timeout = 2 * time.Second
	for _, host := range []string{"sts-oversize.insecure.test", "sts-slow.insecure.test", "sts-redirect.insecure.test"} {
		start := time.Now()
		p, src, err := res.Get(t.Context(), host)
		if p != nil || src != mtasts.SourceNone || !errors.Is(err, mtasts.ErrFetch) {
			t.Errorf("%s: policy %v, source %v, err %v; want none and ErrFetch", host, p, src, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: took %v despite a 2 s timeout", host, d)
		}
	}
	if p, src, err := res.Get(t.Context(), "sts-enforce.insecure.test"); err != nil || src != mtasts.SourceFetch || p.Mode != mtasts.ModeEnforce {
		t.Errorf("the good policy: %v %v %v", p, src, err)
	}
}

// TestMTASTSKeepsCachedPolicy: a policy fetched once stays in force when a later fetch fails
// (here the policy host is unreachable when a refresh is due): downgrade resistance, RFC 8461
// §10.2. A qmail-remote run on the same state directory then still enforces it.
func TestMTASTSKeepsCachedPolicy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if p, src, err := peerResolver(t, dir).Get(t.Context(), "sts-badcert.insecure.test"); err != nil || src != mtasts.SourceFetch || p.Mode != mtasts.ModeEnforce {
		t.Fatalf("first fetch: %v %v %v", p, src, err)
	}
	blocked := peerResolver(t, dir)
	blocked.RefreshAfter = time.Nanosecond // a refresh is due at once
	blocked.Fetcher.DialContext = func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("blocked by the test")
	}
	p, src, err := blocked.Get(t.Context(), "sts-badcert.insecure.test")
	if p == nil || p.Mode != mtasts.ModeEnforce || src != mtasts.SourceCache || !errors.Is(err, mtasts.ErrFetch) {
		t.Fatalf("after a failed refresh: %v %v %v; want the cached enforce policy and ErrFetch", p, src, err)
	}
}

// tlsrptReport mirrors the JSON of RFC 8460 §4.4, written out from the RFC (not from package
// tlsrpt), with every member the RFC makes required.
type tlsrptReport struct {
	OrganizationName string `json:"organization-name"`
	DateRange        struct {
		Start time.Time `json:"start-datetime"`
		End   time.Time `json:"end-datetime"`
	} `json:"date-range"`
	ContactInfo string `json:"contact-info"`
	ReportID    string `json:"report-id"`
	Policies    []struct {
		Policy struct {
			Type    string   `json:"policy-type"`
			Strings []string `json:"policy-string"`
			Domain  string   `json:"policy-domain"`
			MXHost  []string `json:"mx-host"`
		} `json:"policy"`
		Summary struct {
			Success *int `json:"total-successful-session-count"`
			Failure *int `json:"total-failure-session-count"`
		} `json:"summary"`
		FailureDetails []struct {
			ResultType          string `json:"result-type"`
			SendingMTAIP        string `json:"sending-mta-ip"`
			ReceivingMXHostname string `json:"receiving-mx-hostname"`
			ReceivingMXHelo     string `json:"receiving-mx-helo"`
			ReceivingIP         string `json:"receiving-ip"`
			Count               *int   `json:"failed-session-count"`
			AdditionalInfo      string `json:"additional-information"`
			FailureReasonCode   string `json:"failure-reason-code"`
		} `json:"failure-details"`
	} `json:"policies"`
}

// rfc8460Results are the result types of RFC 8460 §4.3.
var rfc8460Results = []string{"starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
	"certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid", "dane-required",
	"sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"}

// TestTLSRPTReportDelivered: deliveries with failures, then `mxout tlsrpt` for today: the report
// for sts-testing.insecure.test arrives in the mailbox of its rua (tlsrpt@example.test, the
// Postfix peer) as RFC 8460 §5.3 mail, and its JSON has the RFC's structure and counts.
func TestTLSRPTReportDelivered(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		id := newMessageID(t)
		wantAccepted(t, stsDelivery(t, "sts-testing.insecure.test", dir, "tina@example.test").run(t, message(id, "x", "report me\n")), 1, `127\.0\.0\.1`)
	}
	stsDelivery(t, "sts-badcert.insecure.test", dir, "tina@example.test").run(t, message(newMessageID(t), "x", "refused\n"))
	if got := summary(recorded(t, dir)); got != "sts-testing.insecure.test:certificate-host-mismatch sts-testing.insecure.test:certificate-host-mismatch sts-badcert.insecure.test:certificate-host-mismatch" {
		t.Fatalf("recorded %s", got)
	}
	submitter := "r" + strconv.FormatInt(time.Now().UnixNano(), 36) + ".example.org" // tells this run's report apart
	ctl := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctl, "notipme"), []byte(notLoopback), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t, "mxout"), "tlsrpt", "--from", "tlsrpt@"+submitter, "--org", "mxout integration",
		"--day", time.Now().UTC().Format(time.DateOnly), "--state-dir", dir, "-C", ctl, "-p", peerSMTPPort, "--dns", peerDNS)
	cmd.Env = append(cleanEnv(), "SSL_CERT_FILE="+caFile(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mxout tlsrpt: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "sts-testing.insecure.test mailto:tlsrpt@example.test: sent") ||
		!strings.Contains(string(out), "sts-badcert.insecure.test mailto:tlsrpt@example.test: sent") {
		t.Errorf("mxout tlsrpt said:\n%s", out)
	}

	m := waitReport(t, submitter, "sts-testing.insecure.test")
	rep := reportOf(t, m)
	if rep.OrganizationName != "mxout integration" || rep.ContactInfo != "tlsrpt@"+submitter || rep.ReportID == "" ||
		rep.DateRange.End.Sub(rep.DateRange.Start) != 24*time.Hour-time.Second || len(rep.Policies) != 1 {
		t.Fatalf("report %+v", rep)
	}
	pol := rep.Policies[0]
	if pol.Policy.Type != "sts" || pol.Policy.Domain != "sts-testing.insecure.test" || !slices.Contains(pol.Policy.Strings, "mode: testing") ||
		pol.Summary.Success == nil || *pol.Summary.Success != 0 || pol.Summary.Failure == nil || *pol.Summary.Failure != 2 {
		t.Errorf("policy %+v", pol)
	}
	total := 0
	for _, d := range pol.FailureDetails {
		if !slices.Contains(rfc8460Results, d.ResultType) || d.Count == nil {
			t.Errorf("failure detail %+v", d)
			continue
		}
		total += *d.Count
	}
	if total != 2 || pol.FailureDetails[0].ResultType != "certificate-host-mismatch" || pol.FailureDetails[0].ReceivingMXHostname != "other.insecure.test" {
		t.Errorf("failure details %+v", pol.FailureDetails)
	}

	// sts-badcert.insecure.test also publishes an https: rua, on the policy host: its report was
	// POSTed there as application/tlsrpt+gzip.
	posted := postedReport(t, submitter)
	if len(posted.Policies) != 1 || posted.Policies[0].Policy.Domain != "sts-badcert.insecure.test" ||
		posted.Policies[0].Summary.Failure == nil || *posted.Policies[0].Summary.Failure != 1 {
		t.Errorf("posted report %+v", posted)
	}
	if !strings.Contains(string(out), "sts-badcert.insecure.test https://mta-sts.sts-badcert.insecure.test/tlsrpt: sent") {
		t.Errorf("mxout tlsrpt said:\n%s", out)
	}

	// A second run sends nothing again.
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Env = append(cleanEnv(), "SSL_CERT_FILE="+caFile(t))
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "already sent") || strings.Contains(string(out), ": sent") {
		t.Errorf("second run: %v\n%s", err, out)
	}
}

// postedReport finds the report from submitter among those the policy host received.
func postedReport(t *testing.T, submitter string) tlsrptReport {
	t.Helper()
	dir := filepath.Join(peersDir(t), "mta-sts", "reports")
	names, _ := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			continue
		}
		js, err := io.ReadAll(zr)
		if err != nil || !bytes.Contains(js, []byte("@"+submitter+`"`)) {
			continue
		}
		var rep tlsrptReport
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rep); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		return rep
	}
	t.Fatalf("no report from %s in %s", submitter, dir)
	return tlsrptReport{}
}

// waitReport waits for the report mail of domain from submitter in the peer's maildir.
func waitReport(t *testing.T, submitter, domain string) []byte {
	t.Helper()
	want := "TLS-Report-Submitter: " + submitter
	deadline := time.Now().Add(mailWait)
	for {
		entries, _ := os.ReadDir(maildir(t))
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(maildir(t), e.Name()))
			if err == nil && bytes.Contains(b, []byte(want)) && bytes.Contains(b, []byte("TLS-Report-Domain: "+domain)) {
				return b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report for %s from %s in %s after %v", domain, submitter, maildir(t), mailWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// reportOf takes the message apart as RFC 8460 §5.3 describes it: multipart/report with
// report-type "tlsrpt", the report as application/tlsrpt+gzip, and decodes the JSON strictly.
func reportOf(t *testing.T, raw []byte) tlsrptReport {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "tlsrpt" {
		t.Fatalf("content type %q (%v)", msg.Header.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(msg.Header.Get("Subject"), "Report Domain: ") {
		t.Errorf("subject %q", msg.Header.Get("Subject"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			t.Fatal("no application/tlsrpt+gzip part")
		}
		if err != nil {
			t.Fatal(err)
		}
		if ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct != "application/tlsrpt+gzip" {
			continue
		}
		zr, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, part))
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(zr)
		dec.DisallowUnknownFields()
		var rep tlsrptReport
		if err := dec.Decode(&rep); err != nil {
			t.Fatalf("report JSON: %v", err)
		}
		return rep
	}
}

// TestMTASTSCachedPolicyOutlivesPolicyHost: the cache holds an enforce policy for
// sts-nopolicy.insecure.test, fetched two days ago (due for a refresh, far from expiry), and
// its policy host is gone (no address). qmail-remote still enforces the cached policy, which
// allows no MX host: nothing is sent, the failed refresh and the refusal are recorded.
func TestMTASTSCachedPolicyOutlivesPolicyHost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := mtasts.ParsePolicy([]byte("version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\nmax_age: 604800\n"))
	if err != nil {
		t.Fatal(err)
	}
	fetched := time.Now().Add(-48 * time.Hour)
	c := &mtasts.Cache{Dir: filepath.Join(dir, "mta-sts")}
	if err := c.Put(&mtasts.Entry{Domain: "sts-nopolicy.insecure.test", ID: "1", Fetched: fetched, Expires: fetched.Add(p.MaxAge), Policy: p}); err != nil {
		t.Fatal(err)
	}
	reports := stsDelivery(t, "sts-nopolicy.insecure.test", dir, "tina@example.test").run(t, message(newMessageID(t), "x", "must wait\n"))
	wantZ(t, reports, "No MX host of sts-nopolicy.insecure.test is allowed by its MTA-STS policy")
	if got := summary(recorded(t, dir)); got != "sts-nopolicy.insecure.test:sts-policy-fetch-error sts-nopolicy.insecure.test:validation-failure" {
		t.Errorf("recorded %s", got)
	}
}
