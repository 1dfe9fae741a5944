package qmailremote

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/qmtp/qmtptest"
	"github.com/mxout/mxout/internal/smtptest"
)

// qmtpRoute is the qmtproutes line that sends example.test to srv; port may carry an "s".
func qmtpRoute(port string) string { return "example.test:127.0.0.1;" + port + "\n" }

// TestQMTPReports: one package per recipient, each response its recipient's report
// (spec/sqmail-reports.md), and the message report that keeps qmail-send right (docs/qmtp.md).
func TestQMTPReports(t *testing.T) {
	rcpts := []string{"example.test", "s@example.org", "a@example.test", "b@example.test", "c@example.test"}
	tests := []struct {
		name  string
		steps []qmtptest.Step
		args  []string
		want  string
	}{
		{"all accepted", []qmtptest.Step{{Respond: qmtptest.K("ok 1 qp 2")}}, nil,
			"rqmtp:ok 1 qp 2\n\x00KAll received okay by 127.0.0.1\n\x00"},
		{"K, Z, D", []qmtptest.Step{{Respond: qmtptest.K("ok 1")}, {Respond: qmtptest.Z("try later\r")}, {Respond: qmtptest.D("no such user \x01 (#5.1.1)")}}, rcpts,
			"rqmtp:ok 1\n\x00sqmtp:try later\n\x00hqmtp:no such user ? (#5.1.1)\n\x00KSome received okay by 127.0.0.1\n\x00"},
		{"none accepted", []qmtptest.Step{{Respond: qmtptest.D("no (#5.1.1)")}}, nil,
			"hqmtp:no (#5.1.1)\n\x00DGiving up on 127.0.0.1\n\x00"},
		{"dropped after a K", []qmtptest.Step{{Respond: qmtptest.K("ok")}, {Close: true}}, rcpts,
			"rqmtp:ok\n\x00sConnected to 127.0.0.1 but connection died. Possible duplicate! (#4.4.2)\n\x00" +
				"sConnected to 127.0.0.1 but connection died. (#4.4.2)\n\x00KSome received okay by 127.0.0.1\n\x00"},
		{"dropped before any response", []qmtptest.Step{{Close: true}}, nil,
			"ZConnected to 127.0.0.1 but connection died. Possible duplicate! (#4.4.2)\n\x00"},
		{"garbage", []qmtptest.Step{{Respond: "5:Xhello,"}}, nil,
			"ZRecipient did not talk proper QMTP (#4.3.0)\n\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qmtptest.Start(t, tt.steps...)
			port := srv.Addr()[strings.LastIndexByte(srv.Addr(), ':')+1:]
			got := run(t, "127.0.0.1:9", "Subject: q\r\n\r\nhello\r\n", map[string]string{"qmtproutes": qmtpRoute(port)}, tt.args...)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			for _, p := range srv.Packages() {
				if string(p.Message) != "Subject: q\n\nhello\n" || p.Sender != "s@example.org" || len(p.Recipients) != 1 {
					t.Errorf("package %+v: want the message in LF form, the sender and one recipient", p)
				}
			}
		})
	}
}

// TestQMTPS: an "s" port means TLS from the first byte, reported as "qmtps:".
func TestQMTPS(t *testing.T) {
	cert := smtptest.NewCert(t, "127.0.0.1")
	srv := qmtptest.StartTLS(t, &tls.Config{Certificates: []tls.Certificate{cert.Leaf}}, qmtptest.Step{Respond: qmtptest.K("ok tls")})
	port := srv.Addr()[strings.LastIndexByte(srv.Addr(), ':')+1:]
	got := run(t, "127.0.0.1:9", msg, map[string]string{"qmtproutes": qmtpRoute("s" + port)})
	if want := "rqmtps:ok tls\n\x00KAll received okay by 127.0.0.1\n\x00"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
