package tlsrpt

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var day = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)

var testOptions = Options{OrganizationName: "mxout test", ContactInfo: "postmaster@sender.example", Submitter: "mx.sender.example"}

var stsPolicy = Policy{
	Type:    PolicySTS,
	Strings: []string{"version: STSv1", "mode: enforce", "mx: *.example.test", "max_age: 604800"},
	Domain:  "example.test",
	MXHost:  []string{"*.example.test"},
}

// failingRun records what a day with failures looks like: MTA-STS sessions to example.test
// (two good, three failed two ways), DANE sessions to mx.dane.test, one session to a domain
// without a policy, and one result from the next day.
func failingRun(t *testing.T, s *Store) {
	t.Helper()
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	tlsa := Policy{Type: PolicyTLSA, Strings: []string{"3 1 1 0123456789abcdef"}, Domain: "mx.dane.test"}
	expired := &Failure{ResultType: CertificateExpired, SendingMTAIP: "192.0.2.1", ReceivingMXHostname: "mx1.example.test", ReceivingIP: "198.51.100.7"}
	results := []Result{
		{Time: at(1), Policy: stsPolicy},
		{Time: at(2), Policy: stsPolicy, Failure: expired},
		{Time: at(3), Policy: stsPolicy, Failure: &Failure{ResultType: StartTLSNotSupported, SendingMTAIP: "192.0.2.1",
			ReceivingMXHostname: "mx2.example.test", ReceivingIP: "198.51.100.8", AdditionalInfo: "STARTTLS not offered"}},
		{Time: at(4), Policy: stsPolicy, Failure: expired},
		{Time: at(5), Policy: stsPolicy},
		{Time: at(6), Policy: tlsa, Failure: &Failure{ResultType: TLSAInvalid, ReceivingMXHostname: "mx.dane.test", ReceivingIP: "2001:db8::25"}},
		{Time: at(7), Policy: tlsa},
		{Time: at(8), Policy: Policy{Type: PolicyNotFound, Domain: "Plain.Test."}},
		{Time: at(24), Policy: stsPolicy}, // the next day
	}
	for _, r := range results {
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
}

func buildRun(t *testing.T) []*Aggregate {
	t.Helper()
	s := &Store{Dir: filepath.Join(t.TempDir(), "tlsrpt")}
	failingRun(t, s)
	results, skipped, err := s.Day(day.Add(13 * time.Hour))
	if err != nil || skipped != 0 || len(results) != 8 {
		t.Fatalf("Day = %d results, %d skipped, %v; want 8, 0, nil", len(results), skipped, err)
	}
	return Build(results, day, testOptions)
}

// The report schema of RFC 8460 §4.4, mirrored with every field required there. Decoding a
// report into it with unknown fields refused, then checking that each required member was
// present, validates the structure.
type schemaReport struct {
	OrganizationName *string `json:"organization-name"`
	DateRange        *struct {
		Start *string `json:"start-datetime"`
		End   *string `json:"end-datetime"`
	} `json:"date-range"`
	ContactInfo *string `json:"contact-info"`
	ReportID    *string `json:"report-id"`
	Policies    *[]struct {
		Policy *struct {
			Type    *string   `json:"policy-type"`
			Strings *[]string `json:"policy-string"`
			Domain  *string   `json:"policy-domain"`
			MXHost  *[]string `json:"mx-host"`
		} `json:"policy"`
		Summary *struct {
			Successful *int64 `json:"total-successful-session-count"`
			Failed     *int64 `json:"total-failure-session-count"`
		} `json:"summary"`
		FailureDetails *[]struct {
			ResultType          *string `json:"result-type"`
			SendingMTAIP        *string `json:"sending-mta-ip"`
			ReceivingMXHostname *string `json:"receiving-mx-hostname"`
			ReceivingMXHelo     *string `json:"receiving-mx-helo"`
			ReceivingIP         *string `json:"receiving-ip"`
			Count               *int64  `json:"failed-session-count"`
			AdditionalInfo      *string `json:"additional-information"`
			FailureReasonCode   *string `json:"failure-reason-code"`
		} `json:"failure-details"`
	} `json:"policies"`
}

var resultTypes = map[string]bool{}

func init() {
	for _, r := range []ResultType{StartTLSNotSupported, CertificateHostMismatch, CertificateExpired, CertificateNotTrusted,
		ValidationFailure, TLSAInvalid, DNSSECInvalid, DANERequired, STSPolicyFetchError, STSPolicyInvalid, STSWebPKIInvalid} {
		resultTypes[string(r)] = true
	}
}

// validate checks js against the RFC's structure and returns the decoded report.
func validate(t *testing.T, js []byte) *schemaReport {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var r schemaReport
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("report does not decode into the RFC 8460 schema: %v\n%s", err, js)
	}
	if r.OrganizationName == nil || r.DateRange == nil || r.DateRange.Start == nil || r.DateRange.End == nil ||
		r.ContactInfo == nil || r.ReportID == nil || r.Policies == nil || len(*r.Policies) == 0 {
		t.Fatalf("report lacks a required top-level member:\n%s", js)
	}
	for _, s := range []string{*r.DateRange.Start, *r.DateRange.End} {
		if _, err := time.Parse(time.RFC3339, s); err != nil || !strings.HasSuffix(s, "Z") {
			t.Errorf("date-time %q is not RFC 3339 UTC", s)
		}
	}
	for i, p := range *r.Policies {
		if p.Policy == nil || p.Policy.Type == nil || p.Policy.Domain == nil || p.Summary == nil ||
			p.Summary.Successful == nil || p.Summary.Failed == nil {
			t.Fatalf("policies[%d] lacks a required member:\n%s", i, js)
		}
		switch *p.Policy.Type {
		case "sts", "tlsa", "no-policy-found":
		default:
			t.Errorf("policies[%d]: policy-type %q", i, *p.Policy.Type)
		}
		var sum int64
		if p.FailureDetails != nil {
			for j, f := range *p.FailureDetails {
				if f.ResultType == nil || f.Count == nil || *f.Count <= 0 {
					t.Fatalf("policies[%d].failure-details[%d] lacks result-type or failed-session-count", i, j)
				}
				if !resultTypes[*f.ResultType] {
					t.Errorf("policies[%d].failure-details[%d]: result-type %q not in RFC 8460 §4.3", i, j, *f.ResultType)
				}
				sum += *f.Count
			}
		}
		if sum != *p.Summary.Failed {
			t.Errorf("policies[%d]: failure details count %d sessions, summary %d", i, sum, *p.Summary.Failed)
		}
	}
	return &r
}

