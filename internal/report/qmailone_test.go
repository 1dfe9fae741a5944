package report_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/report"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtptest"
)

// toServer routes every host to one scripted server.
type toServer netip.AddrPort

func (s toServer) Lookup(string, string) (route.Static, error) {
	a := netip.AddrPort(s)
	return route.Static{Relay: a.Addr().String(), Addr: a.Addr(), Port: a.Port()}, nil
}

// deliverTo runs one job for rcpts against a server playing script.
func deliverTo(t *testing.T, script string, rcpts ...string) *deliver.Result {
	t.Helper()
	srv := smtptest.Start(t, script)
	e := deliver.New(deliver.Config{HeloHost: "helo.test", TimeoutConnect: time.Second, TimeoutRemote: 5 * time.Second,
		Routes: toServer(netip.MustParseAddrPort(srv.Addr())), Planner: &route.Planner{Port: 25}})
	m, err := message.Read(strings.NewReader("Subject: t\n\nhello\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	res := e.Deliver(context.Background(), &deliver.Job{Host: "example.test", Sender: "s@example.org", Recipients: rcpts, Message: m})
	return res
}

// envelope is a pipelining server's session up to the replies to RCPT for rcpts (each reply
// given), then DATA's reply.
func envelope(rcpts []string, replies []string, data string) string {
	var b strings.Builder
	b.WriteString("< 220 mx.example.test ESMTP\n> EHLO helo.test\n< 250-mx.example.test\n< 250 PIPELINING\n> MAIL FROM:<s@example.org>\n")
	for _, r := range rcpts {
		fmt.Fprintf(&b, "> RCPT TO:<%s>\n", r)
	}
	b.WriteString("> DATA\n< 250 ok\n")
	for _, r := range replies {
		b.WriteString("< " + r + "\n")
	}
	b.WriteString("< " + data + "\n")
	return b.String()
}

const (
	body     = "! data\n< 250 2.0.0 queued\n> QUIT\n! eof-or-quit"
	bodyTemp = "! data\n< 451 4.3.0 try later\n> QUIT\n! eof-or-quit"
	noData   = "> QUIT\n! eof-or-quit"
	died     = "! data\n! close"
)

// oneScripts are sessions of a single recipient r@example.test, one per outcome.
var oneScripts = map[string]string{
	"accepted":  envelope([]string{"r@example.test"}, []string{"250 ok"}, "354 go") + body,
	"refused":   envelope([]string{"r@example.test"}, []string{"550 5.1.1 unknown"}, "503 no recipients") + noData,
	"deferred":  envelope([]string{"r@example.test"}, []string{"451 4.2.1 greylisted"}, "503 no recipients") + noData,
	"dot-temp":  envelope([]string{"r@example.test"}, []string{"250 ok"}, "354 go") + bodyTemp,
	"dot-died":  envelope([]string{"r@example.test"}, []string{"250 ok"}, "354 go") + died,
	"data-perm": envelope([]string{"r@example.test"}, []string{"250 ok"}, "554 5.3.0 no data") + noData,
	"greeting":  "< 421 4.3.2 busy\n> QUIT\n! eof-or-quit",
}

// TestQmailOneSingle: for a result of one recipient, QmailOne is Qmail, whatever the outcome.
func TestQmailOneSingle(t *testing.T) {
	for name, script := range oneScripts {
		t.Run(name, func(t *testing.T) {
			res := deliverTo(t, script, "r@example.test")
			if got, want := report.QmailOne(res, 0), report.Qmail(res); string(got) != string(want) {
				t.Errorf("QmailOne %q\nQmail    %q", got, want)
			}
		})
	}
}

// TestQmailOneBatch: each recipient of a transaction of three gets what qmail-remote run for it
// alone, against a server giving it the same reply, printed: the accepted ones the message's
// report, a refused one its refusal and "Giving up", as if it had been alone.
func TestQmailOneBatch(t *testing.T) {
	rcpts := []string{"a@example.test", "r@example.test", "c@example.test"}
	tests := []struct {
		name    string
		replies []string
		data    string
		rest    string
		alone   []string // the single-recipient script each recipient's report must equal
	}{
		{"all accepted", []string{"250 ok", "250 ok", "250 ok"}, "354 go", body, []string{"accepted", "accepted", "accepted"}},
		{"one refused", []string{"250 ok", "550 5.1.1 unknown", "250 ok"}, "354 go", body, []string{"accepted", "refused", "accepted"}},
		{"one deferred", []string{"250 ok", "451 4.2.1 greylisted", "250 ok"}, "354 go", body, []string{"accepted", "deferred", "accepted"}},
		{"dot temporary", []string{"250 ok", "550 5.1.1 unknown", "250 ok"}, "354 go", bodyTemp, []string{"dot-temp", "refused", "dot-temp"}},
		{"died after dot", []string{"250 ok", "250 ok", "250 ok"}, "354 go", died, []string{"dot-died", "dot-died", "dot-died"}},
		{"data refused", []string{"250 ok", "250 ok", "250 ok"}, "554 5.3.0 no data", noData, []string{"data-perm", "data-perm", "data-perm"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := deliverTo(t, envelope(rcpts, tt.replies, tt.data)+tt.rest, rcpts...)
			for i := range rcpts {
				want := report.Qmail(deliverTo(t, oneScripts[tt.alone[i]], "r@example.test"))
				if got := report.QmailOne(res, i); string(got) != string(want) {
					t.Errorf("recipient %d: %q\nalone it is %q", i, got, want)
				}
			}
		})
	}
	t.Run("greeting", func(t *testing.T) {
		res := deliverTo(t, oneScripts["greeting"], rcpts...)
		want := report.Qmail(deliverTo(t, oneScripts["greeting"], "r@example.test"))
		for i := range rcpts {
			if got := report.QmailOne(res, i); string(got) != string(want) {
				t.Errorf("recipient %d: %q, want %q", i, got, want)
			}
		}
	})
}
