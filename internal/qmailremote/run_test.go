package qmailremote

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/smtptest"
)

// control writes a QMAILHOME with the given control files.
func control(t *testing.T, files map[string]string) string {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, "control")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

// run calls Report for one delivery of msg through a route to addr, with extra control files.
func run(t *testing.T, addr string, msg string, extra map[string]string, args ...string) string {
	t.Helper()
	files := map[string]string{"me": "me.example.test\n", "helohost": "helo.example.test\n",
		"smtproutes": "example.test:" + addr + "\n"}
	for k, v := range extra {
		files[k] = v
	}
	home := control(t, files)
	// No test may reach the machine's resolver: any DNS lookup goes to a closed loopback port.
	env := map[string]string{"QMAILHOME": home, "MXOUT_DNS": "127.0.0.1:9"}
	if len(args) == 0 {
		args = []string{"example.test", "s@example.org", "a@example.test"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if code := Run(ctx, args, strings.NewReader(msg), &out, func(k string) string { return env[k] }); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	return out.String()
}

const (
	ehloPipe = `
< 220 mx.example.test ESMTP
> EHLO helo.example.test
< 250-mx.example.test
< 250 PIPELINING
`
	ehloPlain = `
< 220 mx.example.test ESMTP
> EHLO helo.example.test
< 250 mx.example.test
`
	msg = "Subject: t\n\nhello\n"
	ok  = "K127.0.0.1 accepted message.\nRemote host said: 250 2.0.0 queued\n\x00"
)

// TestPhaseTable drives every row of the contract's phase table (spec/qmail-remote-behaviour.md)
// with the decisions where mxout departs, and compares the report bytes exactly.
func TestPhaseTable(t *testing.T) {
	tests := []struct {
		name   string
		script string
		msg    string
		want   string
	}{
		{"pipelined success", ehloPipe + `
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> DATA
< 250 ok
< 250 ok
< 354 go
! data
< 250 2.0.0 queued
> QUIT`, msg, "r\x00" + ok},
		{"stepwise success", ehloPlain + `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA
< 354 go
! data
< 250 2.0.0 queued
> QUIT`, msg, "r\x00" + ok},
		{"greeting 554", `
< 554 go away
> QUIT`, msg, "ZConnected to 127.0.0.1 but greeting failed.\nRemote host said: 554 go away\n\x00"},
		{"greeting 421", `
< 421 busy
> QUIT`, msg, "ZConnected to 127.0.0.1 but greeting failed.\nRemote host said: 421 busy\n\x00"},
		{"greeting garbage", `
<raw hello there\r\n
> QUIT`, msg, "ZConnected to 127.0.0.1 but greeting failed.\nRemote host said: hello there\n\x00"},
		{"greeting 2xx other than 220", `
< 250 odd
> QUIT`, msg, "ZConnected to 127.0.0.1 but greeting failed.\nRemote host said: 250 odd\n\x00"},
		{"greeting close", `
! close`, msg, "ZConnected to 127.0.0.1 but connection died. (#4.4.2)\n\x00"},
		{"greeting partial line then close", `
<raw 220 mx
! close`, msg, "ZConnected to 127.0.0.1 but connection died. (#4.4.2)\n\x00"},
		{"EHLO refused, HELO accepted", `
< 220 mx
> EHLO helo.example.test
< 502 no EHLO here
> HELO helo.example.test
< 250 mx
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA
< 354 go
! data
< 250 2.0.0 queued
> QUIT`, msg, "r\x00" + ok},
		{"EHLO and HELO refused", `
< 220 mx
> EHLO helo.example.test
< 500 what
> HELO helo.example.test
< 550 not you
> QUIT`, msg, "ZConnected to 127.0.0.1 but my name was rejected.\nRemote host said: 550 not you\n\x00"},
		{"HELO close", `
< 220 mx
> EHLO helo.example.test
! close`, msg, "ZConnected to 127.0.0.1 but connection died. (#4.4.2)\n\x00"},
		{"MAIL 550 pipelined", ehloPipe + `
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> DATA
< 550 5.7.1 not you
< 503 5.5.1 MAIL first
< 503 5.5.1 MAIL first
> QUIT`, msg, "DConnected to 127.0.0.1 but sender was rejected.\nRemote host said: 550 5.7.1 not you\n\x00"},
		{"MAIL 550 and hang up", ehloPipe + `
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> DATA
< 550 5.7.1 not you
! close`, msg, "DConnected to 127.0.0.1 but sender was rejected.\nRemote host said: 550 5.7.1 not you\n\x00"},
		{"MAIL 451", ehloPlain + `
> MAIL FROM:<s@example.org>
< 451 later
> QUIT`, msg, "ZConnected to 127.0.0.1 but sender was rejected.\nRemote host said: 451 later\n\x00"},
		{"MAIL garbage", ehloPlain + `
> MAIL FROM:<s@example.org>
<raw what?\r\n
> QUIT`, msg, "ZConnected to 127.0.0.1 but sender was rejected.\nRemote host said: what?\n\x00"},
		{"DATA 554", ehloPlain + `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA
< 554 no
> QUIT`, msg, "r\x00D127.0.0.1 failed on DATA command.\nRemote host said: 554 no\n\x00"},
		{"DATA 451", ehloPlain + `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA
< 451 later
> QUIT`, msg, "r\x00Z127.0.0.1 failed on DATA command.\nRemote host said: 451 later\n\x00"},
		{"DATA 250 is not 354 (decision 8)", ehloPlain + `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA
< 250 sure
> QUIT`, msg, "r\x00Z127.0.0.1 failed on DATA command.\nRemote host said: 250 sure\n\x00"},
		{"DATA close", ehloPlain + `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA
! close`, msg, "r\x00ZConnected to 127.0.0.1 but connection died. (#4.4.2)\n\x00"},
		{"after dot 554", ehloPlain + dataOK + `
< 554 5.6.0 spam
> QUIT`, msg, "r\x00D127.0.0.1 failed after I sent the message.\nRemote host said: 554 5.6.0 spam\n\x00"},
		{"after dot 451", ehloPlain + dataOK + `
< 451 4.3.0 later
> QUIT`, msg, "r\x00Z127.0.0.1 failed after I sent the message.\nRemote host said: 451 4.3.0 later\n\x00"},
		{"after dot garbage (decision 7)", ehloPlain + dataOK + `
<raw 25\r\n
> QUIT`, msg, "r\x00Z127.0.0.1 failed after I sent the message.\nRemote host said: 25\n\x00"},
		{"after dot wrong class 354", ehloPlain + dataOK + `
< 354 again?
> QUIT`, msg, "r\x00Z127.0.0.1 failed after I sent the message.\nRemote host said: 354 again?\n\x00"},
		{"after dot mixed codes (decision 7)", ehloPlain + dataOK + `
< 250-ok
< 451 no
> QUIT`, msg, "r\x00Z127.0.0.1 failed after I sent the message.\nRemote host said: 250-ok\n451 no\n\x00"},
		{"after dot multi-line bare LF", ehloPlain + dataOK + `
<raw 250-first\n250 2.0.0 queued\n
> QUIT`, msg, "r\x00K127.0.0.1 accepted message.\nRemote host said: 250-first\n250 2.0.0 queued\n\x00"},
		{"after dot close: possible duplicate", ehloPlain + dataOK + `
! close`, msg, "r\x00ZConnected to 127.0.0.1 but connection died. Possible duplicate! (#4.4.2)\n\x00"},
		{"after dot partial line", ehloPlain + dataOK + `
<raw 250 o
! close`, msg, "r\x00ZConnected to 127.0.0.1 but connection died. Possible duplicate! (#4.4.2)\n\x00"},
		{"partial final line in message", ehloPlain + `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA
< 354 go
! expect-eof`, "no newline", "r\x00DSMTP cannot transfer messages with partial final lines. (#5.6.2)\n\x00"},
		{"reply text: CR removed, NUL shown as ?", ehloPlain + dataOK + `
<raw 250 a\rb\x00c\r\n
> QUIT`, msg, "r\x00K127.0.0.1 accepted message.\nRemote host said: 250 ab?c\n\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.script)
			got := run(t, srv.Addr(), tt.msg, nil)
			if got != tt.want {
				t.Errorf("report\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// dataOK is the stepwise transaction up to the message text for one recipient.
const dataOK = toData + `
< 354 go
! data`
