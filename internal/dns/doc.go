// Package dns is mxout's stub resolver: it asks a recursive resolver for MX, A, AAAA, TLSA and TXT
// records and reports, for every answer, whether it was DNSSEC-authenticated.
//
// It owns the DNS wire exchange (built on github.com/miekg/dns): EDNS0 with the DO bit, UDP with
// a fallback to TCP on truncation, timeouts and attempts over a list of servers, CNAME chains,
// and the mapping of response codes onto two error classes, ErrNotFound and ErrTemporary. It must
// not know SMTP, routing rules (null MX, implicit MX, preference order) or report formats: those
// belong to the route and deliver packages.
//
// Authenticity comes from the AD bit (RFC 4035 §3.2.3, RFC 6840 §5.7): the resolver named in
// $MXOUT_DNS or /etc/resolv.conf is trusted to validate and to be reached over a path that nobody
// can tamper with, as with Postfix's smtp_dns_support_level = dnssec. Every query sets DO
// (RFC 3225 §3) and AD (RFC 6840 §5.7) and advertises a 1232-byte UDP payload (RFC 6891 §6.2.5).
// DANE (RFC 7672 §2.2) reads Result.Authentic from the same code path.
//
// Implemented: RFC 1035 §4.1.1 (header, RCODE), RFC 1035 §7.4 and RFC 7766 §5 (TCP after a
// truncated UDP reply), RFC 1034 §3.6.2 (CNAME chains), RFC 2308 §2.1 and §2.2 (NXDOMAIN and
// NODATA), RFC 5891 §5 (IDNA: lookups of internationalised names in their ASCII form), RFC 6698
// §2 (TLSA record fields).
package dns
