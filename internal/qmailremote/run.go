package qmailremote

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/qmailctl"
	"github.com/mxout/mxout/internal/report"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/state"
)

// DefaultHome is where qmail lives unless QMAILHOME says otherwise.
const DefaultHome = "/var/qmail"

// Run delivers one message as qmail-remote does: args are "host sender recip...", the message
// is read from stdin, the reports go to stdout, and getenv reads the environment. It always
// returns 0 (the outcome is in the report bytes) and writes nothing else anywhere.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, getenv func(string) string) int {
	stdout.Write(Report(ctx, args, stdin, getenv, nil))
	return 0
}

// Report is Run's work: it returns the report bytes. When transcript is not nil it receives
// the SMTP dialogue of every session (the demo shows it).
func Report(ctx context.Context, args []string, stdin io.Reader, getenv func(string) string, transcript io.Writer) []byte {
	if len(args) < 3 {
		return report.Message(report.Usage)
	}
	cfg, fail := LoadControl(getenv)
	if fail != nil {
		return fail
	}
	e, err := NewEngine(cfg, getenv, transcript)
	if err != nil {
		return report.Message(ReportBadPort)
	}
	msg, err := message.Read(stdin, "")
	if err != nil {
		return report.Message(report.ReadMessage)
	}
	defer msg.Close()
	job := &deliver.Job{Host: args[0], Sender: args[1], Recipients: args[2:], Message: msg}
	return report.Qmail(e.Deliver(ctx, job))
}

// ReportBadPort is the message report for a MXOUT_SMTP_PORT that is not a port number.
const ReportBadPort = "ZMXOUT_SMTP_PORT is not a port number. (#4.3.0)\n"

// LoadControl reads the control files of $QMAILHOME (DefaultHome when unset) as qmail-remote
// does. On failure it returns the report qmail-remote prints instead of delivering.
func LoadControl(getenv func(string) string) (*qmailctl.Config, []byte) {
	home := getenv("QMAILHOME")
	if home == "" {
		home = DefaultHome
	}
	cfg, err := qmailctl.Load(home)
	switch {
	case errors.Is(err, qmailctl.ErrHome):
		return nil, report.Message(report.NoHome)
	case err != nil:
		return nil, report.Message(report.NoControl)
	}
	return cfg, nil
}

// NewEngine builds the engine qmail-remote delivers with from the control files in cfg and the
// environment (MXOUT_DNS, MXOUT_SMTP_PORT through getenv). qmail-rspawn builds its engine here
// too, so both deliver alike. Nothing is read or looked up yet: the resolver configuration and
// the interface list are read on first use. transcript, when not nil, receives every session's
// dialogue. MTA-STS and TLS-RPT are on when the state directory (stateDir) is usable. The only
// error is a bad MXOUT_SMTP_PORT.
func NewEngine(cfg *qmailctl.Config, getenv func(string) string, transcript io.Writer) (*deliver.Engine, error) {
	port, err := smtpPort(getenv("MXOUT_SMTP_PORT"))
	if err != nil {
		return nil, err
	}
	resolver := &lazyResolver{servers: getenv("MXOUT_DNS")}
	e := deliver.New(deliver.Config{
		HeloHost:       cfg.HeloHost,
		TimeoutConnect: atLeastOneSecond(cfg.TimeoutConnect),
		TimeoutRemote:  atLeastOneSecond(cfg.TimeoutRemote),
		Routes:         cfg.Routing.Table(),
		AuthInClear:    cfg.Auth.InClear,
		AuthMechanisms: cfg.Auth.Mechanisms,
		TLSRules:       cfg.TLSDestinations,
		ClientCerts:    cfg.DomainCerts,
		TLSA:           resolver,
		Planner: &route.Planner{
			Resolver: resolver,
			Port:     port,
			IsLocal:  lazyLocal(cfg.MoreIPMe, cfg.NotIPMe),
		},
		Transcript: transcript,
	})
	home := getenv("QMAILHOME")
	if home == "" {
		home = DefaultHome
	}
	if dir := stateDir(home, getenv); state.Usable(dir) {
		e.MTASTS, e.TLSReport = state.MTASTS(dir, resolver), state.TLSRPT(dir)
	}
	return e, nil
}

