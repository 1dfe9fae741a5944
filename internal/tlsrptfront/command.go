package tlsrptfront

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mxout/mxout/internal/cli"
	"github.com/mxout/mxout/internal/mtasts"
	"github.com/mxout/mxout/internal/report"
	"github.com/mxout/mxout/internal/state"
	"github.com/mxout/mxout/internal/tlsrpt"
)

const usage = `usage: mxout tlsrpt --from ADDRESS [flags]

Sends the TLS-RPT reports (RFC 8460) of one UTC day, yesterday by default: the sessions the
deliveries recorded in the state directory under a DANE or MTA-STS policy, one report per
policy domain, to the addresses that domain publishes in its _smtp._tls TXT record (mailto:
through mxout's own delivery engine, https: as a POST of application/tlsrpt+gzip). Reports
already sent are noted and not sent twice; afterwards results and cached MTA-STS policies
older than --keep days are removed. Run it once a day from cron, after midnight UTC.

Report mail is not DKIM-signed (RFC 8460 §5.3 asks for it): route it through a signing relay
(-C with smtproutes) if the receivers insist.

Exit status: 0 everything sent, 75 some report could not be sent (run again later), 64 bad
usage, 78 configuration (no usable state directory).

flags:
`

// Main is `mxout tlsrpt`.
func Main(args []string, stdout, stderr io.Writer, getenv func(string) string, version string) int {
	fs := flag.NewFlagSet("mxout tlsrpt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f cli.Flags
	f.Register(fs)
	from := fs.String("from", "", "the reporting `ADDRESS` (envelope sender and From:; required)")
	org := fs.String("org", "", "organization-name of the reports (default: the submitter domain)")
	contact := fs.String("contact", "", "contact-info of the reports (default: --from)")
	submitter := fs.String("submitter", "", "the submitter `DOMAIN` (default: the domain of --from)")
	dayFlag := fs.String("day", "", "the UTC day to report, `YYYY-MM-DD` (default: yesterday)")
	dryRun := fs.String("dry-run", "", "write the reports (.json.gz, .eml) into `DIR` instead of sending them; prune nothing")
	keep := fs.Int("keep", 7, "keep recorded results this many `DAYS` (for runs repeated after a failure)")
	if exit, done := f.Parse(fs, args, usage, stdout, stderr, version); done {
		return exit
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "mxout tlsrpt: "+format+"\n", a...)
		return code
	}
	at := strings.LastIndexByte(*from, '@')
	if at <= 0 || at == len(*from)-1 || fs.NArg() > 0 || *keep < 1 {
		fs.Usage()
		return report.ExitUsage
	}
	day := time.Now().UTC().AddDate(0, 0, -1)
	if *dayFlag != "" {
		d, err := time.Parse(time.DateOnly, *dayFlag)
		if err != nil {
			return fail(report.ExitUsage, "--day %q: want YYYY-MM-DD", *dayFlag)
		}
		day = d
	}
	o := tlsrpt.Options{OrganizationName: *org, ContactInfo: *contact, Submitter: *submitter}
	if o.Submitter == "" {
		o.Submitter = strings.ToLower((*from)[at+1:])
	}
	if o.OrganizationName == "" {
		o.OrganizationName = o.Submitter
	}
	if o.ContactInfo == "" {
		o.ContactInfo = *from
	}
	setup, err := f.Build(getenv)
	if err != nil {
		if cli.IsUsage(err) {
			return fail(report.ExitUsage, "%v", err)
		}
		return fail(report.ExitConfig, "%v", err)
	}
	defer setup.Close()
	if setup.StateDir == "" {
		dir, _ := f.StateDirectory(getenv)
		return fail(report.ExitConfig, "no usable state directory (%s, or --no-mta-sts): nothing was recorded", dir)
	}
	s := &Sender{
		Store:   &tlsrpt.Store{Dir: filepath.Join(setup.StateDir, "tlsrpt")},
		DNS:     setup.Resolver,
		Options: o,
		From:    *from,
		Mail:    EngineMail(setup.Engine),
		Dial:    state.DialVia(setup.Resolver),
		SentDir: filepath.Join(setup.StateDir, "tlsrpt", "sent"),
		DryRun:  *dryRun,
		Log:     stdout,
	}
	failed, err := s.Run(context.Background(), day)
	if err != nil {
		return fail(report.ExitTempFail, "%v", err)
	}
	if *dryRun == "" {
		prune(s, setup.StateDir, day, *keep, stderr)
	}
	if failed > 0 {
		return fail(report.ExitTempFail, "%d report(s) not sent; run again later", failed)
	}
	return report.ExitOK
}

// prune removes what is older than keep days before day: recorded results, the notes of
// reports sent, and expired MTA-STS policies (mtasts.Cache.Prune).
func prune(s *Sender, dir string, day time.Time, keep int, stderr io.Writer) {
	cut := day.AddDate(0, 0, -keep)
	if err := s.Store.Prune(cut); err != nil {
		fmt.Fprintln(stderr, "mxout tlsrpt: prune:", err)
	}
	if entries, err := os.ReadDir(s.SentDir); err == nil {
		for _, e := range entries {
			if i, err := e.Info(); err == nil && i.Mode().IsRegular() && i.ModTime().Before(cut) {
				os.Remove(filepath.Join(s.SentDir, e.Name()))
			}
		}
	}
	c := &mtasts.Cache{Dir: filepath.Join(dir, "mta-sts")}
	if err := c.Prune(time.Now()); err != nil {
		fmt.Fprintln(stderr, "mxout tlsrpt: prune:", err)
	}
}
