package check

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// sampleReport has every part filled in, as a DANE-verified delivery to example.test.
func sampleReport() *Report {
	at := time.Date(2026, 11, 30, 8, 30, 0, 0, time.UTC)
	return &Report{
		Domain: "example.test", Port: 25, CheckedAt: at,
		MX: MX{DNSSEC: Secure, Records: []MXRecord{{Pref: 10, Host: "mx1.example.test"}}},
		Hosts: []Host{{
			Name: "mx1.example.test", Pref: 10, Planned: true, DNSSEC: Secure,
			TLSA: &TLSA{Name: "_25._tcp.mx1.example.test", Used: true, DNSSEC: Secure,
				Records: []TLSARecord{{Usage: 3, Selector: 1, MatchingType: 1, Data: "d3f8", Usable: true}}},
			Policy: &Policy{Name: "dane", Require: "dane-ee", Rule: "tlsa", Port: 25},
			Addresses: []Address{{
				Address: "192.0.2.1", Port: 25, Greeting: "220 mx1.example.test ESMTP",
				Extensions: []string{"PIPELINING", "STARTTLS"}, TLSExts: []string{"PIPELINING"},
				STARTTLS: &TLS{Offered: true, Version: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256",
					Chain: []Cert{{Subject: "CN=mx1.example.test", Issuer: "CN=test CA", DNSNames: []string{"mx1.example.test"},
						IPs: []string{}, NotBefore: at.Add(-time.Hour), NotAfter: at.Add(90 * 24 * time.Hour), DaysLeft: 90,
						SHA256: "aa", SPKISHA256: "d3f8"}},
					NameMatches: true, CAError: "x509: certificate signed by unknown authority",
					DANE: &DANE{Matched: true, Method: "DANE-EE", Record: "3 1 1 d3f8"}},
				Verdict: Outcome{Action: Deliver, TLS: "dane-ee", Version: "TLSv1.3",
					Text: "would deliver over DANE-verified TLS (dane-ee, TLSv1.3)"},
			}},
		}},
		Verdict: Verdict{Outcome: Outcome{Action: Deliver, TLS: "dane-ee", Version: "TLSv1.3",
			Text: "would deliver via mx1.example.test [192.0.2.1]:25 over DANE-verified TLS (dane-ee, TLSv1.3), dane policy"},
			Host: "mx1.example.test", Address: "[192.0.2.1]:25", Policy: "dane"},
	}
}

// TestJSONFieldNames pins the JSON contract of docs/check.md: every object has exactly these
// keys (those with omitempty are filled in the sample, or listed as optional).
func TestJSONFieldNames(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("}\n")) {
		t.Errorf("output does not end in a newline: %q", buf.Bytes())
	}
	var top map[string]any
	if err := json.Unmarshal(buf.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
	first := func(v any) map[string]any { a, _ := v.([]any); return obj(a[0]) }
	host := first(top["hosts"])
	addr := first(host["addresses"])
	tls := obj(addr["starttls"])
	want := []struct {
		name string
		got  map[string]any
		keys string
	}{
		{"report", top, "checked_at domain hosts mta_sts mx port verdict"},
		{"mx", obj(top["mx"]), "dnssec implicit_mx null_mx records"},
		{"mx record", first(obj(top["mx"])["records"]), "host pref"},
		{"host", host, "addresses dnssec mta_sts_match name planned policy pref tlsa"},
		{"tlsa", obj(host["tlsa"]), "dnssec name records used"},
		{"tlsa record", first(obj(host["tlsa"])["records"]), "data matching_type selector usable usage"},
		{"policy", obj(host["policy"]), "name port require rule"},
		{"address", addr, "address extensions extensions_tls greeting port starttls verdict"},
		{"starttls", tls, "ca_error ca_trusted chain cipher dane name_matches offered version"},
		{"cert", first(tls["chain"]), "days_left dns_names ip_addresses issuer not_after not_before sha256 spki_sha256 subject"},
		{"dane", obj(tls["dane"]), "depth matched method record"},
		{"address verdict", obj(addr["verdict"]), "action text tls tls_version"},
		{"verdict", obj(top["verdict"]), "action address host policy text tls tls_version"},
	}
	for _, w := range want {
		got := slices.Sorted(maps.Keys(w.got))
		if strings.Join(got, " ") != w.keys {
			t.Errorf("%s keys = %v; want %s", w.name, got, w.keys)
		}
	}
	if v, ok := top["mta_sts"]; !ok || v != nil {
		t.Errorf("mta_sts = %v; want null", v)
	}
}

// TestJSONOptionalFields: the fields that are left out when empty carry the failures.
func TestJSONOptionalFields(t *testing.T) {
	r := &Report{Hosts: []Host{}, MX: MX{Records: []MXRecord{}, Error: "dns: lookup x MX: no such domain"},
		Verdict: Verdict{Outcome: Outcome{Action: Bounce, DSN: "5.1.2", Reason: "no such host", Text: "would bounce"}}}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var top struct {
		MX      map[string]any `json:"mx"`
		Verdict map[string]any `json:"verdict"`
		Hosts   []any          `json:"hosts"`
	}
	if err := json.Unmarshal(buf.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	if top.MX["error"] == nil || top.Verdict["dsn"] != "5.1.2" || top.Verdict["reason"] != "no such host" || top.Hosts == nil {
		t.Errorf("got %s", buf.Bytes())
	}
	if _, ok := top.Verdict["host"]; ok {
		t.Errorf("verdict has a host without a delivery: %s", buf.Bytes())
	}
}

// TestWriteText checks the lines an operator reads first: the MX, the summary row and the
// verdict, aligned.
func TestWriteText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"mxout check example.test (port 25, 2026-11-30 08:30:00 UTC)\n",
		"MX       secure\n     10  mx1.example.test\n",
		"HOST              PREF  DNSSEC  POLICY  ADDRESS    STARTTLS  CERTIFICATE                      DANE           VERDICT\n" +
			"mx1.example.test  10    secure  dane    192.0.2.1  TLSv1.3   name ok, CA untrusted, 90d left  match DANE-EE  deliver, dane-ee\n",
		"  TLSA         _25._tcp.mx1.example.test: secure, looked up by the policy\n               3 1 1 d3f8 (usable)\n",
		"    DANE         matches: DANE-EE 3 1 1 d3f8, depth 0\n",
		"    CA           not trusted: x509: certificate signed by unknown authority\n",
		"\nVerdict: would deliver via mx1.example.test [192.0.2.1]:25 over DANE-verified TLS (dane-ee, TLSv1.3), dane policy\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q; got:\n%s", want, out)
		}
	}
}

// TestWriteTextNullMX: no table for a domain without hosts.
func TestWriteTextNullMX(t *testing.T) {
	r := &Report{Domain: "nullmx.example.test", Port: 25, Hosts: []Host{},
		MX:      MX{DNSSEC: Secure, NullMX: true, Records: []MXRecord{{Host: "."}}},
		Verdict: Verdict{Outcome: Outcome{Action: Bounce, DSN: "5.1.10", Text: "null MX: would bounce 5.1.10"}}}
	var buf bytes.Buffer
	if err := WriteText(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "HOST") || !strings.Contains(out, "MX       null MX (secure): the domain accepts no mail\n") ||
		!strings.HasSuffix(out, "\nVerdict: null MX: would bounce 5.1.10\n") {
		t.Errorf("got:\n%s", out)
	}
}
