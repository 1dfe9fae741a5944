//go:build integration

package integration

import (
	"bytes"
	"strings"
	"testing"
)

// These tests run qmail-remote with control/qmtproutes against the QMTP peer (mailfront on
// 2209, stunnel on 26209). mxout sends one package per recipient (docs/qmtp.md), so each
// recipient gets mailfront's own response.

// qmtpHome routes example.test over QMTP to 127.0.0.1;port, with more control files.
func qmtpHome(t *testing.T, port string, more map[string]string) string {
	files := map[string]string{"qmtproutes": "example.test:127.0.0.1;" + port + "\n"}
	for k, v := range more {
		files[k] = v
	}
	return qmailHome(t, files)
}

// TestQMTPRoutePerRecipient: K, D and Z per recipient from the real server, the message stored
// in LF form for the accepted one; a pipe on stdin works as well as a file (s/qmail needs a file).
func TestQMTPRoutePerRecipient(t *testing.T) {
	t.Parallel()
	for _, pipe := range []bool{false, true} {
		name := "file"
		if pipe {
			name = "pipe"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			id := newMessageID(t)
			msg := message(id, "qr@example.test", strings.Repeat("a line of the message\n", 1000))
			rcpts := []string{"qr@example.test", "reject-qmtp-5@example.test", "reject-qmtp-4@example.test"}
			reports := delivery{home: qmtpHome(t, "2209", nil), host: "example.test", rcpt: rcpts, pipe: pipe}.run(t, msg)
			want := []string{
				`r"qmtp:2.6.0 Message accepted.\n"`,
				`h"qmtp:no such user here (#5.1.1)\n"`,
				`s"qmtp:deferred by test policy (#4.3.0)\n"`,
				`K"Some received okay by 127.0.0.1\n"`,
			}
			if len(reports) != len(want) {
				t.Fatalf("reports %v; want %v", reports, want)
			}
			for i, w := range want {
				if reports[i].String() != w {
					t.Errorf("report %d = %v; want %s", i, reports[i], w)
				}
			}
			q := qmtpFind(t, id, 1)
			if q.Sender != sender || q.Recipients[0] != "qr@example.test" || !bytes.Equal(q.Message, msg) {
				t.Errorf("stored %q -> %q, %d bytes; want the envelope and %d bytes", q.Sender, q.Recipients, len(q.Message), len(msg))
			}
		})
	}
}

// TestQMTPRouteBounce: the null sender takes the "!@" route of qmtproutes.
func TestQMTPRouteBounce(t *testing.T) {
	t.Parallel()
	id := newMessageID(t)
	home := qmailHome(t, map[string]string{"qmtproutes": "!@:127.0.0.1;2209\n", "smtproutes": "example.test:127.0.0.1:9\n"})
	empty := ""
	reports := delivery{home: home, host: "example.test", rcpt: []string{"bounce@example.test"}, from: &empty}.run(t, message(id, "bounce@example.test", "a bounce\n"))
	if len(reports) != 2 || reports[1].String() != `K"All received okay by 127.0.0.1\n"` {
		t.Fatalf("reports %v", reports)
	}
	if q := qmtpFind(t, id, 1); q.Sender != "" {
		t.Errorf("sender %q, want the null sender", q.Sender)
	}
}

// TestQMTPRouteQMTPS: an "s" port is QMTPS, verified here against the peers' CA.
func TestQMTPRouteQMTPS(t *testing.T) {
	t.Parallel()
	id := newMessageID(t)
	home := qmtpHome(t, "s26209", map[string]string{"tlsdestinations": "127.0.0.1:" + caFile(t) + "\n"})
	reports := delivery{home: home, host: "example.test", rcpt: []string{"qmtps-route@example.test"}}.run(t, message(id, "qmtps-route@example.test", "over tls\n"))
	if len(reports) != 2 || reports[0].String() != `r"qmtps:2.6.0 Message accepted.\n"` || reports[1].Letter != 'K' {
		t.Fatalf("reports %v", reports)
	}
	qmtpFind(t, id, 1)
}

// TestQMTPRouteDropped: a connection lost after the package went out is a Z with the duplicate
// warning (s/qmail omits it); mailfront did store the message.
func TestQMTPRouteDropped(t *testing.T) {
	t.Parallel()
	addr := dropProxy(t, true)
	id := newMessageID(t)
	home := qmtpHome(t, strings.TrimPrefix(addr.String(), "127.0.0.1:"), nil)
	reports := delivery{home: home, host: "example.test", rcpt: []string{"qmtp-drop@example.test"}}.run(t, message(id, "qmtp-drop@example.test", "x\n"))
	if len(reports) != 1 || reports[0].String() != `Z"Connected to 127.0.0.1 but connection died. Possible duplicate! (#4.4.2)\n"` {
		t.Fatalf("reports %v", reports)
	}
	qmtpFind(t, id, 1)
}
