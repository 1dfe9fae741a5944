//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// TestDANEHardening: the DNS half of issue 6 against the validating resolver (records in
// test/peers/dns.sh): IDN destinations get DANE from their A-label zone, an MX host that is a
// secure alias gets TLSA from its expanded name, and the strongest digest decides.
func TestDANEHardening(t *testing.T) {
	t.Parallel()
	const (
		validated = "TLS (TLSA validated)"
		mismatch  = " does not match its TLSA records. (#4.4.1)\n"
	)
	tests := []struct {
		name, host string
		control    map[string]string
		want       string // a K report's TLS wording, or the whole Z text
		ok         bool
	}{
		{"IDN matching TLSA", "bücher.example.test", nil, validated, true},
		// Report texts name the host as given; the report filter prints non-ASCII bytes as '?'.
		{"IDN mismatching TLSA", "münchen.example.test", nil,
			"Received X.509 certificate from: m??nchen.example.test for m??nchen.example.test" + mismatch, false},
		// A rule in A-labels applies to the Unicode argument: "!" means no TLS (and no TLSA).
		{"IDN rule in A-labels", "münchen.example.test",
			map[string]string{"tlsdestinations": "!xn--mnchen-3ya.example.test:\n"}, "", true},
		{"alias matching TLSA", "alias.example.test", nil, validated, true},
		{"alias mismatching TLSA", "alias-bad.example.test", nil,
			"Received X.509 certificate from: mx-alias-bad.example.test for alias-bad.example.test" + mismatch, false},
		{"digest agility", "agility.example.test", nil,
			"Received X.509 certificate from: mx-agility.example.test for agility.example.test" + mismatch, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, rcpt := newMessageID(t), "tina@example.test"
			msg := message(id, rcpt, "DANE hardening: "+tt.name+".\n")
			control := map[string]string{"notipme": notLoopback}
			for k, v := range tt.control {
				control[k] = v
			}
			reports := dnsDelivery(t, tt.host, control, rcpt).run(t, msg)
			switch {
			case tt.ok && tt.want == "":
				wantAccepted(t, reports, 1, `127\.0\.0\.1`)
				if k := reports[1].Text; !strings.HasPrefix(k, "127.0.0.1 accepted message.") {
					t.Errorf("K report %q; want a delivery in clear", k)
				}
				wantStored(t, waitMail(t, id, 1)[0], msg, rcpt)
			case tt.ok:
				wantTLSAccepted(t, reports, id, msg, tt.want)
			default:
				if len(reports) != 1 || reports[0].Letter != 'Z' || reports[0].Text != tt.want {
					t.Fatalf("reports %v; want Z%q", reports, tt.want)
				}
				time.Sleep(time.Second)
				if got := findMail(t, id); len(got) != 0 {
					t.Errorf("the message was delivered: %v", got)
				}
			}
		})
	}
}
