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
	br *bufio.Reader
}

// NewReader reads requests from r through a buffer of 1 KiB, the size the reference reads with.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 1024)}
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
	var mid []byte
	var bad bool
	if mid, _, err = r.field(MaxMessID+1, func(i int, b byte) { bad = bad || !messIDByte(i, b) }); err != nil {
		return nil, err
	}
	c.MessID, c.messIDBad = string(mid), bad
	var s []byte
	if s, c.senderLong, err = r.field(MaxAddress, nil); err != nil {
		return nil, err
	}
	c.Sender = string(s)
	if s, c.recipientLong, err = r.field(MaxAddress, nil); err != nil {
		return nil, err
	}
	c.Recipient = string(s)
	return c, nil
}

// field reads up to and including the next NUL. It keeps the first keep bytes and reports whether
// it skipped any; each, when set, sees every byte with its position.
func (r *Reader) field(keep int, each func(i int, b byte)) (val []byte, skipped bool, err error) {
	for i := 0; ; i++ {
		b, err := r.br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = ErrPartial
			}
			return nil, false, err
		}
		if b == 0 {
			return val, skipped, nil
		}
		if each != nil {
			each(i, b)
		}
		if len(val) < keep {
			val = append(val, b)
		} else {
			skipped = true
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
