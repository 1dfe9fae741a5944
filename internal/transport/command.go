package transport

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mxout/mxout/internal/cli"
	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/report"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

const usage = `usage: mxout transport [flags] [-c CONNECTIONS] [--per-dest N] [--max-per-conn N] < jobs

Delivers many messages over kept, pipelined connections. Jobs come on standard input as JSON
lines, one message each:

  {"id":"q-17","sender":"a@example.org","recipients":["b@example.com"],"file":"/var/spool/x/17"}

optional fields: "host" (destination, as -d), "ret", "envid", "notify", "orcpt" (DSN).
For every recipient one status line goes to standard output when its job ends:

  ID<TAB>RECIPIENT<TAB>ok|deferred|error<TAB>DSN<TAB>TEXT

or with --json one JSON object per job. Exit status: 0 when every job got its statuses, 75 when
stopped by SIGTERM or SIGINT (jobs not started are reported deferred 4.3.2), 64 for bad usage,
78 for a configuration error. Manual: mxout-transport(8).

flags:
`

// Main is mxout transport. args exclude the command name.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, version string) int {
	fs := flag.NewFlagSet("mxout transport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f cli.Flags
	f.Register(fs)
	conns := fs.Int("c", deliver.DefaultMaxConns, "at most `N` connections in all")
	perDest := fs.Int("per-dest", deliver.DefaultPerDest, "at most `N` connections per destination")
	maxPerConn := fs.Int("max-per-conn", deliver.DefaultMaxPerConn, "at most `N` transactions per connection, then a new one")
	if exit, done := f.Parse(fs, args, usage, stdout, stderr, version); done {
		return exit
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mxout transport: unexpected argument %q: jobs come on standard input\n", fs.Arg(0))
		return report.ExitUsage
	}
	if *conns < 1 || *perDest < 1 || *maxPerConn < 1 {
		fmt.Fprintln(stderr, "mxout transport: -c, --per-dest and --max-per-conn must be at least 1")
		return report.ExitUsage
	}
	if len(f.ORcpt) > 0 {
		fmt.Fprintln(stderr, "mxout transport: --orcpt is for mxout deliver; a job gives its own \"orcpt\"")
		return report.ExitUsage
	}
	dsn, err := f.JobDSN(0)
	if err != nil {
		fmt.Fprintln(stderr, "mxout transport:", err)
		return report.ExitUsage
	}
	setup, err := f.Build(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "mxout transport:", err)
		if cli.IsUsage(err) {
			return report.ExitUsage
		}
		return report.ExitConfig
	}
	defer setup.Close()
	var cleanups []func()
	level := slog.LevelWarn
	if f.Verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts := deliver.PoolOptions{MaxConns: *conns, PerDest: *perDest, MaxPerConn: *maxPerConn}
	pool := deliver.NewPool(setup.Engine, opts)
	defer pool.Close()
	d := setup.Deliverer(pool, func(e *deliver.Engine) deliver.Deliverer {
		fp := deliver.NewPool(e, opts)
		cleanups = append(cleanups, fp.Close)
		return fp
	})
	defer func() {
		for _, c := range cleanups {
			c()
		}
	}()

	stop, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	r := &Runner{Pool: d, Out: stdout, JSON: f.JSON, Dest: f.Dest, Forced: f.Force != "", RcptLimit: f.RcptLimit, Log: log,
		DSN: dsn, RequireTLS: f.RequireTLS}
	bar := progress(stderr)
	if bar != nil {
		r.Progress = func(int) { bar.Add(1) }
	}
	sum := r.Run(context.Background(), stop, stdin)
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	opened, transactions, _ := pool.Stats()
	fmt.Fprintf(stderr, "mxout transport: %s; %d connections, %d transactions\n", sum, opened, transactions)
	if sum.Interrupted {
		return report.ExitTempFail
	}
	return report.ExitOK
}

// progress is a spinner with a count of finished jobs when stderr is a terminal (the number
// of jobs is not known in advance); nil otherwise, so that logs and pipes stay clean.
func progress(stderr io.Writer) *progressbar.ProgressBar {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("jobs"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("msg"),
		progressbar.OptionThrottle(100_000_000))
}
