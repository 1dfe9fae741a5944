// Package tlspolicy decides, for one next hop, what TLS is required and how
// the server is authenticated, and builds the crypto/tls client
// configuration that enforces the decision.
//
// What it owns: the meaning of s/qmail's control/tlsdestinations rules
// (never, opportunistic with or without plaintext fallback, mandatory
// anonymous, CA, CA with wildcard or exact name, certificate pin), merged
// with DANE (RFC 7672 §2.2: usable TLSA records make TLS mandatory and
// authenticate the server; records none of which is usable make TLS
// mandatory without authentication; a failed lookup defers the hop); the
// loading of CA files and directories, OpenSSL cipher strings mapped onto
// Go's suites, and control/domaincerts client certificates; and the
// verification itself, in one tls.Config.VerifyConnection hook for every
// mode, which reports what the session proved (Facts) for the outcome and
// the reports.
//
// What it must not know: how bytes are sent (no SMTP, no dialing, no
// STARTTLS; package smtp does that with the tls.Config), and DNS (the caller
// looks TLSA records up when NeedTLSA says so and passes the result in
// Input.TLSA). Control-file grammars belong to qmailctl, TLSA record matching
// to dane, report wording to report.
//
// Implemented: RFC 7672 §2.2 (TLSA states), RFC 7672 §3.2.2 (reference
// identifiers: the MX host and the next-hop domain), RFC 6125 §6.4.3
// (wildcards, through crypto/x509), RFC 3207 §4 and RFC 8314 §3 only as far
// as choosing STARTTLS or implicit TLS. Not implemented: anonymous
// (certificate-less) cipher suites, which crypto/tls lacks, so "aNULL" in a
// cipher string is an error and the global "-" rule changes nothing; QMTPS;
// decrypting encrypted PKCS #8 keys (see KindClientKey); REQUIRETLS.
//
// MTA-STS (RFC 8461) comes in as data, Input.STS (package mtasts fetches
// and caches policies; this package only merges their effect): DANE with
// usable records wins, an enforce policy makes the hop mandatory with a Web
// PKI and MX-name check on top of the local rule's, a testing policy only
// records (docs/tls.md, "Who wins").
package tlspolicy
