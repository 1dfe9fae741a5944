package tlsrpt

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/mxout/mxout/internal/dns"
)

func TestParseRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want *Record // nil: refused
	}{
		{"v=TLSRPTv1; rua=mailto:reports@example.test", &Record{Mailto: []string{"reports@example.test"}}},
		{"v=TLSRPTv1;rua=https://reporting.example.test/v1/tlsrpt;", &Record{HTTPS: []string{"https://reporting.example.test/v1/tlsrpt"}}},
		{"v=TLSRPTv1 ; rua=mailto:a@example.test , https://r.example.test/x ,mailto:b@example.test?subject=hi ; ext=1",
			&Record{Mailto: []string{"a@example.test", "b@example.test"}, HTTPS: []string{"https://r.example.test/x"}}},
		{"v=TLSRPTv1; rua=mailto:a%2Bx@example.test", &Record{Mailto: []string{"a+x@example.test"}}},
		{"v=TLSRPTv1; rua=ftp://example.test/x, mailto:a@example.test", &Record{Mailto: []string{"a@example.test"}}}, // unknown scheme dropped
		{"v=TLSRPTv1; rua=ftp://example.test/x", nil},                                                                // nothing usable
		{"v=TLSRPTv1", nil},
		{"v=TLSRPTv1;", nil},
		{"v=TLSRPTv1; ext=1", nil}, // no rua
		{"v=TLSRPTv1; rua=", nil},
		{"v=TLSRPTv1; rua=mailto:a@example.test; rua=mailto:b@example.test", nil},
		{"v=TLSRPTv1; rua=mailto:a@example.test,", nil},
		{"v=TLSRPTv1; rua=mailto:a@example.test,,mailto:b@example.test", nil},
		{"v=TLSRPTv1; rua=mailto:", nil},
		{"v=TLSRPTv1; rua=mailto:not an address", nil},
		{"v=TLSRPTv1; rua=mailto:a@example.test%2Cb@example.test", nil},
		{"v=TLSRPTv1; rua=mailto:Name <a@example.test>", nil},
		{"v=TLSRPTv1; rua=https:///nohost", nil},
		{"v=TLSRPTv1; rua=https://user:pw@example.test/", nil},
		{"v=TLSRPTv1; rua=reports@example.test", nil}, // no scheme
		{"v=TLSRPTv1; rua=mailto:a@example.test;; ", nil},
		{"v=TLSRPTv1; RUA=mailto:a@example.test", nil},
		{"v=tlsrptv1; rua=mailto:a@example.test", nil},
		{"v=TLSRPTv1 rua=mailto:a@example.test", nil},
		{"v=TLSRPTv1; rua=mailto:a@example.test; _x=1", nil},
		{"v=TLSRPTv1; rua=m:a,m:b,m:c,m:d,m:e,m:f,m:g,m:h,m:i,m:j,mailto:a@example.test", nil}, // 11 URIs
	}
	for _, tt := range tests {
		got, err := ParseRecord(tt.in)
		if tt.want == nil {
			if !errors.Is(err, ErrRecordSyntax) {
				t.Errorf("ParseRecord(%q) = %+v, %v; want ErrRecordSyntax", tt.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, *tt.want) {
			t.Errorf("ParseRecord(%q) = %+v, %v; want %+v", tt.in, got, err, *tt.want)
		}
	}
}

// txtMap answers TXT questions from a map; missing names do not exist, "fail." names fail.
type txtMap map[string][]string

func (m txtMap) LookupTXT(_ context.Context, name string) ([]string, dns.Result, error) {
	if name == "_smtp._tls.fail.test" {
		return nil, dns.Result{}, &dns.Error{Name: name, Type: "TXT", Err: dns.ErrTemporary}
	}
	txts, ok := m[name]
	if !ok {
		return nil, dns.Result{}, &dns.Error{Name: name, Type: "TXT", Err: dns.ErrNotFound}
	}
	return txts, dns.Result{}, nil
}

func TestLookupRecord(t *testing.T) {
	t.Parallel()
	r := txtMap{
		"_smtp._tls.example.test": {"v=spf1 -all", "v=TLSRPTv1; rua=mailto:r@example.test"},
		"_smtp._tls.two.test":     {"v=TLSRPTv1; rua=mailto:a@two.test", "v=TLSRPTv1;rua=mailto:b@two.test"},
		"_smtp._tls.none.test":    {"v=TLSRPTv10; rua=mailto:a@none.test"},
	}
	tests := []struct {
		domain string
		mailto []string
		err    error
	}{
		{"example.test.", []string{"r@example.test"}, nil},
		{"two.test", nil, ErrMultipleRecords},
		{"none.test", nil, ErrNoRecord},
		{"missing.test", nil, ErrNoRecord},
		{"fail.test", nil, ErrDNS},
	}
	for _, tt := range tests {
		rec, err := LookupRecord(context.Background(), r, tt.domain)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) || !reflect.DeepEqual(rec.Mailto, tt.mailto) {
			t.Errorf("LookupRecord(%s) = %+v, %v; want mailto %v, error %v", tt.domain, rec, err, tt.mailto, tt.err)
		}
	}
}

// *dns.Resolver is what the command will pass.
var _ TXTResolver = (*dns.Resolver)(nil)
