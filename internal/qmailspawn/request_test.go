package qmailspawn

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReaderSplitAndJoined(t *testing.T) {
	var wire []byte
	wire = Append(wire, 0, "12/345", "s@example.org", "a@example.test")
	wire = Append(wire, 7, "1/2", "", "b@example.test")
	wire = Append(wire, 255, "", "x", "")
	want := []Command{
		{Delnum: 0, MessID: "12/345", Sender: "s@example.org", Recipient: "a@example.test"},
		{Delnum: 7, MessID: "1/2", Sender: "", Recipient: "b@example.test"},
		{Delnum: 255, MessID: "", Sender: "x", Recipient: ""},
	}
	for name, r := range map[string]io.Reader{
		"joined":      bytes.NewReader(wire),
		"byte a read": iotest.OneByteReader(bytes.NewReader(wire)),
		"half reads":  iotest.HalfReader(bytes.NewReader(wire)),
	} {
		t.Run(name, func(t *testing.T) {
			rd := NewReader(r)
			for i, w := range want {
				c, err := rd.Next()
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if *c != w {
					t.Errorf("request %d: got %+v, want %+v", i, *c, w)
				}
			}
			if _, err := rd.Next(); err != io.EOF {
				t.Errorf("after the last request: %v, want io.EOF", err)
			}
		})
	}
}

func TestReaderPartialRequest(t *testing.T) {
	for _, wire := range []string{"\x00", "\x001/2", "\x001/2\x00s", "\x001/2\x00s\x00r"} {
		_, err := NewReader(strings.NewReader(wire)).Next()
		if !errors.Is(err, ErrPartial) {
			t.Errorf("%q: %v, want ErrPartial", wire, err)
		}
	}
}

func TestReaderBounds(t *testing.T) {
	long := strings.Repeat("9", MaxMessID+50) + "x" // the bad byte lies in the skipped part
	wire := Append(nil, 1, long, strings.Repeat("s", MaxAddress+1), strings.Repeat("r", MaxAddress))
	c, err := NewReader(bytes.NewReader(wire)).Next()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.MessID) != MaxMessID+1 || !c.messIDBad {
		t.Errorf("messid kept %d bytes, bad=%v; want %d, true", len(c.MessID), c.messIDBad, MaxMessID+1)
	}
	if len(c.Sender) != MaxAddress || !c.senderLong {
		t.Errorf("sender kept %d bytes, long=%v", len(c.Sender), c.senderLong)
	}
	if len(c.Recipient) != MaxAddress || c.recipientLong {
		t.Errorf("recipient of exactly MaxAddress bytes: kept %d, long=%v", len(c.Recipient), c.recipientLong)
	}
}

// endless is a request whose recipient never ends: n bytes of 'a'.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), e.n)
	for i := range p[:k] {
		p[i] = 'a'
	}
	e.n -= k
	return k, nil
}

func TestReaderMemoryBounded(t *testing.T) {
	// 64 MiB of one recipient, then its NUL: the reader must not hold it.
	const size = 64 << 20
	in := io.MultiReader(strings.NewReader("\x001/2\x00s\x00"), &endless{size}, strings.NewReader("\x00"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c, err := NewReader(in).Next()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got := Check(c, 255, func(byte) bool { return false }); got != ReportRecipientTooLong {
		t.Errorf("report %q, want %q", got, ReportRecipientTooLong)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("reading a %d-byte recipient allocated %d bytes", size, alloc)
	}
}
