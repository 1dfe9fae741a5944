package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// MemoryLimit is how much of a piped message is kept in memory before it is spooled to disk.
const MemoryLimit = 1 << 20

// Message is a re-readable message with its scanned facts. It is safe for one reader at a time.
type Message struct {
	Scan
	src  io.ReaderAt
	size int64 // bytes of input (not the wire size)
	file *os.File
	// inPlace is the caller's regular file read in place, and what it was when scanned: a
	// file that changes while the message is sent must not be delivered.
	inPlace *os.File
	stamp   os.FileInfo
	owned   bool // inPlace was opened by OpenFile: Close closes it
}

// scanBuffers are the read buffers of fromFile: a transport scans a file per job, and a fresh
// 32 KiB buffer each time was most of its garbage.
var scanBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// ErrChanged: the message file changed (size or modification time) after it was scanned, so
// what was sent is not what was scanned, counted and announced with SIZE.
var ErrChanged = errors.New("message: the file changed while it was being sent")

// Open returns a reader over the whole message from its first byte. Each call starts again.
// For a file read in place, the reader's end checks that the file is still what was scanned
// and fails with ErrChanged if not, before the caller can end the message.
func (m *Message) Open() io.Reader {
	r := io.NewSectionReader(m.src, 0, m.size)
	if m.inPlace == nil {
		return r
	}
	return &checkedReader{r: r, m: m}
}

// checkedReader checks the file at the end of the message.
type checkedReader struct {
	r io.Reader
	m *Message
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		fi, serr := c.m.inPlace.Stat()
		if serr != nil || fi.Size() != c.m.stamp.Size() || !fi.ModTime().Equal(c.m.stamp.ModTime()) {
			return n, ErrChanged
		}
	}
	return n, err
}

// Close releases the spool file, if one was made, and the file OpenFile opened. The caller's
// input file given to Read is not closed.
func (m *Message) Close() error {
	if m.file != nil {
		return m.file.Close()
	}
	if m.owned {
		return m.inPlace.Close()
	}
	return nil
}

// OpenFile reads the message file at path for a delivery (a queue file of mxout transport). A
// file up to MemoryLimit is read into memory in one read and scanned there; a larger one is read
// in place as Read does. Either way the file stays open until Close, and the end of every Open
// reader checks that it did not change since (ErrChanged), so a file rewritten while it is sent
// is never delivered. It costs a handful of system calls: open, fstat, one read, and the fstat
// of that check; the file is opened without registering it with the network poller, which a
// regular file cannot use anyway.
func OpenFile(path string) (*Message, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("message: %s is not a regular file", path)
		}
		return nil, err
	}
	m := &Message{inPlace: f, stamp: fi, owned: true, size: fi.Size()}
	if m.size > MemoryLimit {
		m.src = f
		buf := scanBuffers.Get().(*[]byte)
		defer scanBuffers.Put(buf)
		if _, err := io.CopyBuffer(&m.Scan, io.NewSectionReader(f, 0, m.size), *buf); err != nil {
			f.Close()
			return nil, fmt.Errorf("message: read %s: %w", path, err)
		}
		return m, nil
	}
	data := make([]byte, m.size)
	if _, err := f.ReadAt(data, 0); err != nil && !(err == io.EOF && m.size == 0) {
		f.Close()
		return nil, fmt.Errorf("message: read %s: %w", path, err)
	}
	m.Scan.Write(data)
	m.src = bytes.NewReader(data)
	return m, nil
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
	m := &Message{src: offsetReader{f, off}, size: fi.Size() - off, inPlace: f, stamp: fi}
	if m.size < 0 {
		m.size = 0
	}
	buf := scanBuffers.Get().(*[]byte)
	defer scanBuffers.Put(buf)
	if _, err := io.CopyBuffer(&m.Scan, io.NewSectionReader(m.src, 0, m.size), *buf); err != nil {
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
