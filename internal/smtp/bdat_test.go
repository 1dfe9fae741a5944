package smtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chunkServer is the receiving side of BDAT over a pipe: it reads "BDAT n [LAST]" and n bytes,
// answers each chunk with 250 (or refuses the chunk numbered refuse, from 1), and records the
// sizes and the payload.
type chunkServer struct {
	sizes   []int
	last    []bool
	payload bytes.Buffer
	cmds    []string
	err     error
}

func (s *chunkServer) serve(conn net.Conn, refuse int) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil {
			s.err = err
			return
		}
		line = strings.TrimSuffix(line, "\r\n")
		s.cmds = append(s.cmds, line)
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "BDAT" || len(f) > 3 || len(f) == 3 && f[2] != "LAST" {
			s.err = fmt.Errorf("not a BDAT command: %q", line)
			return
		}
		size, err := strconv.Atoi(f[1])
		if err != nil {
			s.err = err
			return
		}
		if _, err := io.CopyN(&s.payload, br, int64(size)); err != nil {
			s.err = err
			return
		}
		s.sizes = append(s.sizes, size)
		s.last = append(s.last, len(f) == 3)
		if n == refuse {
			io.WriteString(conn, "554 5.6.0 no thanks\r\n")
			return
		}
		io.WriteString(conn, "250 2.0.0 chunk "+strconv.Itoa(n)+"\r\n")
		if len(f) == 3 {
			return
		}
	}
}

// chunkClient is a client in the state after an envelope that opened BDAT, on a pipe to srv.
func chunkClient(t testing.TB, srv *chunkServer, pipelining bool, limit, refuse int) (*Client, chan struct{}) {
	// TCP on loopback, not net.Pipe: a pipelining client relies on the socket buffers to hold
	// replies while it writes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.serve(sc, refuse); close(done) }()
	c := NewClient(cc, Options{Timeout: 5 * time.Second})
	c.ext = Extensions{"CHUNKING": ""}
	if pipelining {
		c.ext["PIPELINING"] = ""
	}
	c.chunked, c.chunkLimit = true, limit
	t.Cleanup(func() { cc.Close(); <-done })
	return c, done
}

// normalised is the reference for what BDAT must carry: every CRLF, lone CR and lone LF one CRLF.
func normalised(in string) string {
	in = strings.ReplaceAll(in, "\r\n", "\n")
	in = strings.ReplaceAll(in, "\r", "\n")
	return strings.ReplaceAll(in, "\n", "\r\n")
}

func TestBDATChunks(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		sizes []int
	}{
		{"empty", "", 4, []int{0}},
		{"one chunk", "a\n", 4, []int{3}},
		{"exactly one chunk", "ab\r\n", 4, []int{4}},
		{"leading dots not stuffed", ".\n..\n", 100, []int{7}},
		{"lone CR", "a\rb\n", 100, []int{6}},
		{"full chunks then the rest", "abcdefgh\n", 4, []int{4, 4, 2}},
		{"last chunk full", "abcdef\n", 4, []int{4, 4}},
	}
	for _, pipelining := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/pipelining=%v", tt.name, pipelining), func(t *testing.T) {
				srv := &chunkServer{}
				c, done := chunkClient(t, srv, pipelining, tt.limit, 0)
				want := normalised(tt.in)
				r, err := c.BDAT(context.Background(), strings.NewReader(tt.in), int64(len(want)))
				<-done
				if err != nil || r.Code != 250 {
					t.Fatalf("BDAT: %v %v (server: %v)", r, err, srv.err)
				}
				if srv.payload.String() != want {
					t.Errorf("payload %q, want %q", srv.payload.String(), want)
				}
				if fmt.Sprint(srv.sizes) != fmt.Sprint(tt.sizes) {
					t.Errorf("chunk sizes %v, want %v", srv.sizes, tt.sizes)
				}
				for i, l := range srv.last {
					if l != (i == len(srv.last)-1) {
						t.Errorf("LAST on chunk %d of %d: %v", i+1, len(srv.last), srv.cmds)
					}
				}
			})
		}
	}
}

