package outcome

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/mxout/mxout/internal/smtp"
)

func reply(code int, lines ...string) smtp.Reply { return smtp.Reply{Code: code, Lines: lines} }

// TestFromReply is the table of the rules for replies: class, enhanced code and duplicate risk.
func TestFromReply(t *testing.T) {
	tests := []struct {
		name   string
		phase  smtp.Phase
		reply  smtp.Reply
		status Status
		dsn    string
		dup    bool
	}{
		{"250 to the dot delivers", smtp.PhaseDot, reply(250, "250 ok"), Delivered, "2.0.0", false},
		{"server's enhanced code is kept", smtp.PhaseDot, reply(250, "250 2.6.0 queued"), Delivered, "2.6.0", false},
		{"enhanced code of the wrong class is ignored", smtp.PhaseDot, reply(250, "250 5.1.1 odd"), Delivered, "2.0.0", false},
		{"554 to the dot", smtp.PhaseDot, reply(554, "554 spam"), Failed, "5.6.0", false},
		{"451 to the dot", smtp.PhaseDot, reply(451, "451 later"), Deferred, "4.3.0", false},
		{"malformed to the dot is a duplicate risk", smtp.PhaseDot, reply(0, "250ok"), Deferred, "4.5.0", true},
		{"wrong class to the dot", smtp.PhaseDot, reply(354, "354 what"), Deferred, "4.5.0", false},
		{"550 to RCPT: unknown user", smtp.PhaseRcpt, reply(550, "550 no"), Failed, "5.1.1", false},
		{"550 5.7.1 to RCPT keeps the server's", smtp.PhaseRcpt, reply(550, "550 5.7.1 policy"), Failed, "5.7.1", false},
		{"452 to RCPT: too many recipients", smtp.PhaseRcpt, reply(452, "452 too many"), Deferred, "4.5.3", false},
		{"452 to the dot: storage", smtp.PhaseDot, reply(452, "452 full"), Deferred, "4.3.1", false},
		{"552 to RCPT: mailbox full", smtp.PhaseRcpt, reply(552, "552 full"), Failed, "5.2.2", false},
		{"552 to the dot: too big", smtp.PhaseDot, reply(552, "552 big"), Failed, "5.3.4", false},
		{"553 to MAIL: bad sender", smtp.PhaseMail, reply(553, "553 no"), Failed, "5.1.7", false},
		{"553 to RCPT", smtp.PhaseRcpt, reply(553, "553 no"), Failed, "5.1.3", false},
		{"550 to MAIL is generic", smtp.PhaseMail, reply(550, "550 no"), Failed, "5.0.0", false},
		{"421 anywhere", smtp.PhaseMail, reply(421, "421 bye"), Deferred, "4.3.2", false},
		{"354 to MAIL is not acceptance", smtp.PhaseMail, reply(354, "354 odd"), Deferred, "4.5.0", false},
		{"250 to DATA cannot count", smtp.PhaseData, reply(250, "250 odd"), Deferred, "4.5.0", false},
		{"535 to AUTH: temporary, as s/qmail's Z (the credentials are the operator's to mend)", smtp.PhaseAuth, reply(535, "535 bad"), Deferred, "4.7.8", false},
		{"greeting 554 is not permanent", smtp.PhaseGreeting, reply(554, "554 go away"), Deferred, "4.0.0", false},
		{"EHLO and HELO 550 5.7.1", smtp.PhaseHello, reply(550, "550 5.7.1 no"), Deferred, "4.7.1", false},
		{"503 bad sequence", smtp.PhaseRcpt, reply(503, "503 need MAIL"), Failed, "5.5.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := FromReply(tt.phase, tt.reply, nil)
			if o.Status != tt.status || o.DSN != tt.dsn || o.DuplicateRisk != tt.dup {
				t.Errorf("FromReply(%v, %q) = %v %s dup=%v, want %v %s dup=%v",
					tt.phase, tt.reply.Lines, o.Status, o.DSN, o.DuplicateRisk, tt.status, tt.dsn, tt.dup)
			}
			if o.Code() != tt.reply.Code {
				t.Errorf("Code() = %d, want %d", o.Code(), tt.reply.Code)
			}
		})
	}
}

// TestLocal checks every local kind has its own status and code, and the duplicate rule.
func TestLocal(t *testing.T) {
	for k := NoHost; k <= LocalError; k++ {
		c, ok := kinds[k]
		if !ok {
			t.Errorf("kind %d has no row in the table", k)
			continue
		}
		o := Local(k, smtp.PhaseConnect, "x", nil)
		if o.Status != c.status || o.DSN != c.dsn || o.DuplicateRisk {
			t.Errorf("Local(%d) = %v %s dup=%v", k, o.Status, o.DSN, o.DuplicateRisk)
		}
		if (o.DSN[0] == '5') != (o.Status == Failed) {
			t.Errorf("kind %d: class of %s disagrees with %v", k, o.DSN, o.Status)
		}
	}
	lost := Local(ConnectionLost, smtp.PhaseDot, "connection lost", errors.New("EOF"))
	if !lost.DuplicateRisk || lost.Status != Deferred || lost.DSN != "4.4.2" {
		t.Errorf("lost after the dot = %+v, want deferred 4.4.2 with duplicate risk", lost)
	}
	body := Local(ConnectionLost, smtp.PhaseBody, "connection lost", nil)
	if body.DuplicateRisk {
		t.Error("a connection lost while the text was still going out is no duplicate risk")
	}
}

func TestDescribe(t *testing.T) {
	peer := netip.MustParseAddrPort("192.0.2.1:25")
	o := FromReply(smtp.PhaseRcpt, reply(550, "550-5.1.1 no such", "550 5.1.1 user\there"), nil)
	o.Host, o.Peer = "mx1.example.test", peer
	want := "mx1.example.test[192.0.2.1]:25: RCPT TO: 550-5.1.1 no such 550 5.1.1 user here"
	if got := o.Describe(); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	lost := Local(ConnectionLost, smtp.PhaseDot, "connection lost after the final dot", nil)
	lost.Host, lost.Peer = "mx1.example.test", peer
	want = "mx1.example.test[192.0.2.1]:25: connection lost after the final dot: possible duplicate"
	if got := lost.Describe(); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	route := Local(NoHost, smtp.PhaseConnect, "no such domain: nx.test", nil)
	if got := route.Describe(); got != "no such domain: nx.test" {
		t.Errorf("Describe() = %q", got)
	}
}

func TestMessageStatus(t *testing.T) {
	rc := func(s ...Status) *Message {
		m := &Message{}
		for _, st := range s {
			m.Recipients = append(m.Recipients, Recipient{Outcome: Outcome{Status: st}})
		}
		return m
	}
	tests := []struct {
		m    *Message
		want string
	}{
		{rc(Delivered, Delivered), "ok"},
		{rc(Delivered, Failed), "partial"},
		{rc(Deferred, Failed), "deferred"},
		{rc(Failed, Failed), "error"},
		{rc(), "error"},
	}
	for _, tt := range tests {
		if got := tt.m.Status(); got != tt.want {
			t.Errorf("Status() = %q, want %q", got, tt.want)
		}
	}
}
