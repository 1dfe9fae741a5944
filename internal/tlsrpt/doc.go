// Package tlsrpt implements the sending side of SMTP TLS Reporting, RFC 8460: it records, per
// policy domain, the TLS sessions that succeeded and failed, and builds the daily aggregate
// report in the RFC's JSON, gzipped, with the file name and the mail message the RFC asks for.
//
// What it owns: the "_smtp._tls" TXT record grammar (RFC 8460 §3), the result types
// (RFC 8460 §4.3), the result store on disk (append-only files, one per UTC day, bounded in
// size), the aggregation into the report schema (RFC 8460 §4.4), the report file name
// (RFC 8460 §5.1) and the report message (RFC 8460 §5.3) as bytes.
//
// What it must not know: how results come about (the delivery engine decides the result type
// of a session; docs/mta-sts.md maps mtasts and DANE failures onto them), how the message is
// sent (mxout's own engine, later), DNS wire details (a TXTResolver answers the TXT question),
// and MTA-STS or DANE themselves.
//
// Not implemented here: sending (mail through the engine, or the HTTPS POST of RFC 8460 §5.4
// with Content-Type application/tlsrpt+gzip), and DKIM signing of report mail, which
// RFC 8460 §5.3 requires of senders and which mxout does not do yet.
package tlsrpt
