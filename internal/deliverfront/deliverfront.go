// Package deliverfront is mxout deliver: one message on standard input for the recipients on
// the command line, delivered by the engine, one status line per recipient (or one JSON
// object) on standard output and a sysexits exit status, as Postfix's pipe(8), Exim's pipe
// transport and scripts call it (the commands contract, docs/deliver.md). It owns the command
// line and the output; routing, sessions and outcomes are the engine's.
package deliverfront

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mxout/mxout/internal/cli"
	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/report"
	"github.com/mxout/mxout/internal/smtp"
)

// Usage is the text of mxout deliver --help before the flags.
const Usage = `usage: mxout deliver [flags] -f SENDER [-d HOST | -F DEST] [--] RECIPIENT... < message

Delivers one message (standard input, LF or CRLF line ends, a pipe or a file) from SENDER to
each RECIPIENT. Without -d or -F the recipients are grouped by domain and each domain is routed
on its own (MX records, DANE, STARTTLS); the groups go out in parallel. -f '' is the null sender.

For every recipient one line goes to standard output, in argument order:

  -<TAB>RECIPIENT<TAB>ok|deferred|error<TAB>DSN<TAB>TEXT

or with --json one JSON object. When not every recipient was accepted, one line on standard
error starts with the RFC 3463 code (as Postfix's pipe(8) reads it). Exit status (sysexits.h):
0 all accepted, 75 try again later (or possible duplicate), 67 every failure is an unknown
user or domain (5.1.x), 69 other permanent failures, 64 bad usage, 65 the message is
unreadable or cannot be carried, 78 local configuration error. Manual: mxout-deliver(8).

flags:
`

// senderFlag is -f: it must be given, and may be empty (the null sender).
type senderFlag struct {
	addr string
	set  bool
}

func (s *senderFlag) String() string { return s.addr }
func (s *senderFlag) Set(v string) error {
	s.addr, s.set = v, true
	return nil
}

// NewFlagSet returns mxout deliver's flags: the shared ones of internal/cli and -f. The
// manual-page test walks it.
func NewFlagSet(stderr io.Writer) (*flag.FlagSet, *cli.Flags, *senderFlag) {
	fs := flag.NewFlagSet("mxout deliver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f cli.Flags
	f.Register(fs)
	var from senderFlag
	fs.Var(&from, "f", "envelope `SENDER` (required; '' or '<>' is the null sender, for bounces)")
	fs.Usage = func() {
		fmt.Fprint(stderr, Usage)
		fs.PrintDefaults()
	}
	return fs, &f, &from
}

// Main is mxout deliver. args exclude the command name.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, version string) int {
	fs, f, from := NewFlagSet(stderr)
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "mxout deliver: "+format+"\n", a...)
		return report.ExitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return report.ExitOK
		}
		return report.ExitUsage
	}
	if f.Version {
		fmt.Fprintln(stdout, "mxout", version)
		return report.ExitOK
	}
	rcpts := fs.Args()
	switch {
	case !from.set:
		return usage("-f SENDER is required (-f '' for the null sender); see mxout deliver --help")
	case len(rcpts) == 0:
		return usage("no RECIPIENT given; see mxout deliver --help")
	case f.Dest != "" && f.Force != "":
		return usage("-d and -F exclude each other: -d routes a destination, -F forces one relay for all")
	}
	for _, r := range rcpts {
		if r == "" {
			return usage("an empty RECIPIENT argument")
		}
	}
	dsn, err := f.JobDSN(len(rcpts))
	if err != nil {
		return usage("%s", err.Error())
	}
	setup, err := f.Build(getenv)
	if err != nil {
		if cli.IsUsage(err) {
			fmt.Fprintln(stderr, "mxout deliver:", err)
			return report.ExitUsage
		}
		// A delivery-time failure like the others: the line starts with its code.
		fmt.Fprintln(stderr, "4.3.5 mxout deliver: local configuration error:", err)
		return report.ExitConfig
	}
	defer setup.Close()
	msg, err := message.Read(stdin, "")
	if err != nil {
		fmt.Fprintf(stderr, "5.3.0 mxout deliver: cannot read the message on standard input: %v\n", err)
		return report.ExitDataErr
	}
	defer msg.Close()

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	// One connection per destination: the transactions of one destination (--rcpt-limit) follow
	// each other on it, as Postfix's smtp(8) reuses one session; destinations run side by side.
	opts := deliver.PoolOptions{PerDest: 1}
	pool := deliver.NewPool(setup.Engine, opts)
	defer pool.Close()
	var relays []*deliver.Pool
	d := setup.Deliverer(pool, func(e *deliver.Engine) deliver.Deliverer {
		fp := deliver.NewPool(e, opts)
		relays = append(relays, fp)
		return fp
	})
	defer func() {
		for _, p := range relays {
			p.Close()
		}
	}()

	m := Deliver(ctx, d, Request{
		Sender: nullSender(from.addr), Recipients: rcpts, Message: msg,
		Dest: f.Dest, Forced: f.Force != "", RcptLimit: f.RcptLimit,
		DSN: dsn, RequireTLS: f.RequireTLS,
	})
	// The diagnostic goes first: Postfix's pipe(8) reads stdout and stderr through one pipe and
	// takes the enhanced code only from the start of that output.
	if diag := report.Diagnostic(m); diag != "" {
		io.WriteString(stderr, diag)
	}
	if f.JSON {
		stdout.Write(report.JSON("-", m))
	} else {
		stdout.Write(report.StatusLines("-", m))
	}
	return report.Exit(m)
}

