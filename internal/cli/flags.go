// Package cli holds what mxout deliver and mxout transport share: the delivery flags of the
// commands contract (docs/commands.md) and the engine they configure. The commands differ only
// in where jobs come from and how outcomes are written.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/qmailctl"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/state"
	"github.com/mxout/mxout/internal/transcript"
)

// Flags are the shared delivery flags.
type Flags struct {
	Dest         string // -d
	Force        string // -F
	Port         int    // -p
	NoMX         bool   // -x
	NoPipelining bool   // -P
	EHLOIfESMTP  bool   // -E
	PreferIPv6   bool   // -6
	Helo         string // -h
	Timeouts     Timeouts
	Transcript   string // -l
	ControlDir   string // -C
	JSON         bool   // --json
	Version      bool   // -V
	Verbose      bool   // -v
	DNS          string // --dns
	NoClearRetry bool   // --no-clear-retry

	// What Postfix's smtp(8) asks of a delivery agent (docs/deliver.md lists every parameter).
	FallbackRelay       string // --fallback-relay
	IgnoreMXLookupError bool   // --ignore-mx-lookup-error
	SkipQuitResponse    bool   // --skip-quit-response: the default; accepted for Postfix users
	RcptLimit           int    // --rcpt-limit
	BestMXOK            bool   // --best-mx-ok

	LMTP     bool // -M
	SevenBit bool // -7
	EightBit bool // -8

	AuthFile string // --auth-file

	StateDir string // --state-dir
	NoMTASTS bool   // --no-mta-sts

	// DSN (RFC 3461) and REQUIRETLS (RFC 8689) for the message(s); transport jobs' own fields win.
	Ret        string     // --ret FULL|HDRS
	EnvID      string     // --envid
	Notify     string     // --notify NEVER|SUCCESS,FAILURE,DELAY
	ORcpt      stringList // --orcpt, once per recipient in order (mxout deliver)
	RequireTLS bool       // --requiretls
	NoChunking bool       // --no-chunking
}

// stringList is a flag that may be given many times.
type stringList []string

func (l *stringList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, " ")
}

