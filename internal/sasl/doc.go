// Package sasl holds the client side of the SASL mechanisms mxout offers to SMTP AUTH
// (RFC 4954): PLAIN (RFC 4616), LOGIN (the widespread, never standardised username/password
// exchange), CRAM-MD5 (RFC 2195), SCRAM-SHA-256 (RFC 7677 over RFC 5802) and XOAUTH2 (the
// bearer-token format of Google and Microsoft), and Choose, which picks the strongest one a
// server offers that the credentials and the connection allow.
//
// It owns the bytes inside the exchange and nothing else. A Mechanism works on decoded
// octets: the smtp package does the base64 and the framing of RFC 4954 §4 ("AUTH name
// initial-response", "=" for an empty initial response, "334 challenge" lines, "*" to cancel).
// It knows nothing of connections, replies or report texts; docs/auth.md maps its errors to
// the qmail-remote reports.
//
// Secrets travel as secret.Secret values, which print as "[redacted]" through fmt, slog and %#v, so a
// Credentials can be logged by mistake without leaking the password.
package sasl
