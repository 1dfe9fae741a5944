// Package downgrade turns a message with 8-bit MIME parts into one a 7-bit SMTP channel can
// carry, for a server that does not offer 8BITMIME (RFC 6152) or when the caller forces 7 bits.
//
// Every leaf part holding 8-bit data (or declared 8bit or binary) gets a quoted-printable or
// base64 body (RFC 2045 §6.7, §6.8) and a new Content-Transfer-Encoding field. Multiparts
// (RFC 2046 §5.1) and message/rfc822 (RFC 2046 §5.2.1, which allows no encoding of its own) are
// entered, not encoded. Every other byte is copied as read: 7-bit parts, the delimiter lines,
// header fields and line endings. Header fields with 8-bit bytes need SMTPUTF8 (RFC 6532 §3):
// the unstructured ones are turned into encoded-words (RFC 2047 §5), any other is a permanent
// failure with an enhanced status code (*Error.Code). The message is read once and written as
// it is read; memory is bounded by Options, never by the message.
//
// A downgrade changes the bytes of the parts it touches, so a DKIM signature over them no
// longer verifies (RFC 6376 §5.3 asks signers to encode 8-bit data first for this reason).
//
// The package knows nothing of SMTP sessions: the caller decides when to downgrade. Header
// fields and parameters are parsed by github.com/emersion/go-message; docs/downgrade.md gives
// the decisions and their reasons.
package downgrade
