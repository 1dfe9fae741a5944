// Package smtptest is a scripted, fault-injecting SMTP server for tests.
//
// It owns one thing: playing a dialog script against a real client over a
// loopback TCP connection, and failing the test when the client strays from
// it. The smtp client, the delivery orchestrator and the command-line tests
// all use it to drive every failure path of the qmail-remote contract
// (greeting, HELO/EHLO, MAIL, RCPT, DATA and final-dot replies of every class,
// garbage, bare-LF and partial lines, closes, stalls, slow and oversize
// replies, resets, pipelined and unpipelined servers).
//
// It must not know the client under test: no import of mxout's smtp, deliver
// or report packages, no knowledge of report formats. It implements no SMTP
// server logic of its own; the script is the whole server. The only protocol
// facts built in are the end-of-data line of RFC 5321 §4.1.1.4
// ("\r\n.\r\n", read by "! data") and the server side of a TLS handshake
// (RFC 3207 §4 for "! starttls", RFC 8314 §3 implicit TLS for "! tls").
//
// # Script language
//
// One directive per line. Leading and trailing blanks are trimmed (write
// trailing blanks with <raw and \x20, match them with >~ and \x20); empty
// lines and lines starting with # are ignored. Line numbers in failure messages count
// lines of the script string from 1, so in a raw string literal that starts
// with a newline, the line after the opening backquote is line 2.
//
//	< text          write text and CRLF. Blanks after "<" are skipped.
//	<raw text       write text with \r \n \t \\ and \xHH decoded, and nothing
//	                appended (bare-LF replies, partial lines, NULs, garbage).
//	> text          read one CRLF-terminated line; it must equal text.
//	>~ regexp       the line must match regexp as a whole (it is anchored).
//	> *             any one CRLF-terminated line.
//	! data          read a message body up to and including the line "."
//	                (CRLF.CRLF); recorded for Server.Data.
//	! read N        read exactly N raw bytes (BDAT chunks, binary payloads);
//	                they appear in Server.Received only.
//	! close         close the connection now (see Lingering below).
//	! reset         close the connection now with a TCP reset (SO_LINGER 0):
//	                unread client bytes are dropped and the client's next
//	                write or read fails. Must be last.
//	! stall         reply nothing more; read and record whatever arrives until
//	                the client closes or the test ends. Must be last.
//	! expect-eof    the client must close (or half-close) without sending more.
//	! eof-or-quit   accept EOF, or a QUIT line (answered "221 2.0.0 smtptest
//	                closing" and a half-close) followed by EOF. Must be last.
//	! sleep 150ms   pause without reading (a server that stops reading).
//	! drip 5ms      write the following < and <raw lines one byte at a time
//	                with this delay; "! drip 0" turns it off.
//	! big N prefix  write one line of exactly N bytes: prefix, 'x' filler, CRLF.
//	! many N prefix write N lines, each prefix and CRLF.
//	! starttls      server side of a TLS handshake now, then go on over TLS.
//	! tls           the same, as the first directive: implicit TLS.
//
// # Checks
//
// The server is interactive: each > line is checked as it arrives, before the
// next < line is written, so a pipelining client can be told from one that
// waits for each reply (a script that reads MAIL, RCPT and DATA before writing
// their replies makes a waiting client time out, and a failure names the line).
// When a reply directive follows a > line (with at most "! sleep" or
// "! drip" between), the client must not have sent anything beyond that line
// yet: bytes that arrived with it, during the sleep, or within a millisecond
// after, prove the client did not wait for the reply. A "! sleep 50ms" before
// the reply widens the window; the check can miss a late sender, never accuse
// a client that waited.
// Bytes the client sends before a TLS handshake, after the end of a script, or
// after "! expect-eof" fail the test, as does a line ending in a bare LF.
//
// Two faults are expected by a script that says so. A failed TLS handshake
// fails the test unless the next directive is "! expect-eof": then the script
// goes on in clear and the client must hang up (a client that refuses the
// certificate); anything it sends in clear after the failure, even bytes the
// TLS layer had already read, fails the test. A write that finds the client
// gone fails unless only "! expect-eof" or "! eof-or-quit" remain (a client
// that hangs up on an oversize reply).
//
// A failure stops that connection's script and closes the connection, so the
// client under test sees EOF instead of hanging. Failures are reported through
// t.Errorf from the t.Cleanup registered by Start, together with scripts that
// did not run to the end (a script whose last directive was reached counts as
// finished, so "! stall" and a final "> QUIT" may be interrupted by the end of
// the test) and clients that left a connection open after its script ended.
//
// Lingering: at the end of a script, and at "! close", the server flushes its
// replies, half-closes (TLS close_notify, then TCP FIN) and reads until the
// client closes, so pipelined bytes in flight never turn the close into a reset
// that would destroy a reply the client has not read yet.
//
// Every read and write has a deadline (Options.Timeout, per read), and the
// cleanup closes every connection, so no test blocks forever and every
// goroutine of the server has ended when the cleanup returns.
package smtptest
