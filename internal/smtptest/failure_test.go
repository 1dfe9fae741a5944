package smtptest

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// drain reads until the server closes, ignoring errors: the client side of
// a script that is expected to fail.
func (c *client) drain() { _, _ = io.Copy(io.Discard, c.r) }

// sendAny writes without caring whether the server is still there.
func (c *client) sendAny(s string) { _, _ = io.WriteString(c.c, s) }

func (c *client) halfClose() { c.c.(*net.TCPConn).CloseWrite() }

// TestFailures checks that each kind of client misbehaviour is reported once,
// through the testing.TB given to Start, with the script line that caught it.
func TestFailures(t *testing.T) {
	tests := []struct {
		name   string
		script string
		opts   Options
		client func(c *client) // nil: no connection at all
		line   int             // want this script line; 0: not tied to a line
		want   string          // and this in the message
	}{
		{"wrong line", "< 220 hi\n> EHLO a\n< 250 ok", Options{},
			func(c *client) { c.line(); c.send("HELO a\r\n"); c.drain(); c.close() }, 2, `got "HELO a"`},
		{"regexp", ">~ MAIL FROM:<[a-z]+@x\\.test>", Options{},
			func(c *client) { c.send("MAIL FROM:<A@x.test>\r\n"); c.drain(); c.close() }, 1, "does not match"},
		{"regexp is anchored", ">~ MAIL", Options{},
			func(c *client) { c.send("MAIL FROM:<>\r\n"); c.drain(); c.close() }, 1, "does not match"},
		{"any wants CRLF", "> *", Options{},
			func(c *client) { c.send("QUIT\n"); c.drain(); c.close() }, 1, "bare LF"},
		{"bare LF", "> QUIT", Options{},
			func(c *client) { c.send("QUIT\n"); c.drain(); c.close() }, 1, `got "QUIT" ending in a bare LF`},
		{"EOF", "< 220 hi\n> QUIT\n< 221 bye", Options{},
			func(c *client) { c.line(); c.close() }, 2, "got EOF: the client closed"},
		{"partial line", "> QUIT\n< 221 bye", Options{},
			func(c *client) { c.send("QU"); c.halfClose(); c.drain(); c.close() }, 1, `partial line "QU"`},
		{"line too long", "> *\n< 250 ok", Options{},
			func(c *client) { c.sendAny(strings.Repeat("a", 70000) + "\r\n"); c.drain(); c.close() }, 1, "longer than 65536"},
		{"line timeout", "> QUIT\n< 221 bye", Options{Timeout: 100 * time.Millisecond},
			func(c *client) { c.send("QU"); c.drain(); c.close() }, 1, `no end of line from the client within 100ms after "QU"`},
		{"data EOF", "! data\n< 250 ok", Options{},
			func(c *client) { c.send("abc\r\n"); c.halfClose(); c.drain(); c.close() }, 1, "got EOF after 5 bytes"},
		{"dot after bare LF", "! data\n< 250 ok", Options{},
			func(c *client) { c.send("abc\n.\r\n"); c.halfClose(); c.drain(); c.close() }, 1, "before its final dot"},
		{"data timeout", "! data\n< 250 ok", Options{Timeout: 100 * time.Millisecond},
			func(c *client) { c.send("abc\r\n"); c.drain(); c.close() }, 1, "sent nothing for 100ms after 5 bytes"},
		{"read short", "! read 5\n< 250 ok", Options{},
			func(c *client) { c.send("abc"); c.halfClose(); c.drain(); c.close() }, 1, "got EOF after 3 of 5 bytes"},
		{"expect-eof got bytes", "! expect-eof", Options{},
			func(c *client) { c.send("QUIT\r\n"); c.drain(); c.close() }, 1, `got "QUIT\r\n", want EOF`},
		{"expect-eof timeout", "! expect-eof", Options{Timeout: 100 * time.Millisecond},
			func(c *client) { c.drain(); c.close() }, 1, "did not close the connection within 100ms"},
		{"eof-or-quit got RSET", "! eof-or-quit", Options{},
			func(c *client) { c.send("RSET\r\n"); c.drain(); c.close() }, 1, `got "RSET", want QUIT or EOF`},
		{"eof-or-quit then more", "! eof-or-quit", Options{},
			func(c *client) { c.send("QUIT\r\nNOOP\r\n"); c.drain(); c.close() }, 1, `got "NOOP\r\n", want EOF`},
		{"after the end", "< 220 hi", Options{},
			func(c *client) { c.line(); c.send("EHLO a\r\n"); c.drain(); c.close() }, 0, `sent "EHLO a\r\n" after the end of the script (line 1 was the last)`},
		{"bytes before handshake", "> STARTTLS\n! starttls\n> EHLO a", Options{},
			func(c *client) { c.send("STARTTLS\r\nEHLO a\r\n"); c.drain(); c.close() }, 2, `sent "EHLO a\r\n" before the TLS handshake`},
		{"handshake fails", "! tls\n> QUIT", Options{},
			func(c *client) { c.send("HELLO\r\n"); c.drain(); c.close() }, 1, "tls handshake failed"},
		{"unfinished", "< 220 hi\n> EHLO a\n< 250 ok\n> QUIT", Options{},
			func(c *client) { c.line() }, 2, "the test ended while this line was running"},
		{"left open", "< 220 hi", Options{},
			func(c *client) { c.line(); c.drain() }, 0, "left the connection open after the script ended"},
		{"never arrived", "< 220 hi", Options{}, nil, 0, "no connection arrived for this script"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, f := startFake(t, tt.opts, tt.script)
			var c *client
			if tt.client != nil {
				c = dial(t, s.Addr())
				tt.client(c)
			}
			errs := f.finish()
			if c != nil {
				c.close()
			}
			if len(errs) != 1 || !strings.Contains(errs[0], tt.want) {
				t.Fatalf("reported %q; want one failure containing %q", errs, tt.want)
			}
			if got := failureAt(s.failures[0]); got != tt.line {
				t.Errorf("failure %q is on line %d; want %d", errs[0], got, tt.line)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := s.Wait(ctx); err == nil || err.Error() != errs[0] {
				t.Errorf("Wait: got %v; want the reported failure", err)
			}
		})
	}
}

