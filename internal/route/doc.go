// Package route turns a destination into a Plan: the ordered next hops to try, each with its
// addresses and port, and whether the DNS answers behind it were DNSSEC-authenticated.
//
// It owns qmail-remote's routing rules (spec: qmail-control-files.md §2, dns_mxip): domain
// literals, MX lookup and preference order, the implicit MX, the "best MX is this machine" loop
// check, and static relays from smtproutes (resolved by Relay, without MX and without the loop
// check). It also owns the list of this machine's addresses used by that check (LocalAddrs).
// It must not know TLS, SMTP sessions or report formats: a failure is an *Error with a Kind,
// and the report package turns kinds into qmail's texts and status codes.
//
// Implemented: RFC 5321 §5.1 (MX ordering, random among equal preferences, the implicit MX,
// and dropping MX hosts at or after this machine's own preference), RFC 5321 §4.1.3 (address
// literals), RFC 7505 §3 and §4.3 (null MX).
//
// Where this differs from qmail-remote (each is said again at the code that does it):
//   - a temporary lookup failure of one MX host does not fail the delivery while other hosts
//     have addresses (qmail gives up temporarily as soon as one host fails);
//   - at most 16 MX hosts are used, with at most 5 addresses each, both cut after the loop
//     check has seen every host and address (qmail has no bound);
//   - addresses are IPv6 first, then IPv4, and an address listed under several hosts is
//     tried once, under the best one;
//   - a null MX is a permanent failure of its own kind (qmail has no null MX);
//   - when the loop check leaves nothing but a better MX host failed to resolve temporarily,
//     the failure is temporary, not a loop.
package route
