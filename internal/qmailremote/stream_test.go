package qmailremote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/mxout/mxout/internal/sink"
)

const textLine = "0123456789 the quick brown fox jumps over the lazy dog 0123456789\n"

// repeat reads textLine over and over: with io.LimitReader, a pipe-like input made on the fly.
type repeat struct{ off int }

func (r *repeat) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], textLine[r.off:])
		n += c
		r.off = (r.off + c) % len(textLine)
	}
	return n, nil
}

// TestLargeMessageStreams: a 128 MiB message from a pipe goes through with allocations that do
// not grow with it (the "a 1 GB message must not need 1 GB of RAM", scaled down).
func TestLargeMessageStreams(t *testing.T) {
	srv := &sink.Server{Name: "sink.test"}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	home := control(t, map[string]string{"me": "me.test\n", "smtproutes": "example.test:" + srv.Addr().String() + "\n"})
	const size = (128 << 20) / len(textLine) * len(textLine) // whole lines, about 128 MiB
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var out bytes.Buffer
	Run(context.Background(), []string{"example.test", "s@example.org", "a@example.test"},
		io.LimitReader(&repeat{}, int64(size)), &out, func(k string) string {
			if k == "QMAILHOME" {
				return home
			}
			return ""
		})
	runtime.ReadMemStats(&after)
	wire := size + size/len(textLine) // every LF became CRLF
	if want := fmt.Sprintf("r\x00K127.0.0.1 accepted message.\nRemote host said: 250 2.0.0 ok %d bytes\n\x00", wire); out.String() != want {
		t.Fatalf("report %q, want %q", out.String(), want)
	}
	// The sink runs in this process too; it counts and discards. Everything allocated for the
	// delivery is fixed-size buffers: far below the message size.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("allocated %d MiB for a %d MiB message", grew>>20, size>>20)
	}
}