// TestBDATRefusedChunk: a refused chunk before the last ends the transaction in PhaseData with
// the reply; LAST is never sent, and it is no possible duplicate.
func TestBDATRefusedChunk(t *testing.T) {
	srv := &chunkServer{}
	c, done := chunkClient(t, srv, false, 4, 1)
	_, err := c.BDAT(context.Background(), strings.NewReader("abcdefgh\n"), 0)
	<-done
	var se *Error
	if !errors.As(err, &se) || se.Phase != PhaseData || se.Reply == nil || se.Reply.Code != 554 || se.MaybeDelivered() {
		t.Fatalf("got %v, want a 554 in PhaseData", err)
	}
	for _, l := range srv.last {
		if l {
			t.Fatal("LAST was sent after a refused chunk")
		}
	}
}

// TestBDATSizeMismatch: a text that is not as long as SIZE said is never completed.
func TestBDATSizeMismatch(t *testing.T) {
	srv := &chunkServer{}
	c, _ := chunkClient(t, srv, true, 0, 0)
	_, err := c.BDAT(context.Background(), strings.NewReader("abc\n"), 99)
	if !errors.Is(err, ErrSizeChanged) || !c.Botched() {
		t.Fatalf("got %v, want ErrSizeChanged and a botched client", err)
	}
	c.Close()
	if len(srv.last) > 0 {
		t.Fatalf("a chunk was sent: %v", srv.cmds)
	}
}

// TestBDATPartialLine: as on the DATA path, a text without a final line ending is not sent.
func TestBDATPartialLine(t *testing.T) {
	srv := &chunkServer{}
	c, _ := chunkClient(t, srv, true, 0, 0)
	if _, err := c.BDAT(context.Background(), strings.NewReader("abc"), 0); !errors.Is(err, ErrPartialLine) {
		t.Fatalf("got %v, want ErrPartialLine", err)
	}
}

// FuzzBDAT: whatever the text and the chunk size, the chunks' payload is the normalised text,
// no bare CR or LF reaches the wire, only the last chunk says LAST, and the sizes add up to the
// size declared (the normalised length, as message.Scan.WireSize counts it).
func FuzzBDAT(f *testing.F) {
	for _, s := range []string{"a\n.\n", "a\r.\n", ".\r\n.\n", "\r\r\n", "x\r", "..\n", "a\r\r.\r\n", "\r.\r\n", ""} {
		f.Add(s, uint8(2), false)
	}
	f.Fuzz(func(t *testing.T, in string, limit uint8, pipelining bool) {
		if len(in) > 0 && in[len(in)-1] != '\n' && in[len(in)-1] != '\r' {
			in += "\n" // a partial line is refused before any chunk (TestBDATPartialLine)
		}
		srv := &chunkServer{}
		c, done := chunkClient(t, srv, pipelining, int(limit)+1, 0)
		want := normalised(in)
		_, err := c.BDAT(context.Background(), strings.NewReader(in), int64(len(want)))
		<-done
		if err != nil {
			t.Fatalf("BDAT %q: %v (server: %v)", in, err, srv.err)
		}
		got := srv.payload.String()
		if got != want {
			t.Fatalf("payload of %q: %q, want %q", in, got, want)
		}
		if i := bareCROrLF(got); i >= 0 {
			t.Fatalf("bare CR or LF at %d of %q", i, got)
		}
		total := 0
		for i, n := range srv.sizes {
			total += n
			if srv.last[i] != (i == len(srv.sizes)-1) {
				t.Fatalf("LAST on chunk %d of %d", i+1, len(srv.sizes))
			}
		}
		if total != len(want) {
			t.Fatalf("sizes %v add up to %d, SIZE %d", srv.sizes, total, len(want))
		}
	})
}
