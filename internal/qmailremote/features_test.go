package qmailremote

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/smtptest"
)

func TestRecipientReports(t *testing.T) {
	srv := smtptest.Start(t, ehloPipe+`
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> RCPT TO:<b@example.test>
> RCPT TO:<c@example.test>
> RCPT TO:<"d e"@example.test>
> DATA
< 250 ok
< 250 ok
< 550 5.1.1 no such user
< 450 4.2.1 later
<raw garbage\r\n
< 354 go
! data
< 250 2.0.0 queued
> QUIT`)
	got := run(t, srv.Addr(), msg, nil, "example.test", "s@example.org",
		"a@example.test", "b@example.test", "c@example.test", "d e@example.test")
	want := "r\x00" +
		"h127.0.0.1 does not like recipient.\nRemote host said: 550 5.1.1 no such user\n\x00" +
		"s127.0.0.1 does not like recipient.\nRemote host said: 450 4.2.1 later\n\x00" +
		"s127.0.0.1 does not like recipient.\nRemote host said: garbage\n\x00" + ok
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestNoRecipientAccepted(t *testing.T) {
	// All refused, even when only temporarily: "Giving up", and the DATA a broken server opened
	// anyway is ended with an empty message rather than the text.
	srv := smtptest.Start(t, ehloPipe+`
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> RCPT TO:<b@example.test>
> DATA
< 250 ok
< 451 no
< 550 no
< 354 go anyway
> .
< 250 empty
> QUIT`)
	got := run(t, srv.Addr(), msg, nil, "example.test", "s@example.org", "a@example.test", "b@example.test")
	want := "s127.0.0.1 does not like recipient.\nRemote host said: 451 no\n\x00" +
		"h127.0.0.1 does not like recipient.\nRemote host said: 550 no\n\x00" +
		"DGiving up on 127.0.0.1.\n\x00"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestExtensionsDeclared(t *testing.T) {
	body := "Subject: \xc3\xa9\n\n.dot\nline\r\nlone\rcr\n"
	srv := smtptest.Start(t, `
< 220 mx
> EHLO helo.example.test
< 250-mx
< 250-SIZE 1000
< 250-8BITMIME
< 250-SMTPUTF8
< 250 PIPELINING
> MAIL FROM:<s@example.org> SIZE=37 BODY=8BITMIME SMTPUTF8
> RCPT TO:<üser@example.test>
> DATA
< 250 ok
< 250 ok
< 354 go
! data
< 250 2.0.0 queued
> QUIT`)
	got := run(t, srv.Addr(), body, nil, "example.test", "s@example.org", "üser@example.test")
	if got != "r\x00"+ok {
		t.Errorf("got %q", got)
	}
	wire := "Subject: \xc3\xa9\r\n\r\n..dot\r\nline\r\nlone\r\ncr\r\n.\r\n" // a lone CR ends a line (decision 11)
	if d := srv.Data(); len(d) != 1 || string(d[0]) != wire {
		t.Errorf("wire form %q, want %q", d, wire)
	}
}

func TestSizeLimitRefusedLocally(t *testing.T) {
	srv := smtptest.Start(t, `
< 220 mx
> EHLO helo.example.test
< 250-mx
< 250 SIZE 10
> QUIT`)
	got := run(t, srv.Addr(), msg, nil)
	want := "DConnected to 127.0.0.1 but the message is larger than the SIZE limit it announced. (#5.3.4)\n\x00"
	if got != want {
		t.Errorf("got %q", got)
	}
}

func TestSMTPUTF8NotOffered(t *testing.T) {
	srv := smtptest.Start(t, ehloPipe+`
> QUIT`)
	got := run(t, srv.Addr(), msg, nil, "example.test", "s@example.org", "üser@example.test")
	if !strings.HasPrefix(got, "DConnected to 127.0.0.1 but it does not offer SMTPUTF8") || !strings.HasSuffix(got, "(#5.6.7)\n\x00") {
		t.Errorf("got %q", got)
	}
}

func TestTimeouts(t *testing.T) {
	extra := map[string]string{"timeoutremote": "1\n"}
	tests := []struct{ name, script, want string }{
		{"greeting stall", "! stall", "ZConnected to 127.0.0.1 but connection died. (#4.4.2)\n\x00"},
		{"slow drip greeting", "! drip 150ms\n< 220 a greeting that takes too long to arrive", "ZConnected to 127.0.0.1 but connection died. (#4.4.2)\n\x00"},
		{"stall after dot", ehloPlain + dataOK + "\n! stall", "r\x00ZConnected to 127.0.0.1 but connection died. Possible duplicate! (#4.4.2)\n\x00"},
		{"stall at MAIL", ehloPlain + `
> MAIL FROM:<s@example.org>
! stall`, "ZConnected to 127.0.0.1 but connection died. (#4.4.2)\n\x00"},
		{"stall at DATA", ehloPlain + `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA
! stall`, "r\x00ZConnected to 127.0.0.1 but connection died. (#4.4.2)\n\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.script)
			start := time.Now()
			got := run(t, srv.Addr(), msg, extra)
			if got != tt.want {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("took %v with timeoutremote 1", d)
			}
		})
	}
}

func TestOversizeReply(t *testing.T) {
	srv := smtptest.Start(t, ehloPlain+dataOK+`
! many 3000 250-x
< 250 done`)
	got := run(t, srv.Addr(), msg, nil)
	want := "r\x00ZConnected to 127.0.0.1 but its reply was too long. Possible duplicate! (#4.4.2)\n\x00"
	if got != want {
		t.Errorf("got %q", got)
	}
}

func TestConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	got := run(t, addr, msg, nil)
	if got != "ZSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n\x00" {
		t.Errorf("got %q", got)
	}
}

func TestStartupFailures(t *testing.T) {
	env := func(home string) func(string) string {
		return func(k string) string {
			if k == "QMAILHOME" {
				return home
			}
			return ""
		}
	}
	tests := []struct {
		name string
		home string
		args []string
		want string
	}{
		{"usage", t.TempDir(), []string{"host", "sender"}, "DI (qmail-remote) was invoked improperly. (#5.3.5)\n\x00"},
		{"no home", "/nonexistent/qmail", []string{"h", "s", "r"}, "ZUnable to switch to home directory. (#4.3.0)\n\x00"},
		{"no me nor helohost", control(t, map[string]string{}), []string{"h", "s", "r"}, "ZUnable to read control files. (#4.3.0)\n\x00"},
		{"smtproutes is a directory", control(t, map[string]string{"me": "x\n", "smtproutes/x": ""}), []string{"h", "s", "r"}, "ZUnable to read control files. (#4.3.0)\n\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			Run(t.Context(), tt.args, strings.NewReader(msg), &out, env(tt.home))
			if out.String() != tt.want {
				t.Errorf("got %q", out.String())
			}
		})
	}
}
