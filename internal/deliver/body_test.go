package deliver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/downgrade"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtptest"
)

// eightBitText is a message with an 8-bit text body and an 8-bit Subject (which becomes an
// encoded-word in a downgrade).
const eightBitText = "Subject: caf\xc3\xa9\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n" +
	"Content-Transfer-Encoding: 8bit\n\nd\xc3\xa9j\xc3\xa0 vu\n"

// bodyEngine is an engine that sends every job to srv under the 8-bit mode m.
func bodyEngine(srv *smtptest.Server, m EightBit) *Engine {
	return New(Config{HeloHost: "helo.test", TimeoutRemote: 5 * time.Second, EightBit: m, Socket: "/test",
		Planner: &route.Planner{},
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "tcp", srv.Addr())
		}})
}

func bodyJob(t *testing.T, text string) *Job {
	m, err := message.Read(strings.NewReader(text), "")
	if err != nil {
		t.Fatal(err)
	}
	return &Job{Host: "example.test", Sender: "s@example.org", Recipients: []string{"a@example.test"}, Message: m}
}

// downgraded is text after the downgrade, and its size on the wire.
func downgraded(t *testing.T, text string, utf8 bool) (string, int64) {
	var out bytes.Buffer
	if _, err := downgrade.Downgrade(&out, strings.NewReader(text), downgrade.Options{UTF8Headers: utf8}); err != nil {
		t.Fatal(err)
	}
	var sc message.Scan
	sc.Write(out.Bytes())
	return out.String(), sc.WireSize()
}

// wire is text as "! data" records it: CRLF line ends and the final dot.
func wire(text string) string { return strings.ReplaceAll(text, "\n", "\r\n") + ".\r\n" }

// TestEightBitDecision: the table of docs/downgrade.md against scripted servers. Downgraded
// text goes out without BODY=8BITMIME and with the SIZE of the downgraded bytes; text sent as
// is keeps its size and declares BODY=8BITMIME only where offered.
func TestEightBitDecision(t *testing.T) {
	down, downSize := downgraded(t, eightBitText, false)
	asIsSize := int64(len(eightBitText) + strings.Count(eightBitText, "\n"))
	seven := "Subject: plain\n\nascii only\n"
	tests := []struct {
		name   string
		mode   EightBit
		ext    string // the server's extensions after SIZE
		text   string
		mail   string // the MAIL FROM line expected
		arrive string // the text expected at the server
	}{
		{"no 8BITMIME: downgraded", EightBitDowngrade, "", eightBitText, fmt.Sprintf("MAIL FROM:<s@example.org> SIZE=%d", downSize), down},
		{"8BITMIME: as is", EightBitDowngrade, "8BITMIME", eightBitText, fmt.Sprintf("MAIL FROM:<s@example.org> SIZE=%d BODY=8BITMIME", asIsSize), eightBitText},
		{"-7 with 8BITMIME: downgraded", SevenBitOnly, "8BITMIME", eightBitText, fmt.Sprintf("MAIL FROM:<s@example.org> SIZE=%d", downSize), down},
		{"-7, 7-bit message: unchanged", SevenBitOnly, "8BITMIME", seven, fmt.Sprintf("MAIL FROM:<s@example.org> SIZE=%d", len(seven)+3), seven},
		{"-8 without 8BITMIME: as is", EightBitAsIs, "", eightBitText, fmt.Sprintf("MAIL FROM:<s@example.org> SIZE=%d", asIsSize), eightBitText},
		{"-8 with 8BITMIME: as is", EightBitAsIs, "8BITMIME", eightBitText, fmt.Sprintf("MAIL FROM:<s@example.org> SIZE=%d BODY=8BITMIME", asIsSize), eightBitText},
	}
	if down == eightBitText || strings.ContainsFunc(down, func(r rune) bool { return r >= 0x80 }) {
		t.Fatalf("the downgrade of the test message is not 7-bit:\n%s", down)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ext := "< 250-mx\n< 250 SIZE 1000000\n"
			if tt.ext != "" {
				ext = "< 250-mx\n< 250-SIZE 1000000\n< 250 " + tt.ext + "\n"
			}
			srv := smtptest.Start(t, "< 220 mx\n> EHLO helo.test\n"+ext+"> "+tt.mail+"\n< 250 ok\n> RCPT TO:<a@example.test>\n< 250 ok\n> DATA\n< 354 go\n! data\n< 250 2.0.0 ok\n> QUIT")
			res := bodyEngine(srv, tt.mode).Deliver(t.Context(), bodyJob(t, tt.text))
			if res.Recipients[0].Status != outcome.Delivered {
				t.Fatalf("outcome %+v", res.Recipients[0])
			}
			if got := srv.Data(); len(got) != 1 || string(got[0]) != wire(tt.arrive) {
				t.Errorf("the server got\n%q\nwant\n%q", got, wire(tt.arrive))
			}
		})
	}
}

