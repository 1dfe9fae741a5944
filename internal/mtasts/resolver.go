package mtasts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mxout/mxout/internal/dns"
)

const (
	// defaultRefreshAfter: a cached policy is fetched again once it is this old (or half its
	// max_age, if that is sooner), even when the TXT id did not change.
	defaultRefreshAfter = 24 * time.Hour
	// refreshRetry: after a process began a refresh, others wait this long before trying too.
	refreshRetry = 5 * time.Minute
)

// TXTResolver answers TXT questions; *dns.Resolver is one. Errors must wrap dns.ErrNotFound
// for a name that does not exist; every other error counts as temporary.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, dns.Result, error)
}

// Source says where the policy that Get returned came from.
type Source int

// The sources.
const (
	SourceNone  Source = iota // no policy: deliver as if the domain had no MTA-STS
	SourceCache               // the cache, unchanged (still current, or kept after a failure)
	SourceFetch               // fetched during this call, and now in the cache
)

// String returns "none", "cache" or "fetch".
func (s Source) String() string {
	switch s {
	case SourceNone:
		return "none"
	case SourceCache:
		return "cache"
	case SourceFetch:
		return "fetch"
	}
	return "Source(" + strconv.Itoa(int(s)) + ")"
}

// Resolver finds the policy that applies to a recipient domain (RFC 8461 §3.3, §5.1). Set
// DNS; the other fields have working zero values. A Resolver is safe for concurrent use once
// its fields are set.
type Resolver struct {
	DNS     TXTResolver
	Fetcher *Fetcher // nil: a zero Fetcher (system roots, one minute)
	Cache   *Cache   // nil: no cache; every Get with a record fetches
	// RefreshAfter is the age at which a cached policy is fetched again although its id is
	// unchanged (capped at half its max_age); 0 means 24 hours.
	RefreshAfter time.Duration
	Now          func() time.Time // nil: time.Now
}

// Get returns the policy that applies to domain, following RFC 8461 §3.3 and §5.1:
//
//  1. Look up the TXT record at _mta-sts.<domain> and read the cache.
//  2. A record whose id equals the cached entry's, with the entry neither expired nor due
//     for a refresh: the cached policy (SourceCache), no fetch.
//  3. A record that is new or changed, or a cached entry that is expired or due for a refresh
//     (RefreshAfter): fetch. Success: the new policy, cached (SourceFetch).
//  4. Anything that fails with an unexpired cached entry: the fetch, the TXT lookup, a missing,
//     duplicated or broken record. The cached policy is kept and returned (SourceCache):
//     an attacker who blocks DNS or HTTPS cannot remove a policy before its max_age runs
//     out (RFC 8461 §10.2). Only a successfully fetched policy replaces it, a "mode: none"
//     one included, which is how a domain withdraws MTA-STS (RFC 8461 §8.3).
//  5. The same failures without a usable entry: no policy (SourceNone).
//
// The results are meaningful also with an error: a non-nil Policy must be applied, and err
// then says what failed on the way (a refresh, the cache write) for logs and TLS-RPT; with a
// nil Policy, delivery goes on as without MTA-STS, and err, when non-nil, says why no
// policy was found (ErrNoRecord for a domain without MTA-STS). Errors wrap this package's
// sentinels, so errors.Is tells ErrFetch, ErrWebPKI and ErrPolicySyntax apart for RFC 8460
// §4.3.2. Get never fails a delivery by itself: RFC 8461 §5.1 applies an unreachable policy
// as none.
func (r *Resolver) Get(ctx context.Context, domain string) (*Policy, Source, error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return nil, SourceNone, err
	}
	now := r.now()
	cached, cacheErr := r.cached(d, now)
	rec, recErr := r.record(ctx, d)
	if recErr != nil {
		if cached != nil {
			return cached.Policy, SourceCache, errors.Join(recErr, cacheErr)
		}
		return nil, SourceNone, errors.Join(recErr, cacheErr)
	}
	if cached != nil && cached.ID == rec.ID && !r.refreshDue(cached, now) {
		return cached.Policy, SourceCache, nil
	}
	if cached != nil && cached.ID == rec.ID {
		// A refresh: tell the other processes that this one does it.
		claim := *cached
		claim.Checked = now
		_ = r.Cache.Put(&claim) // a failed claim only costs a duplicate fetch
	}
	p, fetchErr := r.fetcher().Fetch(ctx, d)
	if fetchErr != nil {
		if cached != nil {
			return cached.Policy, SourceCache, fetchErr
		}
		return nil, SourceNone, errors.Join(fetchErr, cacheErr)
	}
	if r.Cache != nil {
		e := &Entry{Domain: d, ID: rec.ID, Fetched: now, Expires: now.Add(p.MaxAge), Policy: p}
		if err := r.Cache.Put(e); err != nil {
			return p, SourceFetch, err
		}
	}
	return p, SourceFetch, nil
}

// cached returns the unexpired cache entry of d, or nil. A broken entry is nil with an error.
func (r *Resolver) cached(d string, now time.Time) (*Entry, error) {
	if r.Cache == nil {
		return nil, nil
	}
	e, err := r.Cache.Get(d)
	if err != nil || e == nil || !now.Before(e.Expires) {
		return nil, err
	}
	return e, nil
}

// record looks up and selects the TXT record of d. A name that does not exist is ErrNoRecord;
// any other lookup failure is ErrDNS.
func (r *Resolver) record(ctx context.Context, d string) (Record, error) {
	txts, _, err := r.DNS.LookupTXT(ctx, "_mta-sts."+d)
	switch {
	case errors.Is(err, dns.ErrNotFound):
		return Record{}, fmt.Errorf("%w for %s: %w", ErrNoRecord, d, err)
	case err != nil:
		return Record{}, fmt.Errorf("%w for %s: %w", ErrDNS, d, err)
	}
	rec, err := SelectRecord(txts)
	if err != nil {
		return Record{}, fmt.Errorf("%w (at _mta-sts.%s)", err, d)
	}
	return rec, nil
}

// refreshDue reports whether e should be fetched again although its id is current: it is
// older than RefreshAfter or half its max_age, and no process began a refresh in the last
// refreshRetry (RFC 8461 §3.3 asks senders to refresh before expiry, so that a policy in
// regular use never lapses into the window where an attacker could strip it).
func (r *Resolver) refreshDue(e *Entry, now time.Time) bool {
	after := r.RefreshAfter
	if after <= 0 {
		after = defaultRefreshAfter
	}
	after = min(after, e.Expires.Sub(e.Fetched)/2)
	if now.Before(e.Fetched.Add(after)) {
		return false
	}
	return e.Checked.IsZero() || !now.Before(e.Checked.Add(refreshRetry))
}

func (r *Resolver) fetcher() *Fetcher {
	if r.Fetcher == nil {
		return defaultFetcher
	}
	return r.Fetcher
}

// defaultFetcher is shared by Resolvers without a Fetcher, so that they share its client.
var defaultFetcher = &Fetcher{}

func (r *Resolver) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}