func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// Register adds the shared flags to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Dest, "d", "", "destination `HOST`: a domain (MX routing) or an address literal [192.0.2.1]")
	fs.StringVar(&f.Force, "F", "", "forced destination `DEST` for everything: host, [ip], [ip]:port; no MX lookup")
	fs.IntVar(&f.Port, "p", 0, "TCP `PORT` for every hop (default 25, or $MXOUT_SMTP_PORT)")
	fs.BoolVar(&f.NoMX, "x", false, "no MX lookups: connect to the destination's own A/AAAA")
	fs.BoolVar(&f.NoPipelining, "P", false, "never pipeline, even when the server offers PIPELINING")
	fs.BoolVar(&f.EHLOIfESMTP, "E", false, "send EHLO only when the greeting says ESMTP, HELO otherwise")
	fs.BoolVar(&f.PreferIPv6, "6", false, "try IPv6 addresses first (default: IPv6 and IPv4 interleaved)")
	fs.StringVar(&f.Helo, "h", "", "HELO/EHLO `NAME` (default: control/helohost, control/me, then the host name)")
	fs.Var(&f.Timeouts, "T", "per-phase timeouts `conn=D,greet=D,cmd=D,data=D,dot=D,quit=D` (a bare D sets cmd)")
	fs.StringVar(&f.Transcript, "l", "", "append the SMTP transcript to `FILE` (AUTH secrets never appear)")
	fs.StringVar(&f.ControlDir, "C", "", "read qmail control files from `DIR` (smtproutes, tlsdestinations, domaincerts, ...)")
	fs.BoolVar(&f.JSON, "json", false, "JSON output instead of status lines")
	fs.BoolVar(&f.Version, "V", false, "print the version and exit")
	fs.BoolVar(&f.Verbose, "v", false, "more log output on stderr")
	fs.StringVar(&f.DNS, "dns", "", "DNS servers `ip:port,...` (default $MXOUT_DNS, else /etc/resolv.conf)")
	fs.BoolVar(&f.LMTP, "M", false, "LMTP (RFC 2033) instead of SMTP: LHLO, one reply per recipient after the final dot (needs -p, a port in -F, or -F unix:/path)")
	fs.BoolVar(&f.SevenBit, "7", false, "force a 7-bit channel: 8-bit MIME parts are downgraded to quoted-printable or base64 for every server")
	fs.BoolVar(&f.EightBit, "8", false, "send 8-bit messages as they are, even to a server without 8BITMIME (default: downgrade for such a server)")
	fs.BoolVar(&f.NoClearRetry, "no-clear-retry", false, "after a failed TLS handshake under an opportunistic policy, do not retry in clear")
	fs.StringVar(&f.FallbackRelay, "fallback-relay", "", "relay `DEST` (host, host:port, [ip], [ip]:port) for mail whose destination is not found or unreachable")
	fs.BoolVar(&f.IgnoreMXLookupError, "ignore-mx-lookup-error", false, "when the MX query fails temporarily, deliver to the domain's own A/AAAA")
	fs.BoolVar(&f.SkipQuitResponse, "skip-quit-response", false, "do not wait for the reply to QUIT: always so, the flag is accepted for Postfix's smtp_skip_quit_response")
	fs.IntVar(&f.RcptLimit, "rcpt-limit", 0, "at most `N` recipients per transaction; a larger envelope is split (0: no limit)")
	fs.BoolVar(&f.BestMXOK, "best-mx-ok", false, "deliver even when this host is the best MX (no mail-loop check)")
	fs.StringVar(&f.AuthFile, "auth-file", "", "SMTP AUTH credentials from `FILE`: lines \"relay-or-domain user password\" (mode 600; docs/auth.md)")
	fs.StringVar(&f.StateDir, "state-dir", "", "state `DIR` for the MTA-STS policy cache and TLS-RPT results (default $MXOUT_STATE, else "+state.Default+"; MTA-STS is off when the default is missing or not writable)")
	fs.BoolVar(&f.NoMTASTS, "no-mta-sts", false, "do not apply MTA-STS policies and record nothing for TLS-RPT")
	fs.StringVar(&f.Ret, "ret", "", "DSN: return `FULL` or HDRS of the message in a failure notice (RFC 3461 RET)")
	fs.StringVar(&f.EnvID, "envid", "", "DSN: envelope `ID` for notices (RFC 3461 ENVID, printable ASCII)")
	fs.StringVar(&f.Notify, "notify", "", "DSN: `NEVER` or a list of SUCCESS,FAILURE,DELAY for every recipient (RFC 3461 NOTIFY)")
	fs.Var(&f.ORcpt, "orcpt", "DSN: original recipient `TYPE;ADDR` (rfc822;a@b), once per recipient in order (RFC 3461 ORCPT)")
	fs.BoolVar(&f.RequireTLS, "requiretls", false, "REQUIRETLS (RFC 8689): only over verified TLS to servers offering REQUIRETLS, else fail 5.7.30")
	fs.BoolVar(&f.NoChunking, "no-chunking", false, "send with DATA even to servers that offer CHUNKING (BDAT)")
}

// JobDSN is the DSN parameters the flags give a message with n recipients: --orcpt, when
// given, once per recipient. Invalid values are a *UsageError.
func (f *Flags) JobDSN(n int) (smtp.DSN, error) {
	d := smtp.DSN{Ret: strings.ToUpper(f.Ret), EnvID: f.EnvID, Notify: f.Notify}
	if len(f.ORcpt) > 0 {
		if len(f.ORcpt) != n {
			return smtp.DSN{}, &UsageError{fmt.Sprintf("--orcpt given %d times for %d recipients: once per recipient, in order", len(f.ORcpt), n)}
		}
		d.ORcpt = append([]string(nil), f.ORcpt...)
	}
	if err := d.Check(); err != nil {
		return smtp.DSN{}, &UsageError{strings.TrimPrefix(err.Error(), "smtp: ")}
	}
	return d, nil
}

// Timeouts are the per-phase timeouts of -T. Zero values keep the defaults.
type Timeouts struct {
	Connect, Greeting, Command, Data, Dot, Quit time.Duration
}

// Default timeouts: Postfix's smtp(8) defaults, shorter than qmail's 1200 s per reply,
// because a transport agent holds other messages behind a stalled server.
var DefaultTimeouts = Timeouts{
	Connect: 30 * time.Second, Greeting: 300 * time.Second, Command: 300 * time.Second,
	Data: 180 * time.Second, Dot: 600 * time.Second, Quit: 300 * time.Second,
}

// String renders the timeouts in -T syntax.
func (t *Timeouts) String() string {
	if t == nil {
		return ""
	}
	var parts []string
	for _, p := range t.fields() {
		if *p.d != 0 {
			parts = append(parts, p.name+"="+p.d.String())
		}
	}
	return strings.Join(parts, ",")
}

type timeoutField struct {
	name string
	d    *time.Duration
}

