package smtptest

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStall: the server replies nothing more, records what arrives and
// finishes when the client gives up and closes.
func TestStall(t *testing.T) {
	s := Start(t, "< 220 hi\n> EHLO a\n! stall")
	c := dial(t, s.Addr())
	c.want("220 hi")
	c.send("EHLO a\r\n")
	c.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := c.r.ReadByte(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read during stall: %v; want a client timeout", err)
	}
	c.send("QUIT\r\n") // a client giving up may still say goodbye
	c.close()
	waitOK(t, s)
	if got := string(s.Received()); got != "EHLO a\r\nQUIT\r\n" {
		t.Errorf("Received %q", got)
	}
}

// TestStallEndsWithTest: a stalled connection does not hold up the cleanup.
func TestStallEndsWithTest(t *testing.T) {
	s, f := startFake(t, Options{}, "< 220 hi\n! stall")
	c := dial(t, s.Addr())
	c.want("220 hi")
	start := time.Now()
	if errs := f.finish(); len(errs) != 0 {
		t.Errorf("reported %q", errs)
	}
	if d := time.Since(start); d > grace/2 {
		t.Errorf("cleanup took %v with a stalled connection", d)
	}
	c.eof()
}

// TestCloseLingers: after "! close" the client reads everything written
// before, then EOF, never a reset, even when it sent more meanwhile.
func TestCloseLingers(t *testing.T) {
	for i := 0; i < 20; i++ {
		s := Start(t, "< 220 hi\n> EHLO a\n< 250 ok\n! close")
		c := dial(t, s.Addr())
		c.want("220 hi")
		c.send("EHLO a\r\n")
		c.want("250 ok")
		c.sendAny("MAIL FROM:<>\r\nRCPT TO:<b@example.test>\r\n")
		c.eof()
		c.close()
		waitOK(t, s)
	}
}

// TestCloseEndsWait: Wait returns at "! close" even while the client stays.
func TestCloseEndsWait(t *testing.T) {
	s := Start(t, "< 421 bye\n! close")
	c := dial(t, s.Addr())
	waitOK(t, s)
	c.want("421 bye")
	c.eof()
}

// TestExpectEOF accepts a close and a half-close; after a half-close the
// script may still write.
func TestExpectEOF(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		s := Start(t, "> QUIT\n! expect-eof")
		c := dial(t, s.Addr())
		c.send("QUIT\r\n")
		c.close()
		waitOK(t, s)
	})
	t.Run("half-close", func(t *testing.T) {
		s := Start(t, "> QUIT\n! expect-eof\n< 221 bye")
		c := dial(t, s.Addr())
		c.send("QUIT\r\n")
		c.halfClose()
		c.want("221 bye")
		c.eof()
		c.close()
		waitOK(t, s)
	})
}

// TestEOFOrQuit accepts a bare close, or QUIT (answered) then close.
func TestEOFOrQuit(t *testing.T) {
	t.Run("eof", func(t *testing.T) {
		s := Start(t, "< 554 no\n! eof-or-quit")
		c := dial(t, s.Addr())
		c.want("554 no")
		c.close()
		waitOK(t, s)
	})
	t.Run("quit", func(t *testing.T) {
		s := Start(t, "< 554 no\n! eof-or-quit")
		c := dial(t, s.Addr())
		c.want("554 no")
		c.send("quit\r\n")
		c.want("221 2.0.0 smtptest closing")
		c.eof()
		c.close()
		waitOK(t, s)
	})
	t.Run("quit unread", func(t *testing.T) {
		// qmail-remote sends QUIT and leaves without reading the 221.
		s := Start(t, "< 554 no\n! eof-or-quit")
		c := dial(t, s.Addr())
		c.want("554 no")
		c.send("QUIT\r\n")
		c.close()
		waitOK(t, s)
	})
}

// TestPeerGoneOnWrite: a client that hangs up without reading a large reply
// satisfies a script that ends with "! expect-eof".
func TestPeerGoneOnWrite(t *testing.T) {
	s := Start(t, "> EHLO a\n! big 30000000 250-x\n! expect-eof")
	c := dial(t, s.Addr())
	c.send("EHLO a\r\n")
	buf := make([]byte, 64<<10)
	if _, err := c.r.Read(buf); err != nil {
		t.Fatal(err)
	}
	c.close() // with unread data: a reset
	waitOK(t, s)
}

