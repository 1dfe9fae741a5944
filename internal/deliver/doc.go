// Package deliver walks a delivery plan: it routes a job, dials each address of each hop in
// order, opens an SMTP session and runs the transaction, and decides whether to move on to the
// next address. It is the only package that knows the order of the steps (DESIGN.md).
//
// Its result is data: one outcome per recipient and one for the message, with the failing
// phase, the server's reply and the peer. It knows nothing of report formats; package report
// renders results.
//
// Moving on (qmail-remote contract, decision 3): a connect failure or timeout, a greeting that
// is not 220, a refused EHLO/HELO or a connection lost before MAIL FROM moves on to the next
// address, then the next MX. Once a transaction has started its outcome is final for this run:
// retrying elsewhere after MAIL FROM could deliver twice.
//
// MTA-STS (RFC 8461): before the walk, the recipient domain's policy is looked up once
// (Config.MTASTS, LookupSTS) and its effect on each MX host goes into the hop's TLS policy
// (tlspolicy.Decide: skip, or mandatory TLS verified by the Web PKI for the MX name). Every
// session made under a DANE or MTA-STS policy is recorded for TLS-RPT (Config.TLSReport).
package deliver
