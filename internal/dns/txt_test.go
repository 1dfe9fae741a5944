package dns

import (
	"context"
	"testing"

	mdns "github.com/miekg/dns"
	"github.com/mxout/mxout/internal/dns/dnstest"
)

func TestLookupTXT(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{
		"_mta-sts.signed.test. TXT": {AD: true, Answer: []string{`_mta-sts.signed.test. 300 IN TXT "v=STSv1; id=20260101"`}},
		// Two character-strings are one record; two records stay two.
		"split.test. TXT":  {Answer: []string{`split.test. 300 IN TXT "v=TLSRPTv1; " "rua=mailto:r@split.test"`, `split.test. 300 IN TXT "other"`}},
		"alias.test. TXT":  {Answer: []string{`alias.test. 300 IN CNAME split.test.`, `split.test. 300 IN TXT "via cname"`}},
		"nodata.test. TXT": {AD: true},
		"nx.test. TXT":     {Rcode: mdns.RcodeNameError},
		"fail.test. TXT":   {Rcode: mdns.RcodeServerFailure},
	})
	r := resolverFor(srv)
	tests := []struct {
		name   string
		want   []string
		auth   bool
		result string
	}{
		{"_mta-sts.signed.test", []string{"v=STSv1; id=20260101"}, true, "ok"},
		{"split.test", []string{"v=TLSRPTv1; rua=mailto:r@split.test", "other"}, false, "ok"},
		{"alias.test", []string{"via cname"}, false, "ok"},
		{"nodata.test", []string{}, true, "ok"},
		{"nx.test", nil, false, "notfound"},
		{"fail.test", nil, false, "temporary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, res, err := r.LookupTXT(context.Background(), tt.name)
			check(t, "LookupTXT("+tt.name+")", got, res, err, tt.want, tt.auth, tt.result)
		})
	}
}
