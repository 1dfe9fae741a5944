//go:build integration

package integration

import (
	"strings"
	"testing"
)

// These tests find the Postfix peer through the peers' DNS (MX records in example.test), with no
// smtproutes. Every address is on loopback, which is this machine, so control/notipme lists
// loopback as "not me" to get past the best-MX loop check; one test leaves it out on purpose.

const notLoopback = "127.0.0.0/8\n::1\n"

// dnsDelivery is a delivery to host through DNS, with SMTP on the peer's port.
func dnsDelivery(t *testing.T, host string, control map[string]string, rcpt ...string) delivery {
	return delivery{
		home: qmailHome(t, control),
		env:  []string{"MXOUT_SMTP_PORT=" + peerSMTPPort},
		host: host,
		rcpt: rcpt,
	}
}

func TestDNSDelivers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		what string
	}{
		{"example.test", "MX 10 mx1 (127.0.0.1, ::1), MX 20 mx2"},
		{"fallback.example.test", "MX 10 mx2 (refuses connections), MX 20 mx1"},
		{"nomx.example.test", "no MX: the implicit MX, A 127.0.0.1 and AAAA ::1"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			id, rcpt := newMessageID(t), "henry@example.test"
			msg := message(id, rcpt, "Routed by DNS: "+tt.what+".\n")
			reports := dnsDelivery(t, tt.host, map[string]string{"notipme": notLoopback}, rcpt).run(t, msg)
			wantAccepted(t, reports, 1, `(127\.0\.0\.1|::1)`)
			wantStored(t, waitMail(t, id, 1)[0], msg, rcpt)
		})
	}
}

func TestDNSPermanentFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		host    string
		control map[string]string
		want    string // the one D report's text, exactly
	}{
		{"null MX", "nullmx.example.test", map[string]string{"notipme": notLoopback},
			""}, // checked by suffix below: the wording is mxout's own
		{"no such host", "nosuch.example.test", map[string]string{"notipme": notLoopback},
			"Sorry, I couldn't find any host named nosuch.example.test. (#5.1.2)\n"},
		{"best MX is me", "example.test", nil,
			"Sorry. Although I'm listed as a best-preference MX or A for that host,\n" +
				"it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := newMessageID(t)
			msg := message(id, "ivan@example.test", "Must not be delivered.\n")
			reports := dnsDelivery(t, tt.host, tt.control, "ivan@example.test").run(t, msg)
			if len(reports) != 1 || reports[0].Letter != 'D' {
				t.Fatalf("reports %v; want a single D report (no recipient was tried)", reports)
			}
			got := reports[0].Text
			switch {
			case tt.want == "":
				if !strings.HasSuffix(got, " (#5.1.10)\n") {
					t.Errorf("report D%q; want a text ending in (#5.1.10)", got)
				}
			case got != tt.want:
				t.Errorf("report D%q; want D%q", got, tt.want)
			}
		})
	}
}
