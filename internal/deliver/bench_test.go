package deliver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/sink"
)

// benchPool is a pool on an engine whose every destination is the local sink.
func benchPool(b *testing.B, conns int) (*Pool, *sink.Server) {
	srv := &sink.Server{Name: "sink.test"}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	addr := srv.Addr().String()
	e := New(Config{HeloHost: "bench.test", Planner: &route.Planner{},
		Routes: fixedRoute(netip.MustParseAddrPort(addr)),
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}})
	return NewPool(e, PoolOptions{MaxConns: conns, PerDest: conns}), srv
}

// BenchmarkKeptSession: one message after another on one kept, pipelining session: the cost
// of a transaction without connection set-up (allocations per message).
func BenchmarkKeptSession(b *testing.B) {
	p, srv := benchPool(b, 1)
	defer srv.Close()
	defer p.Close()
	text := "Subject: bench\n\n" + strings.Repeat("The quick brown fox jumps over the lazy dog.\n", 90)
	msg, err := message.Read(strings.NewReader(text), "")
	if err != nil {
		b.Fatal(err)
	}
	job := &Job{Host: "bench.test", Sender: "s@example.org", Recipients: []string{"r@bench.test"}, Message: msg}
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res := p.Deliver(context.Background(), job); res.Message.Status != outcome.Delivered {
			b.Fatal(res.Message.Describe())
		}
	}
}

// BenchmarkIdleSessionHeap measures the heap each idle kept session holds: 100 sessions are
// opened and left idle in the pool, and the live heap before and after is compared (target: at
// most 64 KiB per idle connection, in clear).
func BenchmarkIdleSessionHeap(b *testing.B) {
	const n = 100
	for i := 0; i < b.N; i++ {
		p, srv := benchPool(b, n)
		text, _ := message.Read(strings.NewReader("Subject: x\n\nx\n"), "")
		before := liveHeap()
		done := make(chan *Result, n)
		for j := 0; j < n; j++ {
			go func() {
				done <- p.Deliver(context.Background(), &Job{Host: "bench.test", Sender: "s@example.org",
					Recipients: []string{fmt.Sprintf("r%d@bench.test", j)}, Message: text})
			}()
		}
		for j := 0; j < n; j++ {
			if res := <-done; res.Message.Status != outcome.Delivered {
				b.Fatal(res.Message.Describe())
			}
		}
		after := liveHeap()
		opened, _, _ := p.Stats()
		b.ReportMetric(float64(after-before)/float64(opened), "heap-bytes/idle-conn")
		b.ReportMetric(float64(opened), "conns")
		p.Close()
		srv.Close()
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// fixedRoute sends every host to one address.
type fixedRoute netip.AddrPort

func (f fixedRoute) Lookup(string, string) (route.Static, error) {
	ap := netip.AddrPort(f)
	return route.Static{Relay: "sink.test", Addr: ap.Addr(), Port: ap.Port()}, nil
}
