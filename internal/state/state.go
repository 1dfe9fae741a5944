// Package state is mxout's state directory: where the MTA-STS policy cache and the TLS-RPT
// results live, shared by every mxout process on the machine (qmail-remote is one process per
// delivery, so nothing of this can live in memory). It decides the layout and builds the
// objects that keep the state; packages mtasts and tlsrpt do the keeping.
//
//	<dir>/mta-sts/<domain>.json    mtasts.Cache
//	<dir>/tlsrpt/YYYY-MM-DD.jsonl  tlsrpt.Store
//
// The directory must exist and be writable by the user that delivers (qmailr for
// qmail-remote); mxout never creates it, so that a missing directory switches MTA-STS and
// TLS-RPT off instead of scattering state where nobody looks (docs/mta-sts.md).
package state

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"syscall"

	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/mtasts"
	"github.com/mxout/mxout/internal/tlsrpt"
)

// Default is the state directory of the mxout commands when neither --state-dir nor
// $MXOUT_STATE names one.
const Default = "/var/lib/mxout"

// QmailDir is qmail-remote's default state directory under QMAILHOME. Not inside queue/:
// qmail's queue tools own that tree.
func QmailDir(home string) string { return filepath.Join(home, "mxout") }

// Usable reports whether dir exists and this process may write in it: one access(2), so that
// a qmail-remote without a state directory pays next to nothing for asking.
func Usable(dir string) bool {
	return dir != "" && syscall.Access(dir, 2 /* W_OK */) == nil
}

// Resolver is the DNS the state's users need: TXT for the _mta-sts and _smtp._tls records, and
// addresses for the policy host mta-sts.<domain>. *dns.Resolver implements it.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, dns.Result, error)
	LookupIP(ctx context.Context, name string) ([]netip.Addr, dns.Result, error)
}

// MTASTS returns the MTA-STS resolver with its cache in dir. The policy host is found through
// r, the resolver of the deliveries (so --dns and $MXOUT_DNS apply to it as well), and
// verified against the system roots (RFC 8461 §3.3).
func MTASTS(dir string, r Resolver) *mtasts.Resolver {
	return &mtasts.Resolver{
		DNS:     r,
		Fetcher: &mtasts.Fetcher{DialContext: DialVia(r)},
		Cache:   &mtasts.Cache{Dir: filepath.Join(dir, "mta-sts")},
	}
}

// TLSRPT returns the store of TLS-RPT results in dir.
func TLSRPT(dir string) *tlsrpt.Store {
	return &tlsrpt.Store{Dir: filepath.Join(dir, "tlsrpt")}
}

// DialVia returns a dial function for "host:port" that looks host up through r and tries its
// addresses in order, as net.Dialer would with the system resolver.
func DialVia(r Resolver) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{a}
		} else if addrs, _, err = r.LookupIP(ctx, host); err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("state: no address for %s", host)
		}
		var nd net.Dialer
		var errs []error
		for _, a := range addrs {
			c, err := nd.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	}
}
