// Command mxout is the project's own command.
//
//	mxout demo      deliver a sample message to an SMTP server started on loopback, and show it
//	mxout version   print the version
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/mxout/mxout/internal/demo"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is main without the process, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: mxout demo | mxout version")
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, "mxout", version)
		return 0
	case "demo":
		if err := demo.Run(context.Background(), stdout); err != nil {
			fmt.Fprintln(stderr, "mxout:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "mxout: unknown command %q\n", args[0])
	return 2
}
