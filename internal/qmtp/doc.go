// Package qmtp is the client side of the Quick Mail Transfer Protocol (QMTP, version 2 of
// cr.yp.to/proto/qmtp.txt): netstrings, the package of message, sender and recipients, and the
// bounded reader of the one K, Z or D response each recipient gets. Several packages may go over
// one connection, one after the other. QMTPS is the same protocol inside TLS from the first byte
// (s/qmail's port 6209); HandshakeTLS runs that handshake.
//
// It owns bytes on one connection and nothing else: it knows nothing of SMTP, DNS, routing
// (qmtproutes), TLS policy or report formats. The caller dials, decides what each outcome means
// and renders it.
//
// The message goes out in QMTP's LF convention: each CRLF of the input becomes LF, and the
// length in the netstring is counted that way (docs/qmtp.md). Because the length comes first,
// the message must be re-readable: Send reads it twice, once to count and once to send.
package qmtp