func (t *Timeouts) fields() []timeoutField {
	return []timeoutField{{"conn", &t.Connect}, {"greet", &t.Greeting}, {"cmd", &t.Command},
		{"data", &t.Data}, {"dot", &t.Dot}, {"quit", &t.Quit}}
}

// Set parses -T: "conn=10s,cmd=2m" or a bare duration for cmd.
func (t *Timeouts) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			name, val = "cmd", name
		}
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return fmt.Errorf("-T %s: %q is not a positive duration such as 30s or 5m", name, val)
		}
		found := false
		for _, f := range t.fields() {
			if f.name == name {
				*f.d, found = d, true
			}
		}
		if !found {
			return fmt.Errorf("-T: unknown phase %q (conn, greet, cmd, data, dot, quit)", name)
		}
	}
	return nil
}

// merged fills the zero values from def.
func (t Timeouts) merged(def Timeouts) Timeouts {
	out := t
	of, df := out.fields(), def.fields()
	for i := range of {
		if *of[i].d == 0 {
			*of[i].d = *df[i].d
		}
	}
	return out
}

// ConfigError is a local configuration problem (exit 78, EX_CONFIG).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// UsageError is a problem with the command line (exit 64, EX_USAGE).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Setup is a configured engine and what must be released after it.
type Setup struct {
	Engine *deliver.Engine
	// Fallback is --fallback-relay's engine (every destination routed to the relay), nil
	// without it; see Deliverer.
	Fallback *deliver.Engine
	// Resolver is the engine's DNS; StateDir the state directory in use, "" when MTA-STS and
	// TLS-RPT are off. mxout tlsrpt reads both.
	Resolver *dns.Resolver
	StateDir string
	closer   []io.Closer
}

// Close releases the transcript file.
func (s *Setup) Close() {
	for _, c := range s.closer {
		c.Close()
	}
}

// Build configures an engine from the flags and the environment (MXOUT_DNS, MXOUT_SMTP_PORT).
// Errors are *UsageError or *ConfigError.
func (f *Flags) Build(getenv func(string) string) (*Setup, error) {
	s := &Setup{}
	switch {
	case f.RcptLimit < 0:
		return nil, &UsageError{fmt.Sprintf("--rcpt-limit %d: must be 0 (no limit) or more", f.RcptLimit)}
	}
	var ctl *qmailctl.Config
	if f.ControlDir != "" {
		var err error
		if ctl, err = qmailctl.LoadDir(f.ControlDir); err != nil {
			return nil, &ConfigError{fmt.Errorf("-C %s: %w", f.ControlDir, err)}
		}
	}
	port, err := f.port(getenv)
	if err != nil {
		return nil, err
	}
	servers := f.DNS
	if servers == "" {
		servers = getenv("MXOUT_DNS")
	}
	resolver, err := dns.FromList(servers)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("dns: %w", err)}
	}
	t := f.Timeouts.merged(DefaultTimeouts)
	proto, err := f.protocol()
	if err != nil {
		return nil, err
	}
	cfg := deliver.Config{
		LMTP:           proto.lmtp,
		Socket:         proto.socket,
		EightBit:       proto.eightBit,
		HeloHost:       f.heloName(ctl),
		TimeoutConnect: t.Connect,
		TimeoutRemote:  t.Command,
		Timeouts: smtp.Timeouts{Greeting: t.Greeting, Command: t.Command, DataInit: t.Data,
			DataXfer: t.Data, Dot: t.Dot, Quit: t.Quit},
		NoPipelining:         f.NoPipelining,
		EHLOOnlyIfESMTP:      f.EHLOIfESMTP,
		TLSA:                 resolver,
		ClearAfterTLSFailure: !f.NoClearRetry,
		Chunking:             !f.NoChunking,
		HonourTLSRequiredNo:  true,
		Planner: &route.Planner{
			Resolver: resolver, Port: port, NoMX: f.NoMX, Interleave: !f.PreferIPv6,
			IgnoreMXLookupError: f.IgnoreMXLookupError,
		},
	}
	if dir, ok, err := f.stateDir(getenv); err != nil {
		return nil, err
	} else if ok {
		cfg.MTASTS, cfg.TLSReport = state.MTASTS(dir, resolver), state.TLSRPT(dir)
		s.StateDir = dir
	}
	s.Resolver = resolver
	var more, not []netip.Prefix
	var routing *qmailctl.Routing // nil: by MX, no credentials, no source address
	if ctl != nil {
		routing = ctl.Routing
		cfg.TLSRules, cfg.ClientCerts = ctl.TLSDestinations, ctl.DomainCerts
		cfg.AuthInClear, cfg.AuthMechanisms = ctl.Auth.InClear, ctl.Auth.Mechanisms
		more, not = ctl.MoreIPMe, ctl.NotIPMe
	}
	if routing != nil {
		cfg.Routes = routing.Table()
	}
	if local, err := route.LocalAddrs(more, not); err == nil && !f.BestMXOK {
		// --best-mx-ok: no loop check, so a plan whose best MX is this host keeps it and the
		// mail goes there (to another MTA on this host), as Postfix's best_mx_transport hands it on.
		cfg.Planner.IsLocal = local
	}
	if f.Force != "" && proto.socket == "" {
		r, err := forcedRoute(f.Force, port)
		if err != nil {
			return nil, err
		}
		r.base = routing.Table() // nil-safe: without -C, every route is by MX
		cfg.Routes = r
	}
	if f.AuthFile != "" {
		a, err := ReadAuthFile(f.AuthFile)
		if err != nil {
			return nil, &ConfigError{fmt.Errorf("--auth-file: %w", err)}
		}
		cfg.Routes = withAuth{inner: cfg.Routes, file: a}
	}
	if f.Transcript != "" {
		w, err := transcript.Open(f.Transcript)
		if err != nil {
			return nil, &ConfigError{fmt.Errorf("-l %s: %w", f.Transcript, err)}
		}
		cfg.Transcript = w
		s.closer = append(s.closer, w)
	}
	s.Engine = deliver.New(cfg)
	if f.FallbackRelay != "" {
		r, err := parseRoute("--fallback-relay", f.FallbackRelay, port)
		if err != nil {
			return nil, err
		}
		fb := cfg
		fb.Routes = r
		s.Fallback = deliver.New(fb)
	}
	return s, nil
}

