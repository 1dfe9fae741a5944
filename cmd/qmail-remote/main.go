// Command qmail-remote is mxout's drop-in replacement for qmail's qmail-remote(8):
//
//	qmail-remote host sender recip [recip ...]
//
// It reads the message from standard input, delivers it over SMTP to host (through
// control/smtproutes or the host's MX records) and prints recipient and message reports, each
// ended by a NUL byte, on standard output. It always exits 0 and prints nothing on standard
// error. See README.md for the control files and environment it reads.
package main

import (
	"context"
	"os"

	"github.com/mxout/mxout/internal/qmailremote"
)

func main() {
	os.Exit(qmailremote.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Getenv))
}
