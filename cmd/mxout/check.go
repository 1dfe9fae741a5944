package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mxout/mxout/internal/check"
	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/mtasts"
	"github.com/mxout/mxout/internal/report"
	"github.com/mxout/mxout/internal/state"
)

const checkUsage = `usage: mxout check [flags] DOMAIN

Diagnoses the delivery of mail to DOMAIN without sending any: MX records and their DNSSEC
status, each host's addresses and TLSA records, and for each address the greeting, the
extensions, STARTTLS and the certificate (chain, names, expiry, CA, DANE), the MTA-STS record
and policy and whether each MX host matches it, then what mxout
would do (the TLS policy, delivered or not and why). Every session ends with QUIT after EHLO.

Exit status: 0 a delivery would go through, 1 it would not (deferred or bounced), 64 bad
usage, 74 the report could not be written, 78 the resolver configuration is unusable.

Flags:
`

// runCheck is `mxout check`. Its JSON output is documented in docs/check.md.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mxout check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "write the report as JSON (docs/check.md)")
	port := fs.String("p", "", "SMTP `port` of every host (default $MXOUT_SMTP_PORT, else 25)")
	dnsList := fs.String("dns", "", "resolver `ip:port`, comma-separated (default $MXOUT_DNS, else /etc/resolv.conf)")
	helo := fs.String("h", "", "EHLO `name` (default: this machine's host name)")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on each connect and each reply")
	stateDir := fs.String("state-dir", "", "state `DIR` whose MTA-STS policy cache the deliveries use (default $MXOUT_STATE, else "+state.Default+"; without one, policies are fetched and not kept)")
	noSTS := fs.Bool("no-mta-sts", false, "do not check MTA-STS (as deliveries with --no-mta-sts)")
	fs.Usage = func() {
		fmt.Fprint(stderr, checkUsage)
		fs.PrintDefaults()
	}
	domains, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return report.ExitOK
	}
	if err != nil {
		return report.ExitUsage
	}
	if len(domains) != 1 {
		fs.Usage()
		return report.ExitUsage
	}
	o, err := checkOptions(*port, *dnsList, *helo, *timeout)
	if err != nil {
		fmt.Fprintln(stderr, "mxout check:", err)
		return report.ExitUsage
	}
	if o.Resolver == nil { // no --dns: $MXOUT_DNS, else resolv.conf, as qmail-remote
		if o.Resolver, err = dns.FromList(os.Getenv("MXOUT_DNS")); err != nil {
			fmt.Fprintln(stderr, "mxout check:", err)
			return report.ExitConfig
		}
	}
	if !*noSTS {
		if r, ok := o.Resolver.(state.Resolver); ok {
			o.MTASTS = stsResolver(*stateDir, os.Getenv("MXOUT_STATE"), r)
		}
	}
	rep := check.Run(context.Background(), domains[0], o)
	if *asJSON {
		err = check.WriteJSON(stdout, rep)
	} else {
		err = check.WriteText(stdout, rep)
	}
	if err != nil {
		fmt.Fprintln(stderr, "mxout check:", err)
		return exitIOErr
	}
	if rep.Verdict.Action != check.Deliver {
		return exitNoDelivery
	}
	return report.ExitOK
}

// Exit statuses of mxout check beyond the shared ones of package report.
const (
	exitNoDelivery = 1  // the check ran: a delivery would not go through now
	exitIOErr      = 74 // EX_IOERR: the report could not be written
)

// parseInterleaved parses flags before and after the positional arguments
// ("mxout check example.test --json"), and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// checkOptions turns the flags and $MXOUT_SMTP_PORT into check.Options; every error is bad
// usage. Resolver is set only by --dns.
func checkOptions(port, dnsList, helo string, timeout time.Duration) (check.Options, error) {
	var o check.Options
	if port == "" {
		port = os.Getenv("MXOUT_SMTP_PORT")
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return o, fmt.Errorf("bad port %q", port)
		}
		o.Port = uint16(n)
	}
	if timeout <= 0 {
		return o, fmt.Errorf("--timeout must be positive, not %v", timeout)
	}
	o.Timeout = timeout
	o.HeloHost = helo
	if o.HeloHost == "" {
		if h, err := os.Hostname(); err == nil {
			o.HeloHost = h
		}
	}
	if dnsList != "" {
		r, err := resolverFor(dnsList)
		if err != nil {
			return o, err
		}
		o.Resolver = r
	}
	return o, nil
}

// resolverFor builds a resolver for --dns: IP addresses, each with an optional port (53 when
// none; IPv6 with a port in brackets). Names are refused: finding a DNS server by name needs DNS.
func resolverFor(list string) (*dns.Resolver, error) {
	r := &dns.Resolver{}
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if a, err := netip.ParseAddr(item); err == nil {
			r.Servers = append(r.Servers, netip.AddrPortFrom(a, 53).String())
			continue
		}
		ap, err := netip.ParseAddrPort(item)
		if err != nil || ap.Port() == 0 {
			return nil, fmt.Errorf("--dns: %q is not an IP address with an optional port", item)
		}
		r.Servers = append(r.Servers, ap.String())
	}
	return r, nil
}

// stsResolver is the MTA-STS resolver of the deliveries: on the state directory's cache when
// it is usable (so check sees the policy a delivery would apply, cached or not), else without
// a cache (the policy as published now).
func stsResolver(flagDir, envDir string, r state.Resolver) *mtasts.Resolver {
	dir := flagDir
	if dir == "" {
		dir = envDir
	}
	if dir == "" {
		dir = state.Default
	}
	res := state.MTASTS(dir, r)
	if !state.Usable(dir) {
		res.Cache = nil
	}
	return res
}
