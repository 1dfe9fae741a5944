package route

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/mxout/mxout/internal/dns"
)

var (
	errNX   = fmt.Errorf("fake: %w", dns.ErrNotFound)
	errTemp = fmt.Errorf("fake: %w", dns.ErrTemporary)
)

type mxAnswer struct {
	mxs  []dns.MX
	auth bool
	err  error
}

type ipAnswer struct {
	addrs []netip.Addr
	auth  bool
	err   error
}

// fakeDNS is a Lookuper with canned answers. A name it does not know fails with an error that
// wraps neither sentinel (so it counts as temporary), and is recorded like every lookup.
type fakeDNS struct {
	mx map[string]mxAnswer
	ip map[string]ipAnswer

	mu    sync.Mutex
	calls []string // "MX name" or "IP name"
}

func (f *fakeDNS) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeDNS) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

var errUnknown = errors.New("fake: unexpected lookup")

func (f *fakeDNS) LookupMX(_ context.Context, name string) ([]dns.MX, dns.Result, error) {
	f.record("MX " + name)
	a, ok := f.mx[name]
	if !ok {
		return nil, dns.Result{}, errUnknown
	}
	return a.mxs, dns.Result{Authentic: a.auth}, a.err
}

func (f *fakeDNS) LookupIP(_ context.Context, name string) ([]netip.Addr, dns.Result, error) {
	f.record("IP " + name)
	a, ok := f.ip[name]
	if !ok {
		return nil, dns.Result{}, errUnknown
	}
	return a.addrs, dns.Result{Authentic: a.auth}, a.err
}

func ips(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// localSet is an IsLocal predicate for a fixed list of addresses.
func localSet(ss ...string) func(netip.Addr) bool {
	set := map[netip.Addr]bool{}
	for _, a := range ips(ss...) {
		set[a] = true
	}
	return func(a netip.Addr) bool { return set[a] }
}
