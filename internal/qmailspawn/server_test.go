package qmailspawn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// queue makes a queue/mess with message 1/1 owned by the test's own uid.
func queue(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "1/1"), []byte("Subject: x\n\nhi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// echo accepts every recipient at once, except "panic@..." which panics.
type echo struct{}

func (echo) Deliver(ctx context.Context, req *Request, done Done) {
	if req.Recipient == "panic@example.test" {
		panic("boom")
	}
	done(Outcome{Output: []byte("r\x00K" + req.Recipient + " " + req.Host + "\x00")})
}

// holding keeps requests until it has n, then ends them in reverse order from another goroutine,
// as a batching engine would.
type holding struct {
	n    int
	mu   sync.Mutex
	held []func()
}

func (h *holding) Deliver(ctx context.Context, req *Request, done Done) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = append(h.held, func() { done(Outcome{Output: []byte("r\x00K" + req.Recipient + "\x00")}) })
	if len(h.held) == h.n {
		held := h.held
		go func() {
			for i := len(held) - 1; i >= 0; i-- {
				held[i]()
			}
		}()
	}
}

// serve runs a Server on pipes; the caller writes requests to the returned writer.
func serve(t *testing.T, srv *Server) (requests io.WriteCloser, reports *bufio.Reader, ended <-chan error) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ch := make(chan error, 1)
	go func() {
		err := srv.Serve(context.Background(), inR, outW)
		outW.Close()
		ch <- err
	}()
	br := bufio.NewReader(outR)
	hello, err := br.ReadByte()
	if err != nil {
		t.Fatal(err)
	}
	if want := max(srv.Concurrency, 0); hello != byte(want) && !(want == 0 && hello == 255) {
		t.Fatalf("hello %d, want %d", hello, want)
	}
	return inW, br, ch
}

func readReports(t *testing.T, br *bufio.Reader) map[byte][]string {
	t.Helper()
	got := map[byte][]string{}
	for {
		d, err := br.ReadByte()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		text, err := br.ReadString(0)
		if err != nil {
			t.Fatalf("report for %d not ended: %q, %v", d, text, err)
		}
		got[d] = append(got[d], text[:len(text)-1])
	}
}

func TestServerReports(t *testing.T) {
	in, out, ended := serve(t, &Server{Deliverer: echo{}, Dir: queue(t), QueueUID: os.Getuid()})
	go func() {
		var wire []byte
		wire = Append(wire, 0, "1/1", "s@example.org", "a@example.test")
		wire = Append(wire, 1, "1/1", "", "panic@example.test")
		wire = Append(wire, 2, "1/9", "s@example.org", "b@example.test")
		wire = Append(wire, 3, "x", "s@example.org", "c@example.test")
		wire = Append(wire, 255, "1/1", "s@example.org", "d@example.test")
		wire = Append(wire, 4, "1/1", "s@example.org", "nohost")
		for _, b := range wire { // one byte per write
			in.Write([]byte{b})
		}
		in.Close()
	}()
	got := readReports(t, out)
	want := map[byte][]string{
		0:   {"Ka@example.test example.test"},
		1:   {ReportCrashed},
		2:   {ReportCannotOpen},
		3:   {ReportMessIDNonNumeric},
		255: {ReportDelnumTooBig},
		4:   {ReportNoHost},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reports\n got %q\nwant %q", got, want)
	}
	if err := <-ended; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestServerHeldRequests(t *testing.T) {
	const n = 20
	srv := &Server{Deliverer: &holding{n: n}, Dir: queue(t), QueueUID: os.Getuid(), Concurrency: n}
	in, out, ended := serve(t, srv)
	go func() {
		for i := range n {
			in.Write(Append(nil, byte(i), "1/1", "s", fmt.Sprintf("r%d@example.test", i)))
		}
		in.Close() // EOF while all n are held: Serve must wait for them
	}()
	got := readReports(t, out)
	for i := range n {
		if want := fmt.Sprintf("Kr%d@example.test", i); len(got[byte(i)]) != 1 || got[byte(i)][0] != want {
			t.Errorf("delnum %d: %q, want [%q]", i, got[byte(i)], want)
		}
	}
	if err := <-ended; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// gate delivers only when released, so a delnum stays in use.
type gate struct{ release chan struct{} }

func (g gate) Deliver(ctx context.Context, req *Request, done Done) {
	<-g.release
	done(Outcome{Output: []byte("r\x00Kdone\x00")})
}

func TestServerDelnumInUseAndReuse(t *testing.T) {
	g := gate{make(chan struct{})}
	in, out, ended := serve(t, &Server{Deliverer: g, Dir: queue(t), QueueUID: os.Getuid()})
	in.Write(Append(nil, 5, "1/1", "s", "a@example.test"))
	in.Write(Append(nil, 5, "1/1", "s", "b@example.test"))
	if d, _ := out.ReadByte(); d != 5 {
		t.Fatalf("delnum %d", d)
	}
	if text, _ := out.ReadString(0); text != ReportDelnumInUse+"\x00" {
		t.Errorf("second request on a busy delnum: %q", text)
	}
	close(g.release)
	out.ReadByte()
	if text, _ := out.ReadString(0); text != "Kdone\x00" {
		t.Errorf("first request: %q", text)
	}
	// Reported, so free again.
	in.Write(Append(nil, 5, "1/1", "s", "c@example.test"))
	in.Close()
	if got := readReports(t, out); len(got[5]) != 1 || got[5][0] != "Kdone" {
		t.Errorf("reused delnum: %q", got)
	}
	<-ended
}

// failingWriter takes the hello byte and fails every later write.
type failingWriter struct {
	mu     sync.Mutex
	writes int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if w.writes == 1 {
		return len(p), nil
	}
	return 0, errors.New("broken pipe")
}

func TestServerWriteErrorEndsAfterInFlight(t *testing.T) {
	g := gate{make(chan struct{})}
	inR, inW := io.Pipe() // never closed by the writer: Serve must end without EOF
	defer inW.Close()
	w := &failingWriter{}
	ended := make(chan error, 1)
	srv := &Server{Deliverer: g, Dir: queue(t), QueueUID: os.Getuid()}
	go func() { ended <- srv.Serve(context.Background(), inR, w) }()
	inW.Write(Append(nil, 0, "1/1", "s", "a@example.test")) // in flight, held by the gate
	inW.Write(Append(nil, 1, "x", "s", "b@example.test"))   // refused: this report's write fails
	select {
	case <-ended:
		t.Fatal("Serve returned with a delivery in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(g.release)
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the write error and the last delivery")
	}
	if w.writes != 2 {
		t.Errorf("%d writes, want 2 (hello, then the failed one)", w.writes)
	}
}

func TestServerHelloFails(t *testing.T) {
	w := &failingWriter{writes: 1}
	err := (&Server{Deliverer: echo{}}).Serve(context.Background(), bytes.NewReader(nil), w)
	if err == nil {
		t.Error("Serve with a broken output: nil error")
	}
}
