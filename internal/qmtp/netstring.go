package qmtp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxLenDigits bounds the digits of a netstring length the reader accepts, leading zeros
// included, so a stream of digits cannot keep it reading.
const maxLenDigits = 20

// AppendNetstring appends s as a netstring, "len:s," (cr.yp.to/proto/netstrings.txt).
func AppendNetstring(dst, s []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	dst = append(dst, s...)
	return append(dst, ',')
}

// ErrNetstring: the bytes read are not a netstring (no digits, no ':' after them, no final ',').
var ErrNetstring = errors.New("qmtp: malformed netstring")

// ErrTooLong: a netstring announced more than the reader's limit. Nothing of its content was read.
var ErrTooLong = errors.New("qmtp: netstring too long")

// ReadNetstring reads one netstring of at most max content bytes. Leading zeros in the length
// are accepted (as qmail's own readers do) up to a bounded number of digits. EOF before the first
// byte is io.EOF; EOF inside the netstring is io.ErrUnexpectedEOF. A length over max is
// ErrTooLong; anything else that is not a netstring is ErrNetstring.
func ReadNetstring(br *bufio.Reader, max int) ([]byte, error) {
	n, digits := 0, 0
	for {
		c, err := br.ReadByte()
		if err != nil {
			if err == io.EOF && digits > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if c == ':' && digits > 0 {
			break
		}
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("%w: byte %q in the length", ErrNetstring, c)
		}
		digits++
		n = n*10 + int(c-'0')
		if n > max || digits > maxLenDigits {
			return nil, fmt.Errorf("%w: over %d bytes", ErrTooLong, max)
		}
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(br, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if buf[n] != ',' {
		return nil, fmt.Errorf("%w: %q instead of the final comma", ErrNetstring, buf[n])
	}
	return buf[:n], nil
}
