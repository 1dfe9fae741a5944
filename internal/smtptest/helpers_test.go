package smtptest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTB stands in for the test given to Start, so that the failures the
// server reports can themselves be checked. It records Errorf and Fatalf and
// runs its cleanups when finish is called (or, at the latest, when the real
// test ends).
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	fatal    bool
	cleanups []func()
	once     sync.Once
}

func newFake(t *testing.T) *fakeTB {
	f := &fakeTB{TB: t}
	t.Cleanup(func() { f.finish() })
	return f
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
	f.fatal = true
	f.mu.Unlock()
	runtime.Goexit()
}

// finish runs the cleanups (last registered first) once and returns every
// error reported so far.
func (f *fakeTB) finish() []string {
	f.once.Do(func() {
		f.mu.Lock()
		fns := f.cleanups
		f.mu.Unlock()
		for i := len(fns) - 1; i >= 0; i-- {
			fns[i]()
		}
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

// startFake starts a server reporting to a fake; a Fatalf inside StartOpts is
// returned as the fake's errors with a nil server.
func startFake(t *testing.T, o Options, scripts ...string) (*Server, *fakeTB) {
	f := newFake(t)
	done := make(chan *Server)
	go func() {
		var s *Server
		defer func() { done <- s }()
		s = StartOpts(f, o, scripts...)
	}()
	return <-done, f
}

// client is the raw client side of a test: a TCP connection with a deadline
// so that no self-test can hang.
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return &client{t: t, c: c, r: bufio.NewReader(c)}
}

// use switches the client to another connection over the same socket (TLS).
func (c *client) use(nc net.Conn) {
	c.c = nc
	c.r = bufio.NewReader(nc)
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// line reads one line, terminator included.
func (c *client) line() string {
	c.t.Helper()
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read line: got %q, %v", s, err)
	}
	return s
}

// want reads one line and requires it to be s plus CRLF.
func (c *client) want(s string) {
	c.t.Helper()
	if got := c.line(); got != s+"\r\n" {
		c.t.Fatalf("read: got %q, want %q", got, s+"\r\n")
	}
}

// reply reads a whole reply (up to a line whose 4th byte is not '-').
func (c *client) reply() []string {
	c.t.Helper()
	var lines []string
	for {
		l := strings.TrimRight(c.line(), "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines
		}
	}
}

// eof requires the server to have closed its side, with nothing more sent.
func (c *client) eof() {
	c.t.Helper()
	b, err := io.ReadAll(c.r)
	if err != nil || len(b) > 0 {
		c.t.Fatalf("want EOF: got %q, %v", b, err)
	}
}

func (c *client) close() { c.c.Close() }

// failureAt returns the script line of a failure, or -1.
func failureAt(err error) int {
	var f *failure
	if errors.As(err, &f) {
		return f.line
	}
	return -1
}
