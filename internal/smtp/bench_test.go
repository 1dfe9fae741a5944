package smtp_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/sink"
	"github.com/mxout/mxout/internal/smtp"
)

// message4k is a 4 KB message, the size the qmail-remote benchmark script uses.
var message4k = []byte("Subject: bench\n\n" + strings.Repeat(strings.Repeat("x", 75)+"\n", 54))

func startSink(b *testing.B) string {
	srv := &sink.Server{Name: "sink.test"}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return srv.Addr().String()
}

func dialClient(b *testing.B, ctx context.Context, addr string) *smtp.Client {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	c := smtp.NewClient(conn, smtp.Options{Peer: netip.MustParseAddrPort(addr), Timeout: 10 * time.Second})
	if _, err := c.Greeting(ctx); err != nil {
		b.Fatal(err)
	}
	if err := c.Hello(ctx, "bench.test"); err != nil {
		b.Fatal(err)
	}
	return c
}

func transaction(b *testing.B, ctx context.Context, c *smtp.Client) {
	env := smtp.Envelope{From: "s@example.org", To: []string{"a@example.test", "b@example.test"}, Size: int64(len(message4k))}
	if _, err := c.Envelope(ctx, env); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Body(ctx, bytes.NewReader(message4k)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPipelinedTransaction: MAIL, two RCPTs and DATA in one write, a 4 KB text and the
// final reply, repeated on one connection to an in-process sink over loopback.
func BenchmarkPipelinedTransaction(b *testing.B) {
	ctx := context.Background()
	c := dialClient(b, ctx, startSink(b))
	defer c.Close()
	b.ReportAllocs()
	b.SetBytes(int64(len(message4k)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		transaction(b, ctx, c)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSession: what one qmail-remote run costs on the wire: connect, greeting, EHLO, the
// pipelined transaction, QUIT.
func BenchmarkSession(b *testing.B) {
	ctx := context.Background()
	addr := startSink(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := dialClient(b, ctx, addr)
		transaction(b, ctx, c)
		c.Quit(ctx)
		c.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
