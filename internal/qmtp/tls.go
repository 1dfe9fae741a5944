package qmtp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"time"
)

// HandshakeTLS runs the TLS handshake of QMTPS on a new connection: TLS from the first byte, then
// QMTP inside (s/qmail's port 6209). cfg says how the server is verified; that policy is the
// caller's. timeout bounds the handshake (zero: only ctx). On success the caller wraps the
// returned connection with NewClient; on failure it is an *Error in PhaseTLS wrapping ErrTLS and
// the caller closes conn.
func HandshakeTLS(ctx context.Context, conn net.Conn, cfg *tls.Config, peer netip.AddrPort, timeout time.Duration) (*tls.Conn, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, &Error{Phase: PhaseTLS, Peer: peer, Err: errors.Join(ErrTLS, err)}
	}
	return tc, nil
}