// Request is one message for mxout deliver's recipients.
type Request struct {
	Sender     string // "" for the null sender
	Recipients []string
	Message    *message.Message
	Dest       string // -d: the destination of all; "" groups by domain
	Forced     bool   // -F: the route decides, recipients stay together
	RcptLimit  int    // --rcpt-limit: at most this many recipients per transaction (0: no limit)
	// DSN (RFC 3461; ORCPT once per recipient, in order) and REQUIRETLS (RFC 8689).
	DSN        smtp.DSN
	RequireTLS bool
}

// Deliver runs the request's transactions on d, one per destination group (cut at RcptLimit),
// all at once, and returns every recipient's Outcome in argument order.
func Deliver(ctx context.Context, d deliver.Deliverer, req Request) *outcome.Message {
	start := time.Now()
	m := &outcome.Message{Recipients: make([]outcome.Recipient, len(req.Recipients))}
	for i, a := range req.Recipients {
		m.Recipients[i].Address = a
	}
	groups, noDomain := deliver.GroupRecipients(req.Recipients, req.Dest, req.Forced, req.RcptLimit)
	for _, i := range noDomain {
		m.Recipients[i].Outcome = outcome.Local(outcome.BadRecipient, smtp.PhaseRcpt,
			"the recipient has no domain to deliver to", nil)
	}
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Go(func() {
			job := &deliver.Job{Host: g.Host, Sender: req.Sender, Message: req.Message, RequireTLS: req.RequireTLS}
			job.DSN = req.DSN
			job.DSN.ORcpt = nil
			for _, i := range g.Idx {
				job.Recipients = append(job.Recipients, req.Recipients[i])
				if req.DSN.ORcpt != nil {
					job.DSN.ORcpt = append(job.DSN.ORcpt, req.DSN.ORcpt[i])
				}
			}
			res := d.Deliver(ctx, job)
			for k, i := range g.Idx {
				m.Recipients[i].Outcome = res.Recipients[k]
			}
		})
	}
	wg.Wait()
	m.Elapsed = time.Since(start)
	return m
}

// nullSender maps the spellings of the null sender to "" and strips one pair of angle
// brackets, so that -f '<a@example.org>' works as -f a@example.org.
func nullSender(s string) string {
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		s = s[1 : len(s)-1]
	}
	return s
}
