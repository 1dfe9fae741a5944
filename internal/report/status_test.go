package report

import (
	"crypto/tls"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
)

func sampleMessage() *outcome.Message {
	peer := netip.MustParseAddrPort("192.0.2.25:25")
	facts := &tlspolicy.Facts{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256,
		Verified: tlspolicy.VerifiedDANEEE, Policy: "dane"}
	ok := outcome.FromReply(smtp.PhaseDot, smtp.Reply{Code: 250, Lines: []string{"250 2.0.0 Ok: queued as X"}}, nil)
	bad := outcome.FromReply(smtp.PhaseRcpt, smtp.Reply{Code: 550, Lines: []string{"550 5.1.1 <c@example.com>:\tno"}}, nil)
	for _, o := range []*outcome.Outcome{&ok, &bad} {
		o.Host, o.Peer, o.Protocol, o.TLS = "mx1.example.com", peer, "esmtp", facts
	}
	return &outcome.Message{
		Recipients: []outcome.Recipient{{Address: "b@example.com", Outcome: ok}, {Address: "c@example.com", Outcome: bad}},
		Elapsed:    42 * time.Millisecond,
	}
}

func TestStatusLines(t *testing.T) {
	got := string(StatusLines("q-17", sampleMessage()))
	want := "q-17\tb@example.com\tok\t2.0.0\tmx1.example.com[192.0.2.25]:25: end of data: 250 2.0.0 Ok: queued as X\n" +
		"q-17\tc@example.com\terror\t5.1.1\tmx1.example.com[192.0.2.25]:25: RCPT TO: 550 5.1.1 <c@example.com>: no\n"
	if got != want {
		t.Errorf("StatusLines =\n%q\nwant\n%q", got, want)
	}
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if n := len(strings.Split(line, "\t")); n != 5 {
			t.Errorf("line %q has %d fields, want 5", line, n)
		}
	}
}

func TestJSON(t *testing.T) {
	b := JSON("q-17", sampleMessage())
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	if got["status"] != "partial" || got["host"] != "mx1.example.com" || got["peer"] != "192.0.2.25:25" ||
		got["protocol"] != "esmtp" || got["elapsed_ms"] != 42.0 {
		t.Errorf("JSON = %s", b)
	}
	tlsObj, _ := got["tls"].(map[string]any)
	if tlsObj["version"] != "TLS1.3" || tlsObj["cipher"] != "TLS_AES_128_GCM_SHA256" ||
		tlsObj["verified"] != "dane-ee" || tlsObj["policy"] != "dane" {
		t.Errorf("tls = %v", tlsObj)
	}
	rcpts, _ := got["recipients"].([]any)
	if len(rcpts) != 2 {
		t.Fatalf("recipients = %v", rcpts)
	}
	r1 := rcpts[1].(map[string]any)
	if r1["address"] != "c@example.com" || r1["status"] != "error" || r1["code"] != 550.0 ||
		r1["dsn"] != "5.1.1" || r1["duplicate_risk"] != false {
		t.Errorf("recipient = %v", r1)
	}
	clear := &outcome.Message{Recipients: []outcome.Recipient{{Address: "x@y", Outcome: outcome.Local(outcome.NoHost, smtp.PhaseConnect, "no such domain", nil)}}}
	if s := string(JSON("1", clear)); !strings.Contains(s, `"tls":null`) || strings.Contains(s, `"peer"`) || strings.Contains(s, `"code"`) {
		t.Errorf("JSON for a routing failure invents facts: %s", s)
	}
}

func TestExit(t *testing.T) {
	msg := func(os ...outcome.Outcome) *outcome.Message {
		m := &outcome.Message{}
		for _, o := range os {
			m.Recipients = append(m.Recipients, outcome.Recipient{Address: "a@b", Outcome: o})
		}
		return m
	}
	ok := outcome.FromReply(smtp.PhaseDot, smtp.Reply{Code: 250}, nil)
	unknown := outcome.FromReply(smtp.PhaseRcpt, smtp.Reply{Code: 550}, nil)
	policy := outcome.FromReply(smtp.PhaseRcpt, smtp.Reply{Code: 550, Lines: []string{"550 5.7.1 no"}}, nil)
	later := outcome.FromReply(smtp.PhaseRcpt, smtp.Reply{Code: 450}, nil)
	dup := outcome.Local(outcome.ConnectionLost, smtp.PhaseDot, "lost", nil)
	cfg := outcome.Local(outcome.Config, smtp.PhaseConnect, "bad control file", nil)
	partial := outcome.Local(outcome.PartialLine, smtp.PhaseBody, "partial line", nil)
	tests := []struct {
		name string
		m    *outcome.Message
		want int
	}{
		{"all delivered", msg(ok, ok), ExitOK},
		{"one deferred", msg(ok, later), ExitTempFail},
		{"possible duplicate", msg(dup), ExitTempFail},
		{"unknown user", msg(unknown), ExitNoUser},
		{"delivered and unknown", msg(ok, unknown), ExitNoUser},
		{"policy refusal", msg(unknown, policy), ExitUnavailable},
		{"deferred wins over permanent", msg(unknown, later), ExitTempFail},
		{"configuration", msg(cfg), ExitConfig},
		{"partial final line", msg(partial), ExitDataErr},
	}
	for _, tt := range tests {
		if got := Exit(tt.m); got != tt.want {
			t.Errorf("%s: Exit = %d, want %d", tt.name, got, tt.want)
		}
	}
	if d := Diagnostic(msg(ok, unknown, later)); !strings.HasPrefix(d, "4.2.0 a@b: ") {
		t.Errorf("Diagnostic = %q, want the temporary failure first", d)
	}
	if d := Diagnostic(msg(ok)); d != "" {
		t.Errorf("Diagnostic for a delivery = %q", d)
	}
}