// stateDir is qmail-remote's state directory: $MXOUT_STATE, else QMAILHOME/mxout. MTA-STS
// and TLS-RPT are on when it exists and qmailr may write in it (one access(2) at start-up);
// MXOUT_STATE=off switches them off.
func stateDir(home string, getenv func(string) string) string {
	switch v := getenv("MXOUT_STATE"); v {
	case "":
		return state.QmailDir(home)
	case "off":
		return ""
	default:
		return v
	}
}

// atLeastOneSecond keeps a timeout of 0 from meaning "no limit" to the deliverer: every read and
// write stays bounded. The reference times out at once with 0, so a server that answers within a
// second may fare better here; a configuration of 0 is a mistake either way.
func atLeastOneSecond(d time.Duration) time.Duration {
	return max(d, time.Second)
}

// smtpPort reads MXOUT_SMTP_PORT; "" means 25.
func smtpPort(s string) (uint16, error) {
	if s == "" {
		return 25, nil
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, errors.New("qmailremote: bad MXOUT_SMTP_PORT")
	}
	return uint16(n), nil
}

// lazyResolver reads the resolver configuration on the first lookup only: a delivery through a
// static route to an address literal never needs it, and start-up stays cheap. servers is
// $MXOUT_DNS as Run's getenv gives it.
type lazyResolver struct {
	servers string
	once    sync.Once
	r       *dns.Resolver
	err     error
}

func (l *lazyResolver) get() (*dns.Resolver, error) {
	l.once.Do(func() { l.r, l.err = dns.FromList(l.servers) })
	return l.r, l.err
}

// LookupMX implements route.Lookuper.
func (l *lazyResolver) LookupMX(ctx context.Context, name string) ([]dns.MX, dns.Result, error) {
	r, err := l.get()
	if err != nil {
		return nil, dns.Result{}, errors.Join(dns.ErrTemporary, err)
	}
	return r.LookupMX(ctx, name)
}

// LookupIP implements route.Lookuper.
func (l *lazyResolver) LookupIP(ctx context.Context, name string) ([]netip.Addr, dns.Result, error) {
	r, err := l.get()
	if err != nil {
		return nil, dns.Result{}, errors.Join(dns.ErrTemporary, err)
	}
	return r.LookupIP(ctx, name)
}

// LookupTXT implements state.Resolver (the _mta-sts record).
func (l *lazyResolver) LookupTXT(ctx context.Context, name string) ([]string, dns.Result, error) {
	r, err := l.get()
	if err != nil {
		return nil, dns.Result{}, errors.Join(dns.ErrTemporary, err)
	}
	return r.LookupTXT(ctx, name)
}

// LookupTLSA implements deliver.TLSALookuper.
func (l *lazyResolver) LookupTLSA(ctx context.Context, port uint16, host string) ([]dns.TLSA, dns.Result, error) {
	r, err := l.get()
	if err != nil {
		return nil, dns.Result{}, errors.Join(dns.ErrTemporary, err)
	}
	return r.LookupTLSA(ctx, port, host)
}

// lazyLocal builds the loop-check predicate on first use: listing the interfaces is only
// needed when routing by MX.
func lazyLocal(more, not []netip.Prefix) func(netip.Addr) bool {
	var once sync.Once
	var is func(netip.Addr) bool
	return func(a netip.Addr) bool {
		once.Do(func() {
			var err error
			if is, err = route.LocalAddrs(more, not); err != nil {
				// Without the interface list only wildcard addresses count as this machine;
				// a real loop then fails at the remote end instead of here.
				is = netip.Addr.IsUnspecified
			}
		})
		return is(a)
	}
}
