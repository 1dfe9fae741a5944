// Package smtp is the client side of the SMTP wire: the bounded reply reader, EHLO extension
// parsing, the commands of a mail transaction (pipelined when the server offers it), the
// dot-stuffing body encoder, and the typed errors that say which phase failed and how.
//
// It owns bytes on one connection and nothing else: it knows nothing of DNS, routing, control
// files, TLS policy decisions or report formats. The caller dials, decides what to do with each
// outcome and renders it.
//
// Implemented: RFC 5321 §4.1 (commands), §4.2 (replies, multi-line, bounded), §2.3.8 (no bare
// CR or LF sent), §4.5.2 (transparency), §4.5.3.2 (timeouts, as a per-phase deadline), RFC 1869/5321 §4.1.1.1 (EHLO
// with HELO fallback), RFC 2920 (PIPELINING), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531
// (SMTPUTF8), RFC 2034/3463 (enhanced status codes, parsed from replies).
package smtp
