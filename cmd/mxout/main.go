// Command mxout is the project's own command: delivery front ends for MTAs and scripts, and
// tools for operators.
//
//	mxout deliver     one message on stdin (Postfix pipe(8), Exim's pipe transport, scripts)
//	mxout transport   many messages over kept connections (a queue manager's transport agent)
//	mxout check       what the engine would do for a destination, and why
//	mxout tlsrpt      send yesterday's TLS-RPT reports (RFC 8460)
//	mxout demo        deliver a sample message to an SMTP server started on loopback, and show it
//	mxout version     print the version
//	mxout help [CMD]  what each command does
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/mxout/mxout/internal/deliverfront"
	"github.com/mxout/mxout/internal/demo"
	"github.com/mxout/mxout/internal/tlsrptfront"
	"github.com/mxout/mxout/internal/transport"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

const overview = `usage: mxout COMMAND [flags]

commands:
  deliver     deliver one message (stdin) to the recipients on the command line; sysexits status
  transport   deliver many messages (JSON-lines jobs on stdin) over kept, pipelined connections
  check       what mxout would do for a domain, and why: MX, DNSSEC, DANE, MTA-STS, STARTTLS, certificates
  tlsrpt      send the daily TLS-RPT reports (RFC 8460) of the sessions under DANE or MTA-STS
  demo        deliver a sample message to an SMTP server started on loopback, and show it
  version     print the version
  help [CMD]  this text, or the help of CMD (the same as mxout CMD --help)

qmail's remote delivery is the separate program qmail-remote. Manuals: mxout(1) and one per command.
`

// run is main without the process, so tests can call it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, overview)
		return 64
	}
	switch args[0] {
	case "version", "-V", "--version":
		fmt.Fprintln(stdout, "mxout", version)
		return 0
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[1] != "help" {
			return run([]string{args[1], "--help"}, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, overview)
		return 0
	case "demo":
		if len(args) > 1 {
			fmt.Fprintln(stdout, "usage: mxout demo\n\nDelivers a sample message through the whole stack to an SMTP server it starts on\n127.0.0.1, and prints the transcript and the qmail report.")
			return 0
		}
		if err := demo.Run(context.Background(), stdout); err != nil {
			fmt.Fprintln(stderr, "mxout:", err)
			return 1
		}
		return 0
	case "deliver":
		return deliverfront.Main(args[1:], stdin, stdout, stderr, os.Getenv, version)
	case "transport":
		return transport.Main(args[1:], stdin, stdout, stderr, os.Getenv, version)
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "tlsrpt":
		return tlsrptfront.Main(args[1:], stdout, stderr, os.Getenv, version)
	}
	fmt.Fprintf(stderr, "mxout: unknown command %q\n\n%s", args[0], overview)
	return 64
}
