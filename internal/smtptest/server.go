package smtptest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// defaultTimeout is Options.Timeout when zero.
const defaultTimeout = 10 * time.Second

// grace is how long the cleanup waits for scripts to see a client's close
// before it closes the connections itself.
const grace = time.Second

// Options configures StartOpts. The zero value is ready to use.
type Options struct {
	// TLS is the server configuration for "! starttls" and "! tls". Nil means a
	// certificate for mx.example.test issued by a throwaway CA that no client
	// trusts (make one with NewCert to verify).
	TLS *tls.Config
	// Conns is how many connections to accept. Connection i plays script i;
	// when Conns exceeds the number of scripts, the last script is played by
	// the remaining connections. Zero means one per script. A connection beyond
	// Conns is closed at once and fails the test.
	Conns int
	// Timeout bounds every wait for the client: a read of a > line (and each
	// read of "! data", "! read" and "! expect-eof"), every write, and the TLS
	// handshake. Zero means 10s. A pipelining test that expects a waiting client
	// fails after this long, so such tests set it short.
	Timeout time.Duration
}

// Server is a listening scripted server. Its methods are safe for concurrent
// use. The cleanup registered by Start closes it; there is no Close method.
type Server struct {
	t       testing.TB
	ln      net.Listener
	timeout time.Duration
	tlsConf *tls.Config
	scripts [][]step // one per accepted connection
	ended   chan struct{}
	settled chan struct{} // closed on the first failure or when all scripts finished
	wg      sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	settleDone bool
	accepted   int
	received   []byte
	data       [][]byte
	failures   []error
	slots      []slot
}

// slot is the state of one scripted connection.
type slot struct {
	started, finished bool
	conn              net.Conn // the TCP connection, for the cleanup to close
	quick             bool     // stalled or lingering: close at once when the test ends
}

// failure is one thing that went wrong, with where it happened.
type failure struct {
	conn int    // 1-based connection number
	line int    // script line, 0 when not tied to one
	src  string // the directive at line
	err  error
}

func (f *failure) Error() string {
	if f.conn == 0 {
		return fmt.Sprintf("smtptest: %v", f.err)
	}
	if f.line == 0 {
		return fmt.Sprintf("smtptest: connection %d: %v", f.conn, f.err)
	}
	return fmt.Sprintf("smtptest: connection %d: script line %d (%s): %v", f.conn, f.line, f.src, f.err)
}

func (f *failure) Unwrap() error { return f.err }

// Start listens on 127.0.0.1:0 and plays script on the first connection, with
// zero Options. A malformed script fails the test at once (t.Fatalf). See
// StartOpts for what the cleanup checks.
func Start(t testing.TB, script string) *Server {
	t.Helper()
	return StartOpts(t, Options{}, script)
}

// StartOpts listens on 127.0.0.1:0 and plays scripts, one per connection in
// the order the connections arrive; connections are played concurrently. It
// registers a t.Cleanup that closes the listener and every connection, waits
// for all of the server's goroutines, and fails the test (t.Errorf) for every
// mismatch (with its script line), every script that did not reach its last
// directive, every unscripted connection, and every connection the client
// left open after its script ended. Bad scripts or options fail the test at
// once with t.Fatalf, so StartOpts must be called from the test goroutine.
func StartOpts(t testing.TB, o Options, scripts ...string) *Server {
	t.Helper()
	parsed, usesTLS, err := parseAll(scripts, o.Conns)
	if err != nil {
		t.Fatalf("%v", err)
	}
	s := &Server{t: t, timeout: o.Timeout, tlsConf: o.TLS, scripts: parsed,
		ended: make(chan struct{}), settled: make(chan struct{}), slots: make([]slot, len(parsed))}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	if usesTLS && s.tlsConf == nil {
		s.tlsConf = &tls.Config{Certificates: []tls.Certificate{NewCert(t, "mx.example.test").Leaf}}
	}
	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	t.Cleanup(s.cleanup)
	s.wg.Add(1)
	go s.accept()
	return s
}

// parseAll parses the scripts and lays them out one per connection.
func parseAll(scripts []string, conns int) (out [][]step, usesTLS bool, err error) {
	if len(scripts) == 0 {
		return nil, false, fmt.Errorf("smtptest: no script")
	}
	if conns < 0 || (conns > 0 && conns < len(scripts)) {
		return nil, false, fmt.Errorf("smtptest: Options.Conns is %d but %d scripts were given", conns, len(scripts))
	}
	for i, src := range scripts {
		steps, err := parseScript(src)
		if err != nil {
			return nil, false, fmt.Errorf("smtptest: script %d: %w", i+1, err)
		}
		for _, st := range steps {
			usesTLS = usesTLS || st.kind == opTLS
		}
		out = append(out, steps)
	}
	for len(out) < conns {
		out = append(out, out[len(out)-1])
	}
	return out, usesTLS, nil
}

// Addr returns the listening address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// AddrPort returns the listening address as a netip.AddrPort.
func (s *Server) AddrPort() netip.AddrPort {
	return s.ln.Addr().(*net.TCPAddr).AddrPort()
}

// Received returns a copy of every byte the client sent, over all
// connections in the order they arrived, after TLS decryption (handshake
// records are not included).
func (s *Server) Received() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.received...)
}

// Data returns copies of the bodies read by "! data", in the order they
// completed, in wire form: dot-stuffed, CRLF line ends, the final ".\r\n"
// included.
func (s *Server) Data() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(s.data))
	for i, d := range s.data {
		out[i] = append([]byte(nil), d...)
	}
	return out
}

// Wait returns when every script has run to its end (nil) or as soon as one
// has failed (that failure), or with ctx's error. A script ending in
// "! stall" ends only when its client closes or the test ends. Failures found
// later (bytes after the end of a script) are reported by the cleanup only.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case <-s.settled:
	case <-ctx.Done():
		return fmt.Errorf("smtptest: wait: %w", ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		return s.failures[0]
	}
	return nil
}

// record appends client bytes to Received; false when over maxReceived.
func (s *Server) record(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.received)+len(b) > maxReceived {
		return false
	}
	s.received = append(s.received, b...)
	return true
}

// addData records a body read by "! data".
func (s *Server) addData(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = append(s.data, b)
}

// fail records a failure and wakes Wait.
func (s *Server) fail(f *failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f)
	s.settleLocked()
}

// finish marks connection slot's script as run to its end.
func (s *Server) finish(slot int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slots[slot].finished = true
	for _, sl := range s.slots {
		if !sl.finished {
			return
		}
	}
	s.settleLocked()
}

func (s *Server) settleLocked() {
	if !s.settleDone {
		s.settleDone = true
		close(s.settled)
	}
}

// setQuick marks slot's connection as one the cleanup closes at once
// (stalled or lingering), and closes it now if the cleanup has begun.
func (s *Server) setQuick(slot int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slots[slot].quick = true
	if s.closed {
		s.slots[slot].conn.Close()
	}
}
