// Command qmail-rspawn is mxout's drop-in replacement for qmail's qmail-rspawn(8): qmail-send
// hands it remote deliveries on standard input and reads one report per delivery on standard
// output (spec/qmail-spawn-protocol.md). Each delivery runs inside this process on the engine
// mxout's qmail-remote uses, built from the same control files ($QMAILHOME/control), so no program
// is started per delivery. Connections are kept per destination for later deliveries, and the
// requests for one message, sender and host that arrive together go out as one transaction with
// several RCPTs (control/rspawnbatch); each request still gets the report its own qmail-remote
// would have given. It announces 255 deliveries at a time.
//
// qmail-start runs it as user qmailr with descriptors 2 to 6 closed; it writes nothing on
// standard error. Run as root it exits 111 at once; when $QMAILHOME/queue/mess cannot be entered,
// the qmailq user does not exist or $MXOUT_TRANSCRIPT cannot be opened it exits 111 too, before
// the hello byte. See docs/qmail-rspawn.md.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/mxout/mxout/internal/qmailremote"
	"github.com/mxout/mxout/internal/qmailspawn"
	"github.com/mxout/mxout/internal/transcript"
)

// queueUser owns the message files (the reference's conf-users "qmailq", compiled in). A
// package for a system with other names sets it at link time:
// go build -ldflags '-X main.queueUser=NAME'. The tests use that too; nothing at run time can
// change whose files are trusted.
var queueUser = "qmailq"

func main() { os.Exit(run(context.Background(), os.Stdin, os.Stdout, os.Getenv, os.Geteuid())) }

// run is the process's work, with the effective uid as a value so that tests need no root; it
// returns the exit status.
func run(ctx context.Context, in io.Reader, out io.Writer, getenv func(string) string, euid int) int {
	if euid == 0 {
		return 111 // qmail-start starts it as qmailr; delivering as root is never meant
	}
	// Like the reference: qmail-send gone must show as a failed write on fd 1, not kill the
	// process before the deliveries in flight end.
	signal.Ignore(syscall.SIGPIPE)
	home := getenv("QMAILHOME")
	if home == "" {
		home = qmailremote.DefaultHome
	}
	home, err := filepath.Abs(home)
	if err != nil {
		return 111
	}
	u, err := user.Lookup(queueUser)
	if err != nil {
		return 111
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 111
	}
	if err := os.Chdir(filepath.Join(home, "queue", "mess")); err != nil {
		return 111
	}
	env := func(k string) string {
		if k == "QMAILHOME" {
			return home // absolute: the working directory is queue/mess now
		}
		return getenv(k)
	}
	var script io.Writer
	if path := getenv("MXOUT_TRANSCRIPT"); path != "" {
		// Asked for and impossible: refuse to start, so that qmail-send's log says so at once,
		// rather than deliver without the transcript the operator is waiting for.
		w, err := transcript.Open(path)
		if err != nil {
			return 111
		}
		defer w.Close()
		script = w
	}
	control := filepath.Join(home, "control")
	engines := newEngines(home, env, script, parseConcurrency(readControl(control, "concurrencyremote")))
	defer engines.Close()
	srv := &qmailspawn.Server{Deliverer: newBatcher(engines, engines.maxConns), QueueUID: uid}
	if err := srv.Serve(ctx, in, out); err != nil {
		return 111
	}
	return 0
}
