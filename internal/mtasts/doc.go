// Package mtasts implements the sending side of SMTP MTA Strict Transport Security, RFC 8461:
// it finds out whether a recipient domain publishes a policy, fetches and parses it, keeps it
// in a cache on disk that every mxout process shares, and says what the policy asks of a
// delivery to one MX host.
//
// What it owns: the "_mta-sts" TXT record grammar (RFC 8461 §3.1), the policy grammar
// (RFC 8461 §3.2), the HTTPS fetch of https://mta-sts.<domain>/.well-known/mta-sts.txt with
// PKIX verification, no redirects and bounds on size and time (RFC 8461 §3.3), MX pattern
// matching (RFC 8461 §4.1), the policy cache with its id check, max_age, proactive refresh and
// downgrade resistance (RFC 8461 §3.3, §5.1, §10.2), and the effect of a policy on one MX host
// expressed as data (Effect).
//
// What it must not know: SMTP and how TLS is negotiated (package smtp), how the effect is
// merged with local rules and DANE (package tlspolicy does that; docs/mta-sts.md has the
// table), DNS wire details (a TXTResolver such as *dns.Resolver answers the TXT question), and
// report formats (package tlsrpt records and reports the outcomes).
//
// Not implemented: policy selection for smart hosts (RFC 8461 §3.4 leaves it to the sender's
// configuration), and fetching through an HTTP proxy (the fetch never reads the *_PROXY
// variables: a proxy would be one more party that can change the policy in flight).
package mtasts
