package sink

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Message is one received message: the envelope and the text as it came over DATA (dot-stuffed
// wire form, final dot removed).
type Message struct {
	From string
	To   []string
	Data []byte
}

// Server accepts SMTP connections on a listener until Close.
type Server struct {
	// Name is the host name in the greeting and EHLO reply.
	Name string
	// MaxSize is announced with SIZE; 0 announces SIZE without a limit.
	MaxSize int64
	// OnMessage, when set, receives each message after the final dot and before the 250.
	// When it is nil the text is counted and discarded, so memory does not grow with it.
	OnMessage func(Message)
	// Timeout bounds each read; default 30 s.
	Timeout time.Duration

	ln net.Listener
	wg sync.WaitGroup
}

// Listen starts serving on addr (such as "127.0.0.1:0") in the background.
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.serve()
	return nil
}

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops listening and waits for open sessions to end.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			s.session(conn)
		}()
	}
}

// session runs one SMTP session. Replies are buffered and flushed only when the client has
// nothing more pending, which is what makes pipelining cheap (RFC 2920 §3.2).
func (s *Server) session(conn net.Conn) {
	br := bufio.NewReader(conn)
	bw := bufio.NewWriter(conn)
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	reply := func(line string) {
		bw.WriteString(line + "\r\n")
		if br.Buffered() == 0 {
			bw.Flush()
		}
	}
	reply("220 " + s.Name + " ESMTP mxout sink")
	var msg Message
	for {
		conn.SetReadDeadline(time.Now().Add(timeout))
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(verb, "EHLO "):
			reply(fmt.Sprintf("250-%s\r\n250-PIPELINING\r\n250-SIZE %d\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES", s.Name, s.MaxSize))
		case strings.HasPrefix(verb, "HELO "):
			reply("250 " + s.Name)
		case strings.HasPrefix(verb, "MAIL FROM:"):
			msg = Message{From: path(line[10:])}
			reply("250 2.1.0 sender ok")
		case strings.HasPrefix(verb, "RCPT TO:"):
			msg.To = append(msg.To, path(line[8:]))
			reply("250 2.1.5 recipient ok")
		case verb == "DATA":
			if len(msg.To) == 0 {
				reply("554 5.5.1 no valid recipients")
				continue
			}
			reply("354 go ahead")
			bw.Flush()
			n, data, err := readData(br, s.OnMessage != nil)
			if err != nil {
				return
			}
			msg.Data = data
			if s.OnMessage != nil {
				s.OnMessage(msg)
			}
			reply(fmt.Sprintf("250 2.0.0 ok %d bytes", n))
			msg = Message{}
		case verb == "RSET":
			msg = Message{}
			reply("250 2.0.0 ok")
		case verb == "NOOP":
			reply("250 2.0.0 ok")
		case verb == "QUIT":
			reply("221 2.0.0 bye")
			bw.Flush()
			return
		default:
			reply("502 5.5.2 command not recognized")
		}
	}
}

// path strips the angle brackets and parameters of a MAIL/RCPT argument.
func path(arg string) string {
	arg = strings.TrimSpace(arg)
	if i := strings.IndexByte(arg, '>'); strings.HasPrefix(arg, "<") && i > 0 {
		return arg[1:i]
	}
	return arg
}

var errTooLong = errors.New("sink: message too long")

// readData reads the text up to the line ".", returning its length in wire form without the
// final dot, and the text itself when keep is set (at most 1 GiB).
func readData(br *bufio.Reader, keep bool) (int64, []byte, error) {
	var data bytes.Buffer
	var n int64
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return 0, nil, err
		}
		if string(line) == ".\r\n" {
			return n, data.Bytes(), nil
		}
		n += int64(len(line))
		if keep {
			if data.Len() > 1<<30 {
				return 0, nil, errTooLong
			}
			data.Write(line)
		}
	}
}
