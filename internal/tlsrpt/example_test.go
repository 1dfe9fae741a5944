package tlsrpt_test

import (
	"fmt"
	"time"

	"github.com/mxout/mxout/internal/tlsrpt"
)

// A day's results become one report per policy domain.
func ExampleBuild() {
	day := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	sts := tlsrpt.Policy{Type: tlsrpt.PolicySTS, Domain: "example.test", MXHost: []string{"*.example.test"}}
	results := []tlsrpt.Result{
		{Time: day.Add(time.Hour), Policy: sts},
		{Time: day.Add(2 * time.Hour), Policy: sts, Failure: &tlsrpt.Failure{
			ResultType: tlsrpt.CertificateNotTrusted, ReceivingMXHostname: "mx1.example.test"}},
	}
	for _, a := range tlsrpt.Build(results, day, tlsrpt.Options{Submitter: "mx.sender.example"}) {
		s := a.Report.Policies[0].Summary
		fmt.Println(a.Filename(), s.Successful, s.Failed)
	}
	// Output:
	// mx.sender.example!example.test!1795910400!1795996799.json.gz 1 1
}
