package qmailspawn

import (
	"bufio"
	"errors"
	"io"
)

// Bounds on a request. The reference refuses a messid of 100 bytes or more (its length counts
// the final NUL) and keeps addresses in memory without limit; here an address is refused past
// MaxAddress bytes, and nothing beyond a bound is ever stored: the reader skips to the field's
// NUL, so memory stays bounded whatever qmail-send sends.
const (
	MaxMessID  = 99
	MaxAddress = 8192
)

// Command is one request as qmail-send sent it, before any check. Fields longer than their bound
// are cut: MessID keeps MaxMessID+1 bytes (enough to be refused as too long), Sender and
// Recipient keep MaxAddress bytes and remember that more was skipped.
type Command struct {
	Delnum    byte
	MessID    string
	Sender    string
	Recipient string

	// Set by Reader for the parts it skipped.
	messIDBad     bool // a skipped byte of the messid was not a digit or '/'
	senderLong    bool
	recipientLong bool
}

// Reader reads requests from qmail-send. Requests may arrive split or joined across reads.
type Reader struct {
	br         *bufio.Reader
	maxMessID  int // MaxMessID; smaller in the fuzz target, so short inputs reach every path
	maxAddress int // MaxAddress, likewise
}

// NewReader reads requests from r through a buffer of 1 KiB, the size the reference reads with.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 1024), maxMessID: MaxMessID, maxAddress: MaxAddress}
}

// ErrPartial is returned when the input ends inside a request. Like the reference, the caller
// drops that request without a report: qmail-send is gone.
var ErrPartial = errors.New("qmailspawn: input ended inside a request")

// Next reads one request. At the end of the input it returns io.EOF (between requests) or
// ErrPartial; other read errors are returned as they are. It holds at most one request's bounded
// fields in memory.
func (r *Reader) Next() (*Command, error) {
	d, err := r.br.ReadByte()
	if err != nil {
		return nil, err
	}
	c := &Command{Delnum: d}
	mid, err := r.field(r.maxMessID+1, true)
	if err != nil {
		return nil, err
	}
	c.MessID, c.messIDBad = string(mid.val), mid.bad
	snd, err := r.field(r.maxAddress, false)
	if err != nil {
		return nil, err
	}
	c.Sender, c.senderLong = string(snd.val), snd.skipped
	rcp, err := r.field(r.maxAddress, false)
	if err != nil {
		return nil, err
	}
	c.Recipient, c.recipientLong = string(rcp.val), rcp.skipped
	return c, nil
}

// fieldRead is one field: its first bytes, whether more were skipped, and for a messid whether
// any byte (kept or skipped) breaks the messid rule.
type fieldRead struct {
	val     []byte
	skipped bool
	bad     bool
}

// field reads up to and including the next NUL, keeping the first keep bytes.
func (r *Reader) field(keep int, messid bool) (fieldRead, error) {
	var f fieldRead
	pos := 0
	for {
		chunk, err := r.br.ReadSlice(0)
		data := chunk
		if err == nil {
			data = chunk[:len(chunk)-1] // without the NUL
		}
		if messid {
			for _, b := range data {
				f.bad = f.bad || !messIDByte(pos, b)
				pos++
			}
		}
		take := min(len(data), keep-len(f.val))
		f.val = append(f.val, data[:take]...)
		f.skipped = f.skipped || take < len(data)
		switch {
		case err == nil:
			return f, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return f, ErrPartial
		default:
			return f, err
		}
	}
}

// messIDByte is the reference's rule for the byte at position i of a messid: a digit, or a '/'
// anywhere but first. So "..", a leading '/' and every other name are refused.
func messIDByte(i int, b byte) bool {
	return b >= '0' && b <= '9' || i > 0 && b == '/'
}

// Append appends the wire form of a request to b: what qmail-send writes.
func Append(b []byte, delnum byte, messid, sender, recipient string) []byte {
	b = append(b, delnum)
	b = append(append(b, messid...), 0)
	b = append(append(b, sender...), 0)
	return append(append(b, recipient...), 0)
}
