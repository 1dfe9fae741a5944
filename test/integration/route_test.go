//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// These tests route example.test to the Postfix peer with control/smtproutes, so no DNS is involved.

func TestRouteOneRecipient(t *testing.T) {
	t.Parallel()
	id, rcpt := newMessageID(t), "alice@example.test"
	msg := message(id, rcpt, "Hello from mxout.\nSecond line.\n")
	reports := delivery{home: routeHome(t), host: "example.test", rcpt: []string{rcpt}}.run(t, msg)
	wantAccepted(t, reports, 1, `127\.0\.0\.1`)
	got := waitMail(t, id, 1)
	wantStored(t, got[0], msg, rcpt)
}

func TestRouteSeveralRecipients(t *testing.T) {
	t.Parallel()
	id := newMessageID(t)
	rcpts := []string{"alice@example.test", "bob@example.test", "carol@example.test"}
	msg := message(id, strings.Join(rcpts, ", "), "One message for three recipients.\n")
	reports := delivery{home: routeHome(t), host: "example.test", rcpt: rcpts}.run(t, msg)
	queueID := wantAccepted(t, reports, len(rcpts), `127\.0\.0\.1`)
	got := waitMail(t, id, len(rcpts)) // Postfix's virtual agent writes one file per recipient
	seen := map[string]bool{}
	for _, m := range got {
		seen[m.deliveredTo()] = true
		if m.queueID() != queueID {
			t.Errorf("%s has queue id %q; want %q from the K report (one transaction)", m.Path, m.queueID(), queueID)
		}
		wantStored(t, m, msg, m.deliveredTo())
	}
	for _, r := range rcpts {
		if !seen[r] {
			t.Errorf("no copy delivered to %s", r)
		}
	}
}

func TestRouteRecipientRefusals(t *testing.T) {
	t.Parallel()
	id := newMessageID(t)
	rcpts := []string{"reject-550@example.test", "reject-450@example.test", "dave@example.test"}
	msg := message(id, "dave@example.test", "Two of three recipients are refused.\n")
	reports := delivery{home: routeHome(t), host: "example.test", rcpt: rcpts}.run(t, msg)
	want := []report{
		{'h', "127.0.0.1 does not like recipient.\nRemote host said: 550 5.7.1 <reject-550@example.test>: " +
			"Recipient address rejected: rejected by test policy\n"},
		{'s', "127.0.0.1 does not like recipient.\nRemote host said: 450 4.7.1 <reject-450@example.test>: " +
			"Recipient address rejected: deferred by test policy\n"},
		{'r', ""},
	}
	if len(reports) != 4 {
		t.Fatalf("got reports %v; want h, s, r, K", reports)
	}
	for i, w := range want {
		if reports[i] != w {
			t.Errorf("report %d = %v; want %v", i, reports[i], w)
		}
	}
	if m := acceptedRE(`127\.0\.0\.1`).FindString(reports[3].Text); reports[3].Letter != 'K' || m == "" {
		t.Errorf("message report = %v; want K", reports[3])
	}
	got := waitMail(t, id, 1)
	wantStored(t, got[0], msg, "dave@example.test")
}

func TestRouteTooLarge(t *testing.T) {
	t.Parallel()
	id := newMessageID(t)
	line := strings.Repeat("x", 99) + "\n"
	body := strings.Repeat(line, 11<<20/len(line)) // 11 MiB, over Postfix's 10485760
	home := routeHome(t)
	reports := delivery{home: home, host: "example.test", rcpt: []string{"erin@example.test"}}.run(t, message(id, "erin@example.test", body))
	last := reports[len(reports)-1]
	// Refused by Postfix (552 5.3.4 at MAIL or after the dot) or, knowing the SIZE limit from EHLO,
	// by qmail-remote itself before sending: either way a permanent failure with 5.3.4.
	if last.Letter != 'D' || !strings.Contains(last.Text, "5.3.4") {
		t.Fatalf("reports %v; want a final D report with 5.3.4 (message too big)", reports)
	}
	for _, r := range reports[:len(reports)-1] {
		if r.Letter != 'r' {
			t.Errorf("recipient report %v; want r or none", r)
		}
	}
	// A message sent afterwards over a new connection arrives; by then a wrongly accepted big
	// message would have arrived too.
	marker := newMessageID(t)
	markerMsg := message(marker, "erin@example.test", "marker\n")
	wantAccepted(t, delivery{home: home, host: "example.test", rcpt: []string{"erin@example.test"}}.run(t, markerMsg), 1, `127\.0\.0\.1`)
	waitMail(t, marker, 1)
	time.Sleep(time.Second)
	if got := findMail(t, id); len(got) != 0 {
		t.Errorf("the refused message was delivered: %s", got[0].Path)
	}
}

func TestRouteBodyIntact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		headers []string
	}{
		{"8bit", "Grüße aus Köln, 東京, \xe9t\xe9 in Latin-1, and \x7f.\nNo encoding was declared here.\n", nil},
		{"8bit-mime", "Ünïcödé with MIME headers.\n", []string{"MIME-Version: 1.0",
			"Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"}},
		{"dots", ".\n..\n.leading dot\n...three\n . space first\nend.\n.\n", nil},
		{"dot-then-8bit", ".ä\n.\n", nil},
		{"long line", strings.Repeat("0123456789", 99) + "\n", nil},
		{"empty body", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, rcpt := newMessageID(t), "frank@example.test"
			msg := message(id, rcpt, tt.body, tt.headers...)
			reports := delivery{home: routeHome(t), host: "example.test", rcpt: []string{rcpt}}.run(t, msg)
			wantAccepted(t, reports, 1, `127\.0\.0\.1`)
			wantStored(t, waitMail(t, id, 1)[0], msg, rcpt)
		})
	}
}

func TestRouteLargeMessage(t *testing.T) {
	t.Parallel()
	id, rcpt := newMessageID(t), "grace@example.test"
	var b strings.Builder
	for i := 0; b.Len() < 5<<20; i++ { // 5 MiB of numbered 76-byte lines
		fmt.Fprintf(&b, "%s %08d\n", strings.Repeat("abcdefghij", 7)[:66], i)
	}
	msg := message(id, rcpt, b.String())
	start := time.Now()
	reports := delivery{home: routeHome(t), host: "example.test", rcpt: []string{rcpt}}.run(t, msg)
	t.Logf("%d bytes delivered in %v", len(msg), time.Since(start))
	wantAccepted(t, reports, 1, `127\.0\.0\.1`)
	wantStored(t, waitMail(t, id, 1)[0], msg, rcpt)
}