// StateDirectory is the state directory the flags and the environment name: --state-dir,
// else $MXOUT_STATE, else state.Default. explicit says whether the user named it.
func (f *Flags) StateDirectory(getenv func(string) string) (dir string, explicit bool) {
	switch {
	case f.StateDir != "":
		return f.StateDir, true
	case getenv("MXOUT_STATE") != "":
		return getenv("MXOUT_STATE"), true
	}
	return state.Default, false
}

// stateDir decides whether MTA-STS and TLS-RPT are on, and with which directory: on unless
// --no-mta-sts, when the directory is usable. A directory the user named that is not usable
// is a configuration error; a missing default only switches them off, so that mxout works
// out of the box without root.
func (f *Flags) stateDir(getenv func(string) string) (string, bool, error) {
	if f.NoMTASTS {
		return "", false, nil
	}
	dir, explicit := f.StateDirectory(getenv)
	if state.Usable(dir) {
		return dir, true, nil
	}
	if explicit {
		return "", false, &ConfigError{fmt.Errorf("state directory %s: missing or not writable (create it, or --no-mta-sts)", dir)}
	}
	return "", false, nil
}

func (f *Flags) port(getenv func(string) string) (uint16, error) {
	if f.Port != 0 {
		if f.Port < 1 || f.Port > 65535 {
			return 0, &UsageError{fmt.Sprintf("-p %d: not a TCP port", f.Port)}
		}
		return uint16(f.Port), nil
	}
	if v := getenv("MXOUT_SMTP_PORT"); v != "" {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 {
			return 0, &ConfigError{fmt.Errorf("MXOUT_SMTP_PORT=%q is not a TCP port", v)}
		}
		return uint16(n), nil
	}
	return 25, nil
}

