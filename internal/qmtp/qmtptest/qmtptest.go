// Package qmtptest is a scripted QMTP server for tests, on 127.0.0.1. It reads real packages
// (netstrings, bounded) and answers each as its script says, faults included: garbage instead of
// responses, a hang-up before or inside the responses, a server that stops reading or answering.
// It checks the client's framing as it reads and reports any mistake through the test.
package qmtptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/mxout/mxout/internal/qmtp"
)

// Bounds on what the server reads from a client.
const (
	MaxMessage = 64 << 20 // one message netstring
	maxAddress = 4096     // one sender or recipient
	maxRcpts   = 1 << 20  // the recipients netstring
)

// Step is what the server does with one package; a connection plays the whole script from its
// first step. The zero Step reads a package and writes nothing.
type Step struct {
	// Before reading the package:
	HangUp bool // read one byte of it, then close with the rest unread (the client's writes fail)
	Hold   bool // read nothing more, ever: the client's writes fill the buffers and time out

	// After reading the package:
	Respond string // bytes to write: the responses (see K, Z, D), or garbage
	Close   bool   // then close the connection
	Stall   bool   // then neither read nor write again until the test ends
}

// K, Z and D return one response netstring with that status and text.
func K(text string) string { return response('K', text) }

// Z returns a temporary-failure response netstring.
func Z(text string) string { return response('Z', text) }

// D returns a permanent-failure response netstring.
func D(text string) string { return response('D', text) }

func response(status byte, text string) string {
	return string(qmtp.AppendNetstring(nil, append([]byte{status}, text...)))
}

// Package is one package as the server read it.
type Package struct {
	Message    []byte // without the leading LF that says the message uses LF line ends
	Sender     string
	Recipients []string
}

// Server is a running scripted server. Its methods are safe for concurrent use.
type Server struct {
	ln    net.Listener
	steps []Step
	done  chan struct{} // closed at cleanup: ends Hold and Stall
	wg    sync.WaitGroup

	mu    sync.Mutex
	pkgs  []Package
	errs  []error
	conns []net.Conn
}

// Start listens on 127.0.0.1 and serves every connection with steps. Cleanup closes everything and
// fails the test on a malformed package or on a package beyond the script.
func Start(t testing.TB, steps ...Step) *Server { return start(t, nil, steps) }

// StartTLS is Start for QMTPS: TLS from the first byte with cfg.
func StartTLS(t testing.TB, cfg *tls.Config, steps ...Step) *Server { return start(t, cfg, steps) }

func start(t testing.TB, cfg *tls.Config, steps []Step) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	s := &Server{ln: ln, steps: steps, done: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		close(s.done)
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		for _, err := range s.errs {
			t.Errorf("qmtptest: %v", err)
		}
	})
	return s
}

// Addr is the listening address, host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// AddrPort is the listening address.
func (s *Server) AddrPort() netip.AddrPort { return s.ln.Addr().(*net.TCPAddr).AddrPort() }

// Packages returns the packages read so far, from all connections, in order.
func (s *Server) Packages() []Package {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Package(nil), s.pkgs...)
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			if err := s.serve(c); err != nil {
				s.fail(err)
			}
		}()
	}
}

func (s *Server) fail(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

// serve plays the script on one connection. A client that closes between packages ends it
// normally; the steps left are not an error (a client may give up after a failure).
func (s *Server) serve(c net.Conn) error {
	br := bufio.NewReader(c)
	for i, st := range s.steps {
		switch {
		case st.Hold:
			<-s.done
			return nil
		case st.HangUp:
			br.ReadByte()
			return nil
		}
		p, err := ReadPackage(br)
		if errors.Is(err, errFraming) {
			return fmt.Errorf("package %d: %w", i+1, err)
		}
		if err != nil {
			// EOF or a broken connection, between packages or inside one: a client may close
			// before the last byte, and the package is then discarded (qmtp.txt §2).
			return nil
		}
		s.mu.Lock()
		s.pkgs = append(s.pkgs, p)
		s.mu.Unlock()
		if _, err := io.WriteString(c, st.Respond); err != nil && !st.Close {
			return nil // the client went away; its test says whether that was right
		}
		switch {
		case st.Close:
			return nil
		case st.Stall:
			<-s.done
			return nil
		}
	}
	if b, err := br.ReadByte(); err == nil {
		return fmt.Errorf("the client sent more (%q...) after the script's %d packages", b, len(s.steps))
	}
	return nil
}

// errFraming marks a package that is not QMTP, as opposed to a connection that ended.
var errFraming = errors.New("not a QMTP package")

// ReadPackage reads one QMTP package (qmtp.txt §4) within this package's bounds. A package that
// breaks the protocol is an error wrapping errFraming; EOF before its first byte is io.EOF and
// inside it io.ErrUnexpectedEOF.
func ReadPackage(br *bufio.Reader) (Package, error) {
	var p Package
	msg, err := field(br, "message", MaxMessage)
	if err != nil {
		return p, err
	}
	if len(msg) == 0 || msg[0] != '\n' {
		return p, fmt.Errorf("%w: the message does not start with LF (the line-end indicator)", errFraming)
	}
	p.Message = msg[1:]
	sender, err := field(br, "sender", maxAddress)
	if err != nil {
		return p, err
	}
	p.Sender = string(sender)
	rcpts, err := field(br, "recipients", maxRcpts)
	if err != nil {
		return p, err
	}
	rr := bufio.NewReader(bytes.NewReader(rcpts))
	for {
		r, err := qmtp.ReadNetstring(rr, maxAddress)
		if err == io.EOF {
			break
		}
		if err != nil {
			return p, fmt.Errorf("%w: recipient %d: %w", errFraming, len(p.Recipients)+1, err)
		}
		p.Recipients = append(p.Recipients, string(r))
	}
	if len(p.Recipients) == 0 {
		return p, fmt.Errorf("%w: no recipients", errFraming)
	}
	return p, nil
}

// field reads one netstring of a package, marking malformed ones as errFraming.
func field(br *bufio.Reader, name string, max int) ([]byte, error) {
	b, err := qmtp.ReadNetstring(br, max)
	if errors.Is(err, qmtp.ErrNetstring) || errors.Is(err, qmtp.ErrTooLong) {
		return nil, fmt.Errorf("%w: %s: %w", errFraming, name, err)
	}
	if err != nil && name != "message" && err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return b, err
}
