// Package message holds the message of one delivery job: its bytes, re-readable from the start
// for every attempt, and the facts a sender needs before it talks to a server (size on the
// wire, 8-bit content, whether it ends with a line ending).
//
// Memory never grows with the message: a regular file (qmail-send hands qmail-remote the queue
// file as standard input) is read in place; a pipe is kept in memory up to a small limit and
// spooled to an unlinked temporary file beyond it. It knows nothing of SMTP sessions.
package message