// heloName is -h, else the control files' helohost or me, else the host name.
func (f *Flags) heloName(ctl *qmailctl.Config) string {
	switch {
	case f.Helo != "":
		return f.Helo
	case ctl != nil && ctl.HeloHost != "":
		return ctl.HeloHost
	case ctl != nil && ctl.Me != "":
		return ctl.Me
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// forced is the -F route: every destination goes to one host. The control files of -C still
// give the source address and EHLO name (domainips) and the credentials of an authsenders or
// smtproutes entry for the same relay.
type forced struct {
	r    route.Static
	base route.Table
}

func (f forced) Lookup(sender, host string) (route.Static, error) {
	r := f.r
	if f.base == nil {
		return r, nil
	}
	b, err := f.base.Lookup(sender, host)
	if err != nil {
		return r, err
	}
	r.LocalIP, r.HeloHost = b.LocalIP, b.HeloHost
	if !b.MX() && strings.EqualFold(b.Relay, r.Relay) {
		r.User, r.Password = b.User, b.Password
	}
	return r, nil
}

// forcedRoute parses -F: "host", "host:port", "[ip]", "[ip]:port".
func forcedRoute(dest string, port uint16) (forced, error) {
	return parseRoute("-F", dest, port)
}

// parseRoute parses a relay given as "host", "host:port", "[ip]" or "[ip]:port" (-F,
// --fallback-relay); flag names the flag in errors.
func parseRoute(flag, dest string, port uint16) (forced, error) {
	bad := &UsageError{fmt.Sprintf("%s %s: want host, host:port, [ip] or [ip]:port", flag, dest)}
	host, p := dest, ""
	if strings.HasPrefix(dest, "[") {
		end := strings.IndexByte(dest, ']')
		if end < 0 {
			return forced{}, bad
		}
		host, p = dest[:end+1], strings.TrimPrefix(dest[end+1:], ":")
		if len(dest) > end+1 && dest[end+1] != ':' {
			return forced{}, bad
		}
	} else if h, pp, ok := strings.Cut(dest, ":"); ok {
		host, p = h, pp
	}
	if host == "" || host == "[]" {
		return forced{}, bad
	}
	if p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return forced{}, bad
		}
		port = uint16(n)
	}
	r := route.Static{Relay: host, Port: port}
	if strings.HasPrefix(host, "[") {
		lit := strings.TrimPrefix(strings.TrimSuffix(host[1:], "]"), "IPv6:")
		a, err := netip.ParseAddr(lit)
		if err != nil {
			return forced{}, bad
		}
		r.Addr = a
	}
	return forced{r: r}, nil
}

// Deliverer wraps d (the engine's pool, or the engine) in the fallback relay when there is
// one: relay is the same kind of deliverer on s.Fallback, made by the caller.
func (s *Setup) Deliverer(d deliver.Deliverer, relay func(*deliver.Engine) deliver.Deliverer) deliver.Deliverer {
	if s.Fallback == nil {
		return d
	}
	return deliver.Fallback{Primary: d, Relay: relay(s.Fallback)}
}

// IsUsage reports a usage error; every other Build error is a configuration error.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// protocol is what -M, -F unix:, -7 and -8 ask of every session.
type protocol struct {
	lmtp     bool
	socket   string // -F unix:PATH
	eightBit deliver.EightBit
}

// protocol reads -M, -7, -8 and a -F unix:/path. A UNIX socket means LMTP (the contract's -F
// unix:/path), with or without -M. LMTP has no standard TCP port (RFC 2033 §5 forbids 25), so
// -M over TCP needs one: -p, or a port in -F. Without -7 or -8 an 8-bit message is downgraded
// for a server without 8BITMIME (docs/downgrade.md).
func (f *Flags) protocol() (protocol, error) {
	p := protocol{lmtp: f.LMTP, eightBit: deliver.EightBitDowngrade}
	switch {
	case f.SevenBit && f.EightBit:
		return p, &UsageError{"-7 and -8 exclude each other: a 7-bit channel, or 8-bit text as it is"}
	case f.SevenBit:
		p.eightBit = deliver.SevenBitOnly
	case f.EightBit:
		p.eightBit = deliver.EightBitAsIs
	}
	if path, ok := strings.CutPrefix(f.Force, "unix:"); ok {
		if !strings.HasPrefix(path, "/") {
			return p, &UsageError{fmt.Sprintf("-F %s: want unix:/absolute/path of the LMTP socket", f.Force)}
		}
		if f.Port != 0 {
			return p, &UsageError{fmt.Sprintf("-F %s and -p %d: a UNIX socket has no port", f.Force, f.Port)}
		}
		p.lmtp, p.socket = true, path
		return p, nil
	}
	if f.LMTP && f.Port == 0 && !forcedPort(f.Force) {
		return p, &UsageError{"-M: LMTP has no standard port; give -p PORT, -F host:port or -F unix:/path"}
	}
	return p, nil
}

// forcedPort reports whether a -F destination names a port ("host:port", "[ip]:port").
func forcedPort(dest string) bool {
	if strings.HasPrefix(dest, "[") {
		return strings.Contains(dest, "]:")
	}
	return strings.Contains(dest, ":")
}

// Parse sets usage as fs's usage text (before the flag list), parses args and handles -V. It
// returns done with the exit status when the command ends here: after --help (0), a bad flag
// (64) or -V (0, the version printed on stdout).
func (f *Flags) Parse(fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer, version string) (exit int, done bool) {
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0, true
		}
		return 64, true
	}
	if f.Version {
		fmt.Fprintln(stdout, "mxout", version)
		return 0, true
	}
	return 0, false
}