// TestLastDirectiveReached: a script interrupted by the end of the test on its
// last directive counts as finished.
func TestLastDirectiveReached(t *testing.T) {
	for _, script := range []string{"< 220 hi\n> QUIT", "< 220 hi\n! stall", "< 220 hi\n! sleep 1h"} {
		s, f := startFake(t, Options{}, script)
		c := dial(t, s.Addr())
		c.want("220 hi")
		if errs := f.finish(); len(errs) != 0 {
			t.Errorf("%q: reported %q; want nothing", script, errs)
		}
		c.close()
	}
}

// TestUnexpectedConnection: a connection beyond Conns is closed at once and
// fails the test.
func TestUnexpectedConnection(t *testing.T) {
	s, f := startFake(t, Options{}, "! close")
	c1 := dial(t, s.Addr())
	c1.eof()
	c2 := dial(t, s.Addr())
	c2.drain()
	c1.close()
	c2.close()
	errs := f.finish()
	if len(errs) != 1 || !strings.Contains(errs[0], "connection 2: unexpected connection: only 1 were scripted") {
		t.Errorf("reported %q; want one unexpected connection", errs)
	}
}

// TestBadScripts: a malformed script or bad options stop the test at once.
func TestBadScripts(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		scripts []string
		want    string
	}{
		{"no script", Options{}, nil, "no script"},
		{"empty", Options{}, []string{"# nothing\n\n"}, "script 1: no directives"},
		{"unknown", Options{}, []string{"< 220 hi", "< 220\n! frobnicate"}, "script 2: line 2 (! frobnicate): unknown directive"},
		{"conns too few", Options{Conns: 1}, []string{"! close", "! close"}, "Options.Conns is 1 but 2 scripts"},
		{"conns negative", Options{Conns: -1}, []string{"! close"}, "Options.Conns is -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := startFake(t, tt.opts, tt.scripts...)
			if s != nil || !f.fatal {
				t.Fatalf("StartOpts returned %v, fatal %v; want a fatal failure", s, f.fatal)
			}
			if errs := f.finish(); len(errs) != 1 || !strings.Contains(errs[0], tt.want) {
				t.Errorf("reported %q; want %q", errs, tt.want)
			}
		})
	}
}
