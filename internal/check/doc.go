// Package check is `mxout check DOMAIN`: the operator's diagnosis of a destination, in the
// manner of Postfix's posttls-finger. It collects facts into a Report (the MX records and
// their DNSSEC status, null MX, each MX host's addresses, its TLSA records, for each address
// the greeting, the extensions offered, STARTTLS and the certificate chain with its names,
// dates, CA trust and DANE match) and a verdict: what TLS policy mxout would apply to each
// host and whether a delivery would go through, per address and overall. It renders the
// Report as an aligned table for terminals (WriteText) or as JSON (WriteJSON), whose field
// names are a contract documented in docs/check.md.
//
// The verdict is not a second opinion: it comes from package deliver's own functions
// (Engine.Plan, Engine.HopPolicy, Engine.Open, Explain), so check says what a delivery would
// do because it runs the same decisions up to the point where MAIL FROM would go out. It
// sends no mail: every session ends with QUIT after EHLO (and STARTTLS).
//
// Each address is connected to twice: once by the probe, which accepts any certificate and
// records everything (so that a certificate that fails the policy can still be shown), and
// once by the engine under the hop's real policy, whose success or error is the verdict.
//
// What it must not know: the wire (package smtp does it), DNS wire details (package dns), TLS
// policy rules (tlspolicy), TLSA matching (dane), how a delivery proceeds (deliver), flags and
// environment (cmd/mxout). MTA-STS (RFC 8461) comes from the engine (deliver.LookupSTS with
// Options.MTASTS): the policy it would apply and each host's match; check only adds the TXT
// record as published now.
//
// Implemented as facts: RFC 7505 §3 (null MX), RFC 5321 §5.1 (MX order, implicit MX), RFC 7672
// §2.2 (TLSA lookups only for DNSSEC-secure hosts), RFC 6698 §2.1 (TLSA fields), RFC 3207 §4
// (STARTTLS), RFC 5321 §4.1.1.1 (EHLO keywords).
package check
