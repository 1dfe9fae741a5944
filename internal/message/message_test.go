package message

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScan(t *testing.T) {
	tests := []struct {
		in      string
		size    int64
		eight   bool
		partial bool
	}{
		{"", 0, false, false},
		{"a\n", 3, false, false},
		{"a\r\n", 3, false, false},
		{"a\nb\r\nc\n", 9, false, false},
		{"abc", 3, false, true},
		{"abc\r", 5, false, false},
		{"a\rb\n", 6, false, false},    // a lone CR becomes CRLF (decision 11)
		{"a\r\r\n", 5, false, false},   // a lone CR, then a CRLF kept
		{"\r\r", 4, false, false},      // two lone CRs, the last one final
		{"a\r.\nb\n", 9, false, false}, // "a\r\n.\r\nb\r\n" without dot-stuffing
		{"\r\n\r\n", 4, false, false},  // CRLFs kept
		{"x\ry", 4, false, true},       // lone CR, then a partial line
		{"\xc3\xa9\n", 4, true, false},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 2, 100} {
			var s Scan
			for p := []byte(tt.in); len(p) > 0; {
				n := min(chunk, len(p))
				s.Write(p[:n])
				p = p[n:]
			}
			if s.WireSize() != tt.size || s.EightBit != tt.eight || s.Partial() != tt.partial {
				t.Errorf("%q/%d: size %d eight %v partial %v", tt.in, chunk, s.WireSize(), s.EightBit, s.Partial())
			}
		}
	}
}

func TestReadPipeAndFile(t *testing.T) {
	small := "Subject: x\n\nhello\n"
	m, err := Read(strings.NewReader(small), "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // re-readable
		b, _ := io.ReadAll(m.Open())
		if string(b) != small {
			t.Fatalf("read %d: %q", i, b)
		}
	}
	big := strings.Repeat("line of text\n", MemoryLimit/13+100)
	m, err = Read(io.MultiReader(strings.NewReader(big)), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.file == nil {
		t.Error("large piped message not spooled to a file")
	}
	b, _ := io.ReadAll(m.Open())
	if !bytes.Equal(b, []byte(big)) || m.size != int64(len(big)) {
		t.Errorf("spooled message differs (%d bytes)", len(b))
	}

	path := filepath.Join(t.TempDir(), "msg")
	os.WriteFile(path, []byte("skip\nbody\n"), 0o600)
	f, _ := os.Open(path)
	defer f.Close()
	f.Seek(5, io.SeekStart) // stdin may come with an offset; the message starts there
	m, err = Read(f, "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(m.Open())
	if string(b) != "body\n" || m.WireSize() != 6 || m.file != nil {
		t.Errorf("file message: %q size %d", b, m.WireSize())
	}
}

// TestChangedFile: a message file that changes after it was scanned is not read to its end.
func TestChangedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(path, []byte("Subject: x\n\nbody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := Read(f, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(m.Open()); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}
	if err := os.WriteFile(path, []byte("Subject: x\n\nbody, longer now\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(m.Open()); !errors.Is(err, ErrChanged) {
		t.Fatalf("changed file: %v, want ErrChanged", err)
	}
}

// TestOpenFile: a small file is read once and kept open for the change check; a missing file,
// a directory and a changed file are refused.
func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m")
	text := "Subject: x\n\n\xe9t\xe9\n.dot\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(m.Open())
	if err != nil || string(got) != text || !m.EightBit || m.Partial() {
		t.Fatalf("read %q, %v; eight-bit %v", got, err, m.EightBit)
	}
	if err := os.WriteFile(path, []byte(text+"more\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(m.Open()); !errors.Is(err, ErrChanged) {
		t.Errorf("after a change: %v, want ErrChanged", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := OpenFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := OpenFile(dir); err == nil {
		t.Error("a directory was taken for a message")
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if m, err := OpenFile(empty); err != nil || m.WireSize() != 0 {
		t.Errorf("empty file: %v", err)
	}
}

// TestScanBinary: a NUL or a line over 998 bytes (CR and LF not counted, however the text is
// split into writes) is what 8BITMIME cannot carry; a line of exactly 998 bytes is not.
func TestScanBinary(t *testing.T) {
	line := func(n int, end string) string { return strings.Repeat("a", n) + end }
	tests := []struct {
		text string
		want bool
	}{
		{"short\n", false},
		{line(998, "\n"), false},
		{line(998, "\r\n"), false},
		{line(999, "\n"), true},
		{line(999, "\r\n"), true},
		{"x\n" + line(999, ""), true},
		{"a\x00b\n", true},
		{"8-bit \xe4 is not binary\n", false},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 7, 1000, 1 << 20} {
			var s Scan
			for p := []byte(tt.text); len(p) > 0; {
				n := min(chunk, len(p))
				s.Write(p[:n])
				p = p[n:]
			}
			if s.Binary != tt.want {
				t.Errorf("%.20q (%d bytes) in writes of %d: Binary %v, want %v", tt.text, len(tt.text), chunk, s.Binary, tt.want)
			}
		}
	}
}
