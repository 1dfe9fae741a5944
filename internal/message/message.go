package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// MemoryLimit is how much of a piped message is kept in memory before it is spooled to disk.
const MemoryLimit = 1 << 20

// Message is a re-readable message with its scanned facts. It is safe for one reader at a time.
type Message struct {
	Scan
	src  io.ReaderAt
	size int64 // bytes of input (not the wire size)
	file *os.File
}

// Open returns a reader over the whole message from its first byte. Each call starts again.
func (m *Message) Open() io.Reader { return io.NewSectionReader(m.src, 0, m.size) }

// Close releases the spool file, if one was made. The caller's input file is not closed.
func (m *Message) Close() error {
	if m.file != nil {
		return m.file.Close()
	}
	return nil
}

// Read takes the message from r. When r is a regular file it is scanned from its current offset
// and then read in place; otherwise it is copied into memory, or into an unlinked file in tmpdir
// ("" means os.TempDir) once it passes MemoryLimit.
func Read(r io.Reader, tmpdir string) (*Message, error) {
	if f, ok := r.(*os.File); ok {
		if m, err := fromFile(f); m != nil || err != nil {
			return m, err
		}
	}
	m := &Message{}
	buf := &bytes.Buffer{}
	n, err := io.CopyN(io.MultiWriter(buf, &m.Scan), r, MemoryLimit+1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("message: read: %w", err)
	}
	if n <= MemoryLimit {
		m.src, m.size = bytes.NewReader(buf.Bytes()), n
		return m, nil
	}
	return spool(m, buf.Bytes(), r, tmpdir)
}

// fromFile uses a regular file in place. It returns nil, nil for anything else (a pipe, a tty).
func fromFile(f *os.File) (*Message, error) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, nil
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, nil
	}
	m := &Message{src: offsetReader{f, off}, size: fi.Size() - off}
	if m.size < 0 {
		m.size = 0
	}
	if _, err := io.Copy(&m.Scan, io.NewSectionReader(m.src, 0, m.size)); err != nil {
		return nil, fmt.Errorf("message: read: %w", err)
	}
	return m, nil
}

// spool moves a large piped message to an unlinked temporary file.
func spool(m *Message, head []byte, rest io.Reader, tmpdir string) (*Message, error) {
	f, err := os.CreateTemp(tmpdir, "mxout-msg-")
	if err != nil {
		return nil, fmt.Errorf("message: spool: %w", err)
	}
	os.Remove(f.Name()) // unlinked: nothing is left behind, whatever happens to the process
	if _, err := f.Write(head); err != nil {
		f.Close()
		return nil, fmt.Errorf("message: spool: %w", err)
	}
	n, err := io.Copy(io.MultiWriter(f, &m.Scan), rest)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("message: spool: %w", err)
	}
	m.src, m.size, m.file = f, int64(len(head))+n, f
	return m, nil
}

// offsetReader reads a file from a fixed starting offset.
type offsetReader struct {
	f   *os.File
	off int64
}

func (o offsetReader) ReadAt(p []byte, off int64) (int, error) { return o.f.ReadAt(p, o.off+off) }