// fromUTF8 has a UTF-8 display name in From: no encoded-word is made there, so without SMTPUTF8
// the downgrade refuses it (5.6.9).
const fromUTF8 = "From: J\xc3\xbcrgen <j@example.org>\nSubject: x\nContent-Type: text/plain; charset=utf-8\n\nb\xc3\xa4d\n"

// TestDowngradeRefused: a message whose header needs 8 bits fails permanently with 5.6.9 before
// MAIL FROM when the server lacks SMTPUTF8; the session is left in step (QUIT, no RSET needed).
// With SMTPUTF8 at the server the field goes as it is and SMTPUTF8 is declared.
func TestDowngradeRefused(t *testing.T) {
	srv := smtptest.Start(t, "< 220 mx\n> EHLO helo.test\n< 250-mx\n< 250 PIPELINING\n> QUIT")
	res := bodyEngine(srv, EightBitDowngrade).Deliver(t.Context(), bodyJob(t, fromUTF8))
	o := res.Recipients[0]
	if o.Status != outcome.Failed || o.DSN != "5.6.9" || !strings.Contains(o.Local, "field from") {
		t.Fatalf("outcome %+v", o)
	}

	down, size := downgraded(t, fromUTF8, true)
	srv = smtptest.Start(t, "< 220 mx\n> EHLO helo.test\n< 250-mx\n< 250-SIZE\n< 250-8BITMIME\n< 250 SMTPUTF8\n"+
		fmt.Sprintf("> MAIL FROM:<s@example.org> SIZE=%d SMTPUTF8\n", size)+
		"< 250 ok\n> RCPT TO:<a@example.test>\n< 250 ok\n> DATA\n< 354 go\n! data\n< 250 2.0.0 ok\n> QUIT")
	res = bodyEngine(srv, SevenBitOnly).Deliver(t.Context(), bodyJob(t, fromUTF8))
	if res.Recipients[0].Status != outcome.Delivered {
		t.Fatalf("with SMTPUTF8: %+v", res.Recipients[0])
	}
	if got := srv.Data(); len(got) != 1 || string(got[0]) != wire(down) || !strings.Contains(down, "From: J\xc3\xbcrgen") {
		t.Errorf("the server got %q", got)
	}
}

// TestDowngradeMalformed: 8-bit bytes in a part declared base64 cannot be downgraded: 5.6.3.
func TestDowngradeMalformed(t *testing.T) {
	srv := smtptest.Start(t, "< 220 mx\n> EHLO helo.test\n< 250 mx\n> QUIT")
	res := bodyEngine(srv, EightBitDowngrade).Deliver(t.Context(), bodyJob(t, "Content-Transfer-Encoding: base64\n\n\xff\xfe\n"))
	if o := res.Recipients[0]; o.Status != outcome.Failed || o.DSN != "5.6.3" {
		t.Fatalf("outcome %+v", o)
	}
}

// dataHook is a connection that calls hook once, just before it writes DATA.
type dataHook struct {
	net.Conn
	hook func()
}

func (d *dataHook) Write(p []byte) (int, error) {
	if d.hook != nil && bytes.Contains(p, []byte("DATA\r\n")) {
		d.hook()
		d.hook = nil
	}
	return d.Conn.Write(p)
}

// TestDowngradeCutOff: when the second run of the downgrade fails during DATA (here the message
// file changed after the first run), the text is cut off: no final dot, no QUIT, the connection
// closed, and the message deferred 4.3.0, never delivered.
func TestDowngradeCutOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(path, []byte(eightBitText), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := message.Read(f, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t, "< 220 mx\n> EHLO helo.test\n< 250-mx\n< 250 PIPELINING\n"+
		"> MAIL FROM:<s@example.org>\n> RCPT TO:<a@example.test>\n> DATA\n< 250 ok\n< 250 ok\n< 354 go\n! expect-eof")
	e := bodyEngine(srv, EightBitDowngrade)
	e.Dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		c, err := nd.DialContext(ctx, "tcp", srv.Addr())
		if err != nil {
			return nil, err
		}
		return &dataHook{Conn: c, hook: func() {
			if err := os.WriteFile(path, []byte(eightBitText+"more\n"), 0o644); err != nil {
				t.Error(err)
			}
		}}, nil
	}
	res := e.Deliver(t.Context(), &Job{Host: "example.test", Sender: "s@example.org", Recipients: []string{"a@example.test"}, Message: m})
	if o := res.Recipients[0]; o.Status != outcome.Deferred || o.DSN != "4.3.0" || o.DuplicateRisk {
		t.Fatalf("outcome %+v", o)
	}
}
