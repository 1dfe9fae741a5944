package tlsrpt

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Report is the aggregate report of RFC 8460 §4.4, field for field.
type Report struct {
	OrganizationName string         `json:"organization-name"`
	DateRange        DateRange      `json:"date-range"`
	ContactInfo      string         `json:"contact-info"`
	ReportID         string         `json:"report-id"`
	Policies         []PolicyReport `json:"policies"`
}

// DateRange is the report's period, RFC 3339 date-times in UTC (RFC 8460 §4.1: one UTC day,
// from 00:00:00 to 23:59:59).
type DateRange struct {
	Start time.Time `json:"start-datetime"`
	End   time.Time `json:"end-datetime"`
}

// PolicyReport is one entry of "policies": one policy and what happened under it.
type PolicyReport struct {
	Policy         Policy          `json:"policy"`
	Summary        Summary         `json:"summary"`
	FailureDetails []FailureDetail `json:"failure-details,omitempty"`
}

// Summary counts the sessions under one policy (RFC 8460 §4.2).
type Summary struct {
	Successful int64 `json:"total-successful-session-count"`
	Failed     int64 `json:"total-failure-session-count"`
}

// FailureDetail is one kind of failure and how many sessions it ended (RFC 8460 §4.4).
type FailureDetail struct {
	Failure
	Count int64 `json:"failed-session-count"`
}

// Options describe the reporting organisation.
type Options struct {
	OrganizationName string // "organization-name", e.g. "Example Org"
	ContactInfo      string // "contact-info", e.g. "tlsrpt@example.org"
	// Submitter is the domain of the sending MTA that reports, for the file name, the
	// message headers and the report id (RFC 8460 §5.1, §5.3).
	Submitter string
}

// Aggregate is one day's report for one policy domain, ready to be sent to the addresses of
// that domain's _smtp._tls record.
type Aggregate struct {
	PolicyDomain string
	Submitter    string
	Report       Report
}

// Build aggregates results into one Aggregate per policy domain for the UTC day that contains
// day, sorted by domain. Results from other days are ignored. Within a report, policies are
// in order of first appearance, failure details in order of first appearance within their
// policy; results under the same policy (type, strings, domain, mx-host) are counted
// together, and failures with the same fields are one detail with a count.
//
// The report id is "<start of day, Unix seconds>.<policy domain>@<submitter>": unique per
// day, domain and submitter, and the same when a report is built again, so that a receiver
// can spot a report sent twice.
func Build(results []Result, day time.Time, o Options) []*Aggregate {
	start := time.Date(day.UTC().Year(), day.UTC().Month(), day.UTC().Day(), 0, 0, 0, 0, time.UTC)
	end := start.Add(24*time.Hour - time.Second)
	byDomain := map[string]*builder{}
	for _, r := range results {
		if t := r.Time.UTC(); t.Before(start) || !t.Before(start.Add(24*time.Hour)) {
			continue
		}
		d := strings.ToLower(strings.TrimSuffix(r.Policy.Domain, "."))
		if d == "" {
			continue
		}
		b := byDomain[d]
		if b == nil {
			b = &builder{index: map[string]int{}}
			byDomain[d] = b
		}
		b.add(r)
	}
	domains := make([]string, 0, len(byDomain))
	for d := range byDomain {
		domains = append(domains, d)
	}
	slices.Sort(domains)
	out := make([]*Aggregate, 0, len(domains))
	for _, d := range domains {
		out = append(out, &Aggregate{
			PolicyDomain: d,
			Submitter:    o.Submitter,
			Report: Report{
				OrganizationName: o.OrganizationName,
				DateRange:        DateRange{Start: start, End: end},
				ContactInfo:      o.ContactInfo,
				ReportID:         strconv.FormatInt(start.Unix(), 10) + "." + d + "@" + o.Submitter,
				Policies:         byDomain[d].policies,
			},
		})
	}
	return out
}

// builder gathers the policies of one domain.
type builder struct {
	policies []PolicyReport
	index    map[string]int // policy key -> index in policies
	details  []map[Failure]int
}

func (b *builder) add(r Result) {
	pol := r.Policy
	pol.Domain = strings.ToLower(strings.TrimSuffix(pol.Domain, "."))
	key := policyKey(pol)
	i, ok := b.index[key]
	if !ok {
		i = len(b.policies)
		b.index[key] = i
		b.policies = append(b.policies, PolicyReport{Policy: pol})
		b.details = append(b.details, map[Failure]int{})
	}
	pr := &b.policies[i]
	if r.Failure == nil {
		pr.Summary.Successful++
		return
	}
	pr.Summary.Failed++
	j, ok := b.details[i][*r.Failure]
	if !ok {
		j = len(pr.FailureDetails)
		b.details[i][*r.Failure] = j
		pr.FailureDetails = append(pr.FailureDetails, FailureDetail{Failure: *r.Failure})
	}
	pr.FailureDetails[j].Count++
}

// policyKey identifies a policy; the parts are joined with a byte no field can hold.
func policyKey(p Policy) string {
	return string(p.Type) + "\x00" + p.Domain + "\x00" + strings.Join(p.Strings, "\x01") + "\x00" + strings.Join(p.MXHost, "\x01")
}

// JSON returns the report as RFC 8460 §4.4 JSON.
func (a *Aggregate) JSON() ([]byte, error) {
	b, err := json.Marshal(a.Report)
	if err != nil {
		return nil, fmt.Errorf("tlsrpt: report for %s: %w", a.PolicyDomain, err)
	}
	return b, nil
}

// Gzip returns the JSON report gzipped (RFC 8460 §5.1 "json.gz"), with no name or time in
// the gzip header, so the same report gives the same bytes.
func (a *Aggregate) Gzip() ([]byte, error) {
	js, err := a.JSON()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(js); err != nil {
		return nil, fmt.Errorf("tlsrpt: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("tlsrpt: gzip: %w", err)
	}
	return buf.Bytes(), nil
}

// Filename returns the report's file name (RFC 8460 §5.1):
// "<submitter>!<policy domain>!<start>!<end>.json.gz", the times in Unix seconds.
func (a *Aggregate) Filename() string {
	return fmt.Sprintf("%s!%s!%d!%d.json.gz", a.Submitter, a.PolicyDomain,
		a.Report.DateRange.Start.Unix(), a.Report.DateRange.End.Unix())
}
