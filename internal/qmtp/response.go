package qmtp

import (
	"bufio"
	"errors"
	"fmt"
)

// MaxResponseBytes bounds one response netstring, status byte and text together. A server's
// text is a line or two; memory per connection never grows with what a server sends, and a longer
// response ends the session as a protocol error.
const MaxResponseBytes = 8 << 10

// The status bytes of a response (qmtp.txt §5).
const (
	StatusAccepted  = 'K' // the recipient's delivery is the server's responsibility now
	StatusTemporary = 'Z' // temporary failure: try again later
	StatusPermanent = 'D' // permanent failure: give up
)

// ErrProtocol: the server sent something that is not a QMTP response: not a netstring, too long,
// empty, or a status byte other than K, Z or D. s/qmail reports it as "did not talk proper QMTP".
var ErrProtocol = errors.New("qmtp: server did not talk proper QMTP")

// Response is one recipient's outcome as the server said it.
type Response struct {
	Status byte   // StatusAccepted, StatusTemporary or StatusPermanent
	Text   string // the rest of the response, raw: report formats sanitise it
}

// Accepted reports a K response.
func (r Response) Accepted() bool { return r.Status == StatusAccepted }

// Temporary reports a Z response.
func (r Response) Temporary() bool { return r.Status == StatusTemporary }

// Permanent reports a D response.
func (r Response) Permanent() bool { return r.Status == StatusPermanent }

// String is the response as on the wire, without the netstring framing: "Kok 123", bounded.
func (r Response) String() string {
	s := string(r.Status) + r.Text
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return s
}

// readResponse reads one response netstring (qmtp.txt §5). Errors that say the bytes are not
// QMTP wrap ErrProtocol; I/O errors (io.EOF between responses, io.ErrUnexpectedEOF inside one,
// timeouts) come back as they are.
func readResponse(br *bufio.Reader) (Response, error) {
	b, err := ReadNetstring(br, MaxResponseBytes)
	switch {
	case errors.Is(err, ErrNetstring), errors.Is(err, ErrTooLong):
		return Response{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	case err != nil:
		return Response{}, err
	case len(b) == 0:
		return Response{}, fmt.Errorf("%w: empty response", ErrProtocol)
	}
	switch b[0] {
	case StatusAccepted, StatusTemporary, StatusPermanent:
		return Response{Status: b[0], Text: string(b[1:])}, nil
	}
	return Response{}, fmt.Errorf("%w: status %q", ErrProtocol, b[0])
}
