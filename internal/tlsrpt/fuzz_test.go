package tlsrpt

import (
	"strings"
	"testing"
)

func FuzzParseTLSRPTRecord(f *testing.F) {
	for _, s := range []string{
		"v=TLSRPTv1; rua=mailto:reports@example.test",
		"v=TLSRPTv1;rua=https://r.example.test/x,mailto:a@example.test;",
		"v=TLSRPTv1 ; rua=mailto:a%2Bb@example.test?subject=x ; ext=1 ;",
		"v=TLSRPTv1; rua=ftp://x", "v=TLSRPTv1", "v=TLSRPTv1;;rua=mailto:a@b", "v=TLSRPTv1; rua=mailto:a@b; rua=mailto:c@d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseRecord(s)
		sel, selErr := SelectRecord([]string{s})
		if err != nil {
			if selErr == nil {
				t.Fatalf("SelectRecord accepted %q, which ParseRecord refuses: %v", s, err)
			}
			return
		}
		if selErr != nil || strings.Join(sel.Mailto, ",") != strings.Join(rec.Mailto, ",") || strings.Join(sel.HTTPS, ",") != strings.Join(rec.HTTPS, ",") {
			t.Fatalf("SelectRecord(%q) = %+v, %v; ParseRecord gave %+v", s, sel, selErr, rec)
		}
		if len(rec.Mailto)+len(rec.HTTPS) == 0 || len(rec.Mailto)+len(rec.HTTPS) > maxURIs {
			t.Fatalf("ParseRecord(%q) = %+v: no usable URI or too many", s, rec)
		}
		for _, a := range rec.Mailto {
			if checkAddress(a) != nil || strings.ContainsAny(a, "\r\n,") {
				t.Fatalf("ParseRecord(%q): mailto address %q cannot be a message's To", s, a)
			}
		}
		for _, u := range rec.HTTPS {
			if !strings.HasPrefix(strings.ToLower(u), "https://") {
				t.Fatalf("ParseRecord(%q): https uri %q", s, u)
			}
		}
	})
}
