package smtp

import (
	"bytes"
	"context"
	"errors"
	"os"
	"time"
)

// pollWindow is how long pending waits for bytes on a connection whose socket cannot be peeked
// without blocking (TLS, or a platform without peekSocket): bytes that already arrived are read
// within it, and a clean session pays it once per message.
const pollWindow = time.Millisecond

// pending reports whether the server has sent bytes that no command asked for and that are not
// read yet: in the read buffer, or waiting on the connection. It does not wait for more to come
// (beyond pollWindow where the socket cannot be peeked). A connection the server closed or reset
// is an error: the caller knows then that nothing it writes will be read.
func (c *Client) pending(ctx context.Context) (bool, error) {
	if c.br.Buffered() > 0 {
		return true, nil
	}
	defer c.begin(ctx)()
	st := peekSocket(c.conn)
	switch st {
	case socketQuiet:
		return false, nil
	case socketReadable: // a read returns at once: bytes, EOF or an error
		c.conn.SetReadDeadline(c.deadline())
	default:
		c.conn.SetReadDeadline(time.Now().Add(pollWindow))
	}
	_, err := c.br.Peek(1)
	switch {
	case err == nil:
		return true, nil
	case st == socketUnknown && errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil:
		return false, nil // nothing within the window
	}
	return false, ctxErr(ctx, err)
}

// unsolicited is the error for bytes the server sent that no command asked for (decision 12):
// the session is out of step, so the client is botched. The Reply quotes what came, after the
// lines of the reply it followed (before, may be nil), with Code 0: it answers nothing.
func (c *Client) unsolicited(p Phase, before []string) *Error {
	b, _ := c.br.Peek(c.br.Buffered())
	r := Reply{Lines: append([]string(nil), before...)}
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		line := string(bytes.TrimSuffix(bytes.TrimSuffix(l, []byte("\n")), []byte("\r")))
		c.trace("S: ", line)
		r.Lines = append(r.Lines, line)
	}
	return c.botch(&Error{Phase: p, Peer: c.opt.Peer, Reply: &r, Err: ErrUnsolicited})
}

// socketState is what a look at the socket, without reading from it, tells.
type socketState int

const (
	socketUnknown  socketState = iota // the connection cannot be peeked (TLS, other platforms)
	socketQuiet                       // nothing to read
	socketReadable                    // a read would return at once: bytes, EOF or an error
)
