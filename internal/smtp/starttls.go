package smtp

import (
	"context"
	"crypto/tls"
	"errors"
)

// ErrTLS: the TLS handshake failed (a protocol error or a peer that did not verify). The
// cause is wrapped; crypto/tls and the verifier's errors can be found with errors.Is/As.
var ErrTLS = errors.New("smtp: tls handshake failed")

// StartTLS upgrades the session (RFC 3207 §4): it sends STARTTLS, requires 220 and runs the
// handshake with cfg under the phase deadline. On success the caller must send EHLO again: the
// server forgets what it announced before TLS (RFC 3207 §4.2), and Extensions is empty until
// then. A reply other than 220 is an *Error with the reply; the connection is still in step and
// in clear. A failed handshake is an *Error wrapping ErrTLS; the client is botched and the
// caller closes it without sending anything more.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) (tls.ConnectionState, error) {
	r, err := c.roundTrip(ctx, PhaseStartTLS, "STARTTLS")
	if err != nil {
		return tls.ConnectionState{}, err
	}
	if r.Code != 220 {
		return tls.ConnectionState{}, c.replyError(PhaseStartTLS, r)
	}
	if c.br.Buffered() > 0 {
		// Bytes after the 220 were sent in clear before the handshake: a server (or a man in the
		// middle) injecting commands (RFC 3207 §6). Nothing read in clear may be used after TLS.
		return tls.ConnectionState{}, c.botch(&Error{Phase: PhaseStartTLS, Peer: c.opt.Peer,
			Err: errors.Join(ErrTLS, errorf("data after the 220 to STARTTLS"))})
	}
	return c.handshake(ctx, cfg)
}

// Handshake runs a TLS handshake from the first byte (implicit TLS, RFC 8314 §3). It must be
// the first call on a new client, before Greeting.
func (c *Client) Handshake(ctx context.Context, cfg *tls.Config) (tls.ConnectionState, error) {
	return c.handshake(ctx, cfg)
}

func (c *Client) handshake(ctx context.Context, cfg *tls.Config) (tls.ConnectionState, error) {
	defer c.begin(ctx)()
	c.phase = PhaseStartTLS
	c.conn.SetDeadline(c.deadline())
	tc := tls.Client(c.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return tls.ConnectionState{}, c.botch(&Error{Phase: PhaseStartTLS, Peer: c.opt.Peer, Err: errors.Join(ErrTLS, err)})
	}
	c.setConn(tc)
	c.ext = Extensions{}
	st := tc.ConnectionState()
	c.trace("C: ", "[TLS "+tls.VersionName(st.Version)+" "+tls.CipherSuiteName(st.CipherSuite)+"]")
	return st, nil
}
