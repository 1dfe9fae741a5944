package smtp

import (
	"context"
	"errors"
)

// LMTP (RFC 2033) is SMTP for the last hop into a mail store: the same commands, with three
// differences this file holds. The greeting is answered with LHLO, never EHLO or HELO (§4.1);
// the server must support PIPELINING (§5), so the envelope always goes out in one write unless
// Options.NoPipelining; and after the final dot the server sends one reply per recipient it
// accepted at RCPT, in RCPT order (§4.2), each deciding that recipient alone. Options.LMTP
// turns the first two on; DotReplies reads the replies of the third.

// lhlo sends LHLO. Only 250 is success; there is no fallback, since a server that refuses LHLO
// does not speak LMTP (RFC 2033 §4.1). The extensions it announces are kept as after EHLO.
func (c *Client) lhlo(ctx context.Context, name string) error {
	r, err := c.roundTrip(ctx, PhaseHello, "LHLO "+name)
	if err != nil {
		return err
	}
	if r.Code != 250 {
		return c.replyError(PhaseHello, r)
	}
	c.ext = parseExtensions(r)
	c.esmtp = true
	return nil
}

// LMTP reports whether the client speaks LMTP (Options.LMTP).
func (c *Client) LMTP() bool { return c.opt.LMTP }

// DotReplies sends the final dot queued by SendBody and reads the n replies an LMTP server sends
// after it, one per recipient it accepted at RCPT, in RCPT order (RFC 2033 §4.2). Each reply is
// returned as read, whatever its code: each decides its own recipient, and none makes the others
// fail. A malformed reply is returned too (Code 0); the caller judges it.
//
// err is set only when fewer than n replies could be read. A failed write of the dot is
// PhaseBody and no reply is returned: the server cannot have seen the end of the data. A
// connection lost (or a reply too long, or a timeout) after the dot went out is PhaseDot: the
// replies read until then are returned, and the recipients without one may have been delivered.
// The session is then botched.
func (c *Client) DotReplies(ctx context.Context, n int) ([]Reply, error) {
	if !c.dotQueued {
		return nil, &Error{Phase: PhaseDot, Peer: c.opt.Peer, Err: errors.New("smtp: no final dot was queued")}
	}
	c.dotQueued = false
	if err := c.flush(ctx, PhaseBody); err != nil {
		return nil, err
	}
	replies := make([]Reply, 0, n)
	for len(replies) < n {
		r, err := c.read(ctx, PhaseDot)
		if err != nil {
			return replies, err
		}
		replies = append(replies, r)
	}
	return replies, nil
}
