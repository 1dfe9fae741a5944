package smtptest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// waitOK waits for every script and fails the test on a script failure.
func waitOK(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

const session = `
< 220 mx.example.test ESMTP
> EHLO client.example.test
< 250-mx.example.test
< 250-PIPELINING
< 250 8BITMIME
>~ MAIL FROM:<a@example\.org>( BODY=8BITMIME)?
< 250 2.1.0 ok
> RCPT TO:<b@example.test>
< 250 2.1.5 ok
> DATA
< 354 go ahead
! data
< 250 2.0.0 queued
> QUIT
< 221 2.0.0 bye
`

// TestSession plays a whole transaction with the real test as reporter: it
// passes only when every line matched and the script ran to its end.
func TestSession(t *testing.T) {
	s := Start(t, session)
	if s.Addr() != s.AddrPort().String() || !s.AddrPort().Addr().IsLoopback() {
		t.Fatalf("Addr %q, AddrPort %v: want the same loopback address", s.Addr(), s.AddrPort())
	}
	c := dial(t, s.Addr())
	c.want("220 mx.example.test ESMTP")
	c.send("EHLO client.example.test\r\n")
	if got := c.reply(); len(got) != 3 || got[2] != "250 8BITMIME" {
		t.Fatalf("EHLO reply: %q", got)
	}
	c.send("MAIL FROM:<a@example.org> BODY=8BITMIME\r\n")
	c.want("250 2.1.0 ok")
	c.send("RCPT TO:<b@example.test>\r\n")
	c.want("250 2.1.5 ok")
	c.send("DATA\r\n")
	c.want("354 go ahead")
	body := "Subject: x\r\n\r\n..dot\r\nbare\r.\r\n.\r\n"
	c.send(body)
	c.want("250 2.0.0 queued")
	c.send("QUIT\r\n")
	c.want("221 2.0.0 bye")
	c.eof() // the server half-closes at the end of the script
	c.close()
	waitOK(t, s)
	if d := s.Data(); len(d) != 1 || string(d[0]) != body {
		t.Errorf("Data: got %q, want [%q]", d, body)
	}
	want := "EHLO client.example.test\r\nMAIL FROM:<a@example.org> BODY=8BITMIME\r\n" +
		"RCPT TO:<b@example.test>\r\nDATA\r\n" + body + "QUIT\r\n"
	if got := string(s.Received()); got != want {
		t.Errorf("Received: got %q, want %q", got, want)
	}
}

// TestWrites checks the bytes each writing directive puts on the wire.
func TestWrites(t *testing.T) {
	many := strings.Repeat("250-x\r\n", 2000) + "250 end\r\n"
	big := "250-x" + strings.Repeat("x", 70000-len("250-x")-2) + "\r\n"
	tests := []struct {
		name, script, want string
	}{
		{"line", "< 220 hi there", "220 hi there\r\n"},
		{"blanks after <", "<\t  220 hi", "220 hi\r\n"},
		{"empty line", "<", "\r\n"},
		{"raw bare LF", `<raw 250-a\n250 b\n`, "250-a\n250 b\n"},
		{"raw partial", `<raw 25`, "25"},
		{"raw escapes", `<raw \x00\\\t\r\xff`, "\x00\\\t\r\xff"},
		{"raw empty", `<raw`, ""},
		{"coalesced", "< 250-a\n<raw b\n< c", "250-a\r\nbc\r\n"},
		{"big", "! big 70000 250-x", big},
		{"big exact", "! big 7 250-x", "250-x\r\n"},
		{"many", "! many 2000 250-x\n< 250 end", many},
		{"drip", "! drip 1ms\n< 250 ok", "250 ok\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Start(t, tt.script)
			c := dial(t, s.Addr())
			var got bytes.Buffer
			if _, err := got.ReadFrom(c.r); err != nil {
				t.Fatalf("read: %v", err)
			}
			c.close()
			if got.String() != tt.want {
				t.Errorf("got %q (%d bytes), want %q (%d bytes)", got.String(), got.Len(), tt.want, len(tt.want))
			}
		})
	}
}

// TestDripIsSlow proves "! drip" spaces the bytes out and "! drip 0" stops it.
func TestDripIsSlow(t *testing.T) {
	s := Start(t, "! drip 50ms\n< 250 ok\n! drip 0\n< 250 fast")
	c := dial(t, s.Addr())
	first, _ := c.r.ReadByte()
	start := time.Now()
	if got := string(first) + c.line(); got != "250 ok\r\n" {
		t.Fatalf("got %q", got)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("the last 7 dripped bytes came in %v; want 7 gaps of 50ms", d)
	}
	start = time.Now()
	c.want("250 fast")
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("undripped reply took %v", d)
	}
	c.eof()
}

// TestPipelining: a script that reads MAIL, RCPT and DATA before replying
// passes a pipelining client and fails one that waits for each reply.
func TestPipelining(t *testing.T) {
	const script = `
< 220 mx.example.test
> MAIL FROM:<a@example.org>
> RCPT TO:<b@example.test>
> DATA
< 250 ok
< 250 ok
< 354 go
! data
< 250 queued
! eof-or-quit
`
	t.Run("pipelined", func(t *testing.T) {
		s := Start(t, script)
		c := dial(t, s.Addr())
		c.want("220 mx.example.test")
		c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
		c.want("250 ok")
		c.want("250 ok")
		c.want("354 go")
		c.send(".\r\n")
		c.want("250 queued")
		c.send("QUIT\r\n")
		c.want("221 2.0.0 smtptest closing")
		c.close()
		waitOK(t, s)
	})
	t.Run("waiting client", func(t *testing.T) {
		s, f := startFake(t, Options{Timeout: 200 * time.Millisecond}, script)
		c := dial(t, s.Addr())
		c.want("220 mx.example.test")
		c.send("MAIL FROM:<a@example.org>\r\n")
		c.eof() // no reply ever comes: the server gave up on line 4 and closed
		c.close()
		err := s.Wait(context.Background())
		if failureAt(err) != 4 || !strings.Contains(err.Error(), "no line from the client within 200ms") {
			t.Errorf("Wait: got %v; want a timeout on line 4", err)
		}
		if errs := f.finish(); len(errs) != 1 {
			t.Errorf("reported %q; want one failure", errs)
		}
	})
}

// TestWaitedForReply: a client that sends the body with DATA, without waiting
// for 354, is caught at the reply line.
func TestWaitedForReply(t *testing.T) {
	const script = `
> DATA
! sleep 20ms
< 354 go
! data
< 250 ok
`
	t.Run("waits", func(t *testing.T) {
		s := Start(t, script)
		c := dial(t, s.Addr())
		c.send("DATA\r\n")
		c.want("354 go")
		c.send("x\r\n.\r\n")
		c.want("250 ok")
		c.close()
		waitOK(t, s)
	})
	for _, split := range []bool{false, true} {
		t.Run("eager", func(t *testing.T) {
			s, f := startFake(t, Options{}, script)
			c := dial(t, s.Addr())
			if split { // two segments: the body arrives during the sleep
				c.send("DATA\r\n")
				c.send("x\r\n.\r\n")
			} else {
				c.send("DATA\r\nx\r\n.\r\n")
			}
			c.eof()
			c.close()
			err := s.Wait(context.Background())
			if failureAt(err) != 4 || !strings.Contains(err.Error(), `sent "x\r\n.\r\n" before the reply to line 2`) {
				t.Errorf("Wait: got %v; want an eager-client failure on line 4", err)
			}
			if errs := f.finish(); len(errs) != 1 {
				t.Errorf("reported %q; want one failure", errs)
			}
		})
	}
}