// TestReadN reads raw bytes, CR, LF and NUL included.
func TestReadN(t *testing.T) {
	s := Start(t, "> BDAT 6 LAST\n! read 6\n< 250 ok")
	c := dial(t, s.Addr())
	c.send("BDAT 6 LAST\r\n")
	c.send("a\x00\r\n.\n")
	c.want("250 ok")
	c.close()
	waitOK(t, s)
	if got := string(s.Received()); got != "BDAT 6 LAST\r\na\x00\r\n.\n" {
		t.Errorf("Received %q", got)
	}
}

// TestMultiConn: connections play the scripts in order, the last one is
// repeated up to Conns, and Data and Received span all connections.
func TestMultiConn(t *testing.T) {
	first := "< 421 busy\n! eof-or-quit"
	other := "< 220 ok\n> DATA\n< 354 go\n! data\n< 250 queued\n! eof-or-quit"
	s := StartOpts(t, Options{Conns: 3}, first, other)
	c := dial(t, s.Addr())
	c.want("421 busy")
	c.close()
	for i, body := range []string{"one\r\n.\r\n", "two\r\n.\r\n"} {
		c := dial(t, s.Addr())
		c.want("220 ok")
		c.send("DATA\r\n")
		c.want("354 go")
		c.send(body)
		c.want("250 queued")
		c.close()
		_ = i
	}
	waitOK(t, s)
	d := s.Data()
	if len(d) != 2 || string(d[0]) != "one\r\n.\r\n" || string(d[1]) != "two\r\n.\r\n" {
		t.Errorf("Data %q", d)
	}
	if got := string(s.Received()); got != "DATA\r\none\r\n.\r\nDATA\r\ntwo\r\n.\r\n" {
		t.Errorf("Received %q", got)
	}
}

// TestConcurrentConns: connections are played at the same time, each with
// its own script.
func TestConcurrentConns(t *testing.T) {
	s := StartOpts(t, Options{}, "< 220 first\n> QUIT", "< 220 second\n> QUIT")
	c1 := dial(t, s.Addr())
	c1.want("220 first")
	c2 := dial(t, s.Addr()) // while the first still waits for QUIT
	c2.want("220 second")
	c2.send("QUIT\r\n")
	c1.send("QUIT\r\n")
	c1.close()
	c2.close()
	waitOK(t, s)
}

// TestCleanupNeverHangs: a client that neither reads nor closes cannot hold
// up the end of the test longer than the grace period.
func TestCleanupNeverHangs(t *testing.T) {
	s, f := startFake(t, Options{}, "> EHLO a\n! big 60000000 250-x")
	c := dial(t, s.Addr())
	c.send("EHLO a\r\n")
	time.Sleep(50 * time.Millisecond) // let the server fill the socket buffers
	start := time.Now()
	errs := f.finish()
	if d := time.Since(start); d > 3*grace {
		t.Errorf("cleanup took %v", d)
	}
	if len(errs) != 0 { // the write was the last directive: reached
		t.Errorf("reported %q", errs)
	}
	c.close()
}

// TestAddrIsLoopback: the server only listens on 127.0.0.1.
func TestAddrIsLoopback(t *testing.T) {
	s := Start(t, "! close")
	host, _, err := net.SplitHostPort(s.Addr())
	if err != nil || host != "127.0.0.1" || !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr %q", s.Addr())
	}
	dial(t, s.Addr()).eof()
}

// TestQuitWithoutReading: qmail-remote sends QUIT and leaves without reading
// the 221; a script that writes the 221 anyway still passes.
func TestQuitWithoutReading(t *testing.T) {
	for i := 0; i < 20; i++ {
		s := Start(t, "< 550 no\n> QUIT\n< 221 bye")
		c := dial(t, s.Addr())
		c.want("550 no")
		c.send("QUIT\r\n")
		c.close()
		waitOK(t, s)
	}
}

// TestReset: "! reset" delivers what was written before, then the client's
// writes and reads fail with a reset, never a clean EOF.
func TestReset(t *testing.T) {
	s := Start(t, "> DATA\n< 354 go\n! reset")
	c := dial(t, s.Addr())
	c.send("DATA\r\n")
	waitOK(t, s)
	c.want("354 go") // the reset came after it: the reply still arrives
	var err error
	for i := 0; i < 100 && err == nil; i++ { // the first write may still be taken by the kernel
		_, err = c.c.Write([]byte("message text\r\n"))
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write after reset: %v", err)
	}
	c.close()
}
