// Package qmailspawn is the qmail-rspawn protocol without the process: it reads qmail-send's
// delivery requests, makes the reference spawner's checks, hands each accepted request to a
// Deliverer, and writes one report per request back to qmail-send
// (spec/qmail-spawn-protocol.md; docs/qmail-rspawn.md).
//
// It owns the conversation and nothing else: the hello byte, the bounded request reader, the
// checks (delnum, messid, recipient, message file type and owner), the conversion of
// qmail-remote's output into the spawner's report, and the serialized report writer. How a
// request is delivered belongs to the Deliverer; this package imports no delivery code.
//
// Wire format, as qmail-send speaks it:
//
//	hello   spawner → send:  one byte, the number of deliveries that may run at once (1 to 255)
//	request send → spawner:  DELNUM(1 byte) MESSID NUL SENDER NUL RECIPIENT NUL
//	report  spawner → send:  DELNUM(1 byte) K|Z|D text NUL
package qmailspawn