func TestReportValidatesAgainstRFCStructure(t *testing.T) {
	t.Parallel()
	aggs := buildRun(t)
	var domains []string
	for _, a := range aggs {
		domains = append(domains, a.PolicyDomain)
		js, err := a.JSON()
		if err != nil {
			t.Fatal(err)
		}
		validate(t, js)
		if a.Report.DateRange.Start != day || a.Report.DateRange.End != day.Add(24*time.Hour-time.Second) {
			t.Errorf("%s: date-range %+v", a.PolicyDomain, a.Report.DateRange)
		}
	}
	if want := []string{"example.test", "mx.dane.test", "plain.test"}; !reflect.DeepEqual(domains, want) {
		t.Fatalf("reports for %v, want %v", domains, want)
	}
	sts := aggs[0].Report.Policies
	if len(sts) != 1 || sts[0].Summary != (Summary{Successful: 2, Failed: 3}) || len(sts[0].FailureDetails) != 2 ||
		sts[0].FailureDetails[0].ResultType != CertificateExpired || sts[0].FailureDetails[0].Count != 2 {
		t.Errorf("example.test policies = %+v", sts)
	}
}

// The whole report for example.test, byte for byte (testdata/example.test.json, indented
// there for reading; compared after compacting).
func TestReportGolden(t *testing.T) {
	t.Parallel()
	a := buildRun(t)[0]
	js, err := a.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "example.test.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, golden); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js, want.Bytes()) {
		var got bytes.Buffer
		_ = json.Indent(&got, js, "", "  ")
		t.Errorf("report differs from testdata/example.test.json; got:\n%s", got.String())
	}
	validate(t, golden)

	gz, err := a.Gzip()
	if err != nil {
		t.Fatal(err)
	}
	zr, unzipped := gunzip(t, gz)
	if !bytes.Equal(unzipped, js) {
		t.Error("Gzip does not hold the JSON")
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header names %q, time %v; want neither", zr.Name, zr.ModTime)
	}
	if got, want := a.Filename(), "mx.sender.example!example.test!1795910400!1795996799.json.gz"; got != want {
		t.Errorf("Filename() = %q, want %q", got, want)
	}
}

// gunzip returns the gzip header and the content of gz.
func gunzip(t *testing.T, gz []byte) (*gzip.Reader, []byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return zr, b
}

func TestBuildIgnoresOtherDays(t *testing.T) {
	t.Parallel()
	r := []Result{{Time: day.Add(-time.Nanosecond), Policy: stsPolicy}, {Time: day.Add(24 * time.Hour), Policy: stsPolicy}}
	if aggs := Build(r, day, testOptions); len(aggs) != 0 {
		t.Errorf("Build = %d reports from results outside the day", len(aggs))
	}
	r = append(r, Result{Time: day.Add(24*time.Hour - time.Nanosecond), Policy: stsPolicy})
	if aggs := Build(r, day, testOptions); len(aggs) != 1 || aggs[0].Report.Policies[0].Summary.Successful != 1 {
		t.Errorf("Build = %+v; want the last nanosecond of the day counted", aggs)
	}
}
