package qmailremote

import (
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/smtptest"
)

// The tests of this file drive the hardening decisions of the qmail-remote contract
// (spec/qmail-remote-behaviour.md, decisions 2, 7, 9, 10, 11, 12 and 13) through the whole
// program against scripted servers, comparing the report bytes exactly.

// toData is the stepwise transaction up to DATA for one recipient, a@example.test.
const toData = `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA`

// reportCase is one scripted session and the report it must give.
type reportCase struct {
	name   string
	script string
	msg    string
	want   string
	args   []string // qmail-remote's arguments; nil: one recipient, a@example.test
}

func runReports(t *testing.T, tests []reportCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.script)
			got := run(t, srv.Addr(), tt.msg, nil, tt.args...)
			if got != tt.want {
				t.Errorf("report\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestMalformedCode (decision 7): a code not followed by a space, a hyphen or the end of the
// line, and a multi-line reply whose lines disagree, are malformed: never success, a temporary
// failure with the phase's text.
func TestMalformedCode(t *testing.T) {
	const failed = "r\x00Z127.0.0.1 failed after I sent the message.\nRemote host said: "
	runReports(t, []reportCase{
		{"250ok after the dot", ehloPlain + dataOK + `
<raw 250ok\r\n
> QUIT`, msg, failed + "250ok\n\x00", nil},
		{"2500 ok after the dot", ehloPlain + dataOK + `
<raw 2500 ok\r\n
> QUIT`, msg, failed + "2500 ok\n\x00", nil},
		{"250 tab ok after the dot", ehloPlain + dataOK + `
<raw 250\tok\r\n
> QUIT`, msg, failed + "250\tok\n\x00", nil},
		{"multi-line ending in 250ok after the dot", ehloPlain + dataOK + `
<raw 250-queued\r\n250ok\r\n
> QUIT`, msg, failed + "250-queued\n250ok\n\x00", nil},
		{"mixed codes to RCPT", ehloPlain + `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 250-ok
< 550 no
> QUIT`, msg, "s127.0.0.1 does not like recipient.\nRemote host said: 250-ok\n550 no\n\x00DGiving up on 127.0.0.1.\n\x00", nil},
		{"250ok to MAIL", ehloPlain + `
> MAIL FROM:<s@example.org>
<raw 250ok\r\n
> QUIT`, msg, "ZConnected to 127.0.0.1 but sender was rejected.\nRemote host said: 250ok\n\x00", nil},
	})
}

// TestOnlyTwoXXAccepts (decision 9): MAIL and RCPT are accepted only by a 2xx. A 354 or 199 to
// MAIL is a temporary refusal (no RCPT follows, so a server's 503 cannot become a bounce); a 354
// to RCPT is "s".
func TestOnlyTwoXXAccepts(t *testing.T) {
	runReports(t, []reportCase{
		{"354 to MAIL", ehloPlain + `
> MAIL FROM:<s@example.org>
< 354 odd
> QUIT`, msg, "ZConnected to 127.0.0.1 but sender was rejected.\nRemote host said: 354 odd\n\x00", nil},
		{"199 to MAIL", ehloPlain + `
> MAIL FROM:<s@example.org>
< 199 odd
> QUIT`, msg, "ZConnected to 127.0.0.1 but sender was rejected.\nRemote host said: 199 odd\n\x00", nil},
		{"354 to MAIL, pipelined", ehloPipe + `
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> DATA
< 354 odd
< 503 5.5.1 need MAIL first
< 503 5.5.1 need MAIL first
> QUIT`, msg, "ZConnected to 127.0.0.1 but sender was rejected.\nRemote host said: 354 odd\n\x00", nil},
		{"354 to RCPT", ehloPlain + `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 354 odd
> QUIT`, msg, "s127.0.0.1 does not like recipient.\nRemote host said: 354 odd\n\x00DGiving up on 127.0.0.1.\n\x00", nil},
		{"354 to one RCPT of two", ehloPlain + `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<a@example.test>
< 354 odd
> RCPT TO:<b@example.test>
< 250 ok
> DATA
< 354 go
! data
< 250 2.0.0 queued
> QUIT`, msg, "s127.0.0.1 does not like recipient.\nRemote host said: 354 odd\n\x00r\x00" + ok,
			[]string{"example.test", "s@example.org", "a@example.test", "b@example.test"}},
	})
}

// TestAddressInjection (decision 13): an address that would break out of its angle brackets is
// refused before any command carries it, with the reports of an address holding CR or LF.
func TestAddressInjection(t *testing.T) {
	// onlyB is the transaction for b@example.test alone: the refused address is never sent.
	const onlyB = ehloPlain + `
> MAIL FROM:<s@example.org>
< 250 ok
> RCPT TO:<b@example.test>
< 250 ok
> DATA
< 354 go
! data
< 250 2.0.0 queued
> QUIT`
	const badRcpt = "hSorry, this address holds a CR, LF or NUL byte, which SMTP cannot carry. (#5.1.3)\n\x00"
	runReports(t, []reportCase{
		{"DSN parameters in the sender", ehloPlain + `
> QUIT`, msg, "DSorry, the sender address holds a CR, LF or NUL byte, which SMTP cannot carry. (#5.1.7)\n\x00",
			[]string{"example.test", "x@example.net> RET=HDRS ENVID=a", "a@example.test"}},
		{"NOTIFY in a recipient", onlyB, msg, badRcpt + "r\x00" + ok,
			[]string{"example.test", "s@example.org", "a@example.test> NOTIFY=NEVER", "b@example.test"}},
		{"ORCPT in a recipient", onlyB, msg, badRcpt + "r\x00" + ok,
			[]string{"example.test", "s@example.org", "a@example.test> ORCPT=rfc822;x", "b@example.test"}},
		{"recipient without @", onlyB, msg, "r\x00" + badRcpt + ok,
			[]string{"example.test", "s@example.org", "b@example.test", "postmaster"}},
	})
}

// TestEHLO421 (decision 2): a 421 to EHLO means the server is closing: no HELO follows, and the
// report quotes the 421 with the text of a refused EHLO/HELO.
func TestEHLO421(t *testing.T) {
	runReports(t, []reportCase{
		{"421 to EHLO", `
< 220 mx
> EHLO helo.example.test
< 421 4.3.2 shutting down
> QUIT`, msg, "ZConnected to 127.0.0.1 but my name was rejected.\nRemote host said: 421 4.3.2 shutting down\n\x00", nil},
		{"421 to EHLO, multi-line", `
< 220 mx
> EHLO helo.example.test
< 421-4.7.0 too many connections
< 421 4.7.0 try later
> QUIT`, msg, "ZConnected to 127.0.0.1 but my name was rejected.\nRemote host said: 421-4.7.0 too many connections\n421 4.7.0 try later\n\x00", nil},
	})
}

// TestLoneCRSmuggling (decision 11): a lone CR goes out as CRLF and the dot after it is doubled,
// so "\r.\n" in a message can end DATA under no reading of line ends; SIZE counts the bytes sent.
func TestLoneCRSmuggling(t *testing.T) {
	const body = "line1\r.\nMAIL FROM:<evil@x>\n"
	srv := smtptest.Start(t, `
< 220 mx
> EHLO helo.example.test
< 250-mx
< 250 SIZE 1000
> MAIL FROM:<s@example.org> SIZE=30
< 250 ok
> RCPT TO:<a@example.test>
< 250 ok
> DATA
< 354 go
! data
< 250 2.0.0 queued
> QUIT`)
	if got := run(t, srv.Addr(), body, nil); got != "r\x00"+ok {
		t.Errorf("report %q", got)
	}
	const wire = "line1\r\n..\r\nMAIL FROM:<evil@x>\r\n.\r\n"
	if d := srv.Data(); len(d) != 1 || string(d[0]) != wire {
		t.Errorf("wire form %q, want %q", d, wire)
	}
	if rec := string(srv.Received()); strings.Contains(strings.ReplaceAll(rec, "\r\n", "\n"), "\r") {
		t.Errorf("a bare CR reached the wire: %q", rec)
	}
}

// TestResetBeforeDot (decision 10): a connection that dies before the final dot was written is
// "connection died" without "Possible duplicate!": the dot never left. A reset after the 354
// races with a small message's writes, so the small case is proved deterministically by smtp's
// TestBodyWriteFailureIsNoDuplicate; here the reset comes while a text larger than the socket
// buffers is surely still being written, and a server that closes after its 354 is seen to have
// closed before the dot.
func TestResetBeforeDot(t *testing.T) {
	runReports(t, []reportCase{
		{"reset while the text goes out", ehloPlain + toData + `
< 354 go
! sleep 100ms
! reset`, strings.Repeat(textLine, (16<<20)/len(textLine)), "r\x00ZConnected to 127.0.0.1 but connection died. (#4.4.2)\n\x00", nil},
		// The server closes after its 354 but takes the text: the close is seen before the dot
		// would be written, so the dot never leaves (it used to: then EOF, "Possible duplicate!").
		{"close after 354", ehloPlain + toData + `
< 354 go
! close`, strings.Repeat(textLine, (4<<20)/len(textLine)), "r\x00ZConnected to 127.0.0.1 but connection died. (#4.4.2)\n\x00", nil},
	})
}

// TestEarlyReply (decision 12): nothing may come between the 354 and the final dot. Bytes that
// came with the 354 fail DATA; a reply that came while the text went out fails the message
// before the dot is sent. Either is Z quoting what came, never K, and the connection is
// dropped without dot and QUIT (it is out of step), so the server discards the transaction.
func TestEarlyReply(t *testing.T) {
	big := strings.Repeat(textLine, (16<<20)/len(textLine)) // more than the socket buffers hold
	runReports(t, []reportCase{
		{"250 in the 354's packet", ehloPlain + toData + `
< 354 go
< 250 extra
! expect-eof`, msg, "r\x00Z127.0.0.1 failed on DATA command.\nRemote host said: 354 go\n250 extra\n\x00", nil},
		{"pipelined: stale 250 after the 354", ehloPipe + `
> MAIL FROM:<s@example.org>
> RCPT TO:<a@example.test>
> DATA
< 250 ok
< 250 ok
< 354 go
<raw 250 2.0.0 stale
! expect-eof`, msg, "r\x00Z127.0.0.1 failed on DATA command.\nRemote host said: 354 go\n250 2.0.0 stale\n\x00", nil},
		{"554 while the text goes out", ehloPlain + toData + `
< 354 go
! sleep 50ms
< 554 5.3.4 too much
! stall`, big, "r\x00Z127.0.0.1 failed after I sent the message.\nRemote host said: 554 5.3.4 too much\n\x00", nil},
		{"250 while the text goes out", ehloPlain + toData + `
< 354 go
! sleep 50ms
< 250 2.0.0 stale
! stall`, big, "r\x00Z127.0.0.1 failed after I sent the message.\nRemote host said: 250 2.0.0 stale\n\x00", nil},
	})
}
