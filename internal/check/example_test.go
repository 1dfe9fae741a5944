package check_test

import (
	"context"
	"net/netip"
	"os"
	"time"

	"github.com/mxout/mxout/internal/check"
	"github.com/mxout/mxout/internal/dns"
)

// nullMXResolver knows one domain, which publishes a null MX (RFC 7505), DNSSEC-signed.
type nullMXResolver struct{}

func (nullMXResolver) LookupMX(context.Context, string) ([]dns.MX, dns.Result, error) {
	return []dns.MX{{Host: ".", Pref: 0}}, dns.Result{Authentic: true}, nil
}

func (nullMXResolver) LookupIP(context.Context, string) ([]netip.Addr, dns.Result, error) {
	return nil, dns.Result{}, dns.ErrTemporary // never asked: a null MX has no hosts
}

func (nullMXResolver) LookupTLSA(context.Context, uint16, string) ([]dns.TLSA, dns.Result, error) {
	return nil, dns.Result{}, dns.ErrTemporary
}

// A domain with a null MX: check connects nowhere and says the message would bounce.
func ExampleRun() {
	rep := check.Run(context.Background(), "nullmx.example.test", check.Options{
		Resolver: nullMXResolver{},
		Now:      func() time.Time { return time.Date(2026, 11, 30, 8, 30, 0, 0, time.UTC) },
	})
	check.WriteText(os.Stdout, rep)
	// Output:
	// mxout check nullmx.example.test (port 25, 2026-11-30 08:30:00 UTC)
	//
	// MX       null MX (secure): the domain accepts no mail
	// MTA-STS  not checked (switched off, or an address literal)
	//
	// Verdict: null MX: would bounce 5.1.10
}
