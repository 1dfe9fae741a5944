// Package dane authenticates an SMTP server's TLS certificate chain against
// DNSSEC-validated TLSA records, as RFC 7672 (SMTP security via opportunistic
// DANE TLS) specifies, with the updates of RFC 7671 to RFC 6698.
//
// What it owns: deciding which TLSA records an SMTP client may use
// (RFC 7672 §3.1.3), matching certificate association data against the
// certificates the server sent (RFC 6698 §2.1), DANE-EE(3) authentication
// (RFC 7672 §3.1.1), DANE-TA(2) authentication with chain building and the
// reference-identifier name check (RFC 7672 §3.1.2, RFC 7672 §3.2.2,
// RFC 7672 §3.2.3, RFC 7671 §5.2). tlspolicy calls Verify from its one
// crypto/tls VerifyConnection hook, which serves every TLS mode.
//
// What it must not know: DNS. It does no lookups and no network I/O. The caller
// passes records it already knows are DNSSEC-secure, decides the reference
// identifiers (the MX host name, its secure CNAME expansion, the next-hop
// domain), and decides what a failure means for delivery (RFC 7672 §2.2:
// usable records that do not authenticate the peer mean "do not deliver to this
// host"; records none of which is usable mean "TLS is mandatory, but not
// authenticated"). Policy merging lives in tlspolicy; sending bytes in smtp.
//
// Not implemented: PKIX-TA(0) and PKIX-EE(1), which RFC 7672 §3.1.3 tells SMTP
// clients not to use, and any revocation checking.
package dane
