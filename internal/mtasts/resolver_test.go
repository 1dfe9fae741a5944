package mtasts

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/dns/dnstest"
)

const (
	txtName       = "_mta-sts.example.test"
	testingPolicy = "version: STSv1\nmode: testing\nmx: *.example.test\nmax_age: 86400\n"
)

// getEnv is one recipient domain, example.test, with its TXT record, its policy server, a
// cache directory and a clock.
type getEnv struct {
	txt   *fakeTXT
	ps    *policyServer
	clock *clock
	r     *Resolver
	dir   string
}

func newGetEnv(t *testing.T) *getEnv {
	t.Helper()
	ca := newCA(t)
	e := &getEnv{
		txt:   &fakeTXT{},
		ps:    startPolicyServer(t, ca, serve(goodPolicy), "mta-sts.example.test"),
		clock: &clock{t: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)},
		dir:   filepath.Join(t.TempDir(), "mta-sts"),
	}
	e.txt.set(txtName, []string{"v=STSv1; id=one"}, false)
	e.r = &Resolver{DNS: e.txt, Fetcher: e.ps.fetcher(ca, nil), Cache: &Cache{Dir: e.dir}, Now: e.clock.now}
	return e
}

// get calls Get and checks the source, the mode of the policy (a nil policy exactly when
// wantSource is SourceNone) and how many requests reached the policy server so far (not
// checked when wantHits is negative).
func (e *getEnv) get(t *testing.T, step string, wantSource Source, wantMode Mode, wantHits int32) (*Policy, error) {
	t.Helper()
	p, src, err := e.r.Get(context.Background(), "example.test")
	if src != wantSource {
		t.Fatalf("%s: Get source %v, want %v (err %v)", step, src, wantSource, err)
	}
	if (p == nil) != (wantSource == SourceNone) {
		t.Fatalf("%s: Get policy %+v with source %v", step, p, src)
	}
	if p != nil && p.Mode != wantMode {
		t.Fatalf("%s: Get mode %v, want %v", step, p.Mode, wantMode)
	}
	if n := e.ps.hits.Load(); wantHits >= 0 && n != wantHits {
		t.Fatalf("%s: %d fetches so far, want %d", step, n, wantHits)
	}
	return p, err
}

func TestGetFetchesThenUsesCache(t *testing.T) {
	t.Parallel()
	e := newGetEnv(t)
	if _, err := e.get(t, "first", SourceFetch, ModeEnforce, 1); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(time.Hour)
	if _, err := e.get(t, "same id", SourceCache, ModeEnforce, 1); err != nil {
		t.Fatal(err)
	}
	// Another process sees the cached policy without fetching.
	other := *e.r
	other.Cache = &Cache{Dir: e.dir}
	if p, src, err := other.Get(context.Background(), "EXAMPLE.test."); err != nil || src != SourceCache || p.Mode != ModeEnforce || e.ps.hits.Load() != 1 {
		t.Fatalf("second process: Get = %+v, %v, %v after %d fetches", p, src, err, e.ps.hits.Load())
	}
}

func TestGetChangedIDFetches(t *testing.T) {
	t.Parallel()
	e := newGetEnv(t)
	e.get(t, "first", SourceFetch, ModeEnforce, 1)
	e.ps.set(serve(testingPolicy))
	e.txt.set(txtName, []string{"v=STSv1; id=two"}, false)
	if _, err := e.get(t, "new id", SourceFetch, ModeTesting, 2); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.r.Cache.Get("example.test"); c == nil || c.ID != "two" || c.Policy.Mode != ModeTesting {
		t.Fatalf("cache holds %+v after the change", c)
	}
}

// Downgrade resistance (RFC 8461 §10.2): once a policy is cached, nothing an attacker can do
// to DNS or HTTPS removes it before it expires.
func TestGetKeepsCachedPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		attack  func(e *getEnv)
		wantErr error
	}{
		{"fetch fails after a good one", func(e *getEnv) {
			e.txt.set(txtName, []string{"v=STSv1; id=two"}, false)
			e.ps.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
		}, ErrFetch},
		{"new policy invalid", func(e *getEnv) {
			e.txt.set(txtName, []string{"v=STSv1; id=two"}, false)
			e.ps.set(serve("version: STSv1\nmode: enforce\n"))
		}, ErrPolicySyntax},
		{"record disappears", func(e *getEnv) { e.txt.set(txtName, nil, false) }, ErrNoRecord},
		{"record empty", func(e *getEnv) { e.txt.set(txtName, []string{}, false) }, ErrNoRecord},
		{"record broken", func(e *getEnv) { e.txt.set(txtName, []string{"v=STSv1; id="}, false) }, ErrRecordSyntax},
		{"records doubled", func(e *getEnv) {
			e.txt.set(txtName, []string{"v=STSv1; id=one", "v=STSv1; id=two"}, false)
		}, ErrMultipleRecords},
		{"dns fails", func(e *getEnv) { e.txt.set(txtName, nil, true) }, ErrDNS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newGetEnv(t)
			e.get(t, "good", SourceFetch, ModeEnforce, 1)
			tt.attack(e)
			e.clock.advance(2 * time.Hour)
			p, err := e.get(t, "after the attack", SourceCache, ModeEnforce, -1)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Get error %v, want %v alongside the cached policy", err, tt.wantErr)
			}
			if !p.Match("mx.example.test") {
				t.Error("the cached policy lost its mx")
			}
			// Once the cached policy has expired, the attack wins: no policy.
			e.clock.advance(24 * time.Hour)
			if _, err := e.get(t, "expired", SourceNone, ModeNone, -1); !errors.Is(err, tt.wantErr) {
				t.Errorf("Get after expiry: error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestGetNoPolicy(t *testing.T) {
	t.Parallel()
	e := newGetEnv(t)
	e.txt.set(txtName, nil, false)
	if _, err := e.get(t, "no record", SourceNone, ModeNone, 0); !errors.Is(err, ErrNoRecord) {
		t.Errorf("error %v, want ErrNoRecord", err)
	}
	// A record whose policy cannot be fetched, with nothing cached: no policy either.
	e.txt.set(txtName, []string{"v=STSv1; id=one"}, false)
	e.ps.set(http.NotFound)
	if _, err := e.get(t, "no policy file", SourceNone, ModeNone, 1); !errors.Is(err, ErrFetch) {
		t.Errorf("error %v, want ErrFetch", err)
	}
}

func TestGetExpiredFetchesAgain(t *testing.T) {
	t.Parallel()
	e := newGetEnv(t)
	e.get(t, "first", SourceFetch, ModeEnforce, 1)
	e.clock.advance(24*time.Hour + time.Second) // max_age 86400 has run out; same id
	e.get(t, "expired", SourceFetch, ModeEnforce, 2)
	c, err := e.r.Cache.Get("example.test")
	if err != nil || !c.Fetched.Equal(e.clock.now()) || !c.Expires.Equal(e.clock.now().Add(24*time.Hour)) {
		t.Fatalf("cache entry %+v, %v after the new fetch", c, err)
	}
}

// A policy in use is fetched again before it expires, id unchanged, so that it never lapses;
// when that refresh fails, the policy stays, and other deliveries do not retry at once.
func TestGetRefreshesBeforeExpiry(t *testing.T) {
	t.Parallel()
	e := newGetEnv(t)
	e.ps.set(serve("version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 604800\n")) // a week
	e.get(t, "first", SourceFetch, ModeEnforce, 1)
	e.clock.advance(23 * time.Hour)
	e.get(t, "before RefreshAfter", SourceCache, ModeEnforce, 1)
	e.clock.advance(time.Hour)
	e.get(t, "refresh", SourceFetch, ModeEnforce, 2)
	if c, _ := e.r.Cache.Get("example.test"); c == nil || !c.Fetched.Equal(e.clock.now()) {
		t.Fatalf("cache entry %+v not renewed by the refresh", c)
	}

	e.ps.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	e.clock.advance(25 * time.Hour)
	if _, err := e.get(t, "failed refresh", SourceCache, ModeEnforce, 3); !errors.Is(err, ErrFetch) {
		t.Errorf("failed refresh: error %v, want ErrFetch", err)
	}
	e.clock.advance(time.Minute)
	if _, err := e.get(t, "within refreshRetry", SourceCache, ModeEnforce, 3); err != nil {
		t.Errorf("within refreshRetry: %v", err)
	}
	e.clock.advance(refreshRetry)
	e.get(t, "after refreshRetry", SourceCache, ModeEnforce, 4)
}

// A short max_age is refreshed at half of it.
func TestGetRefreshShortMaxAge(t *testing.T) {
	t.Parallel()
	e := newGetEnv(t)
	e.ps.set(serve("version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 3600\n"))
	e.get(t, "first", SourceFetch, ModeEnforce, 1)
	e.clock.advance(29 * time.Minute)
	e.get(t, "before half", SourceCache, ModeEnforce, 1)
	e.clock.advance(time.Minute)
	e.get(t, "at half", SourceFetch, ModeEnforce, 2)
}

// "mode: none" under a new id is how a domain withdraws its policy (RFC 8461 §8.3).
func TestGetModeNoneReplaces(t *testing.T) {
	t.Parallel()
	e := newGetEnv(t)
	e.get(t, "enforce", SourceFetch, ModeEnforce, 1)
	e.ps.set(serve("version: STSv1\nmode: none\nmax_age: 86400\n"))
	e.txt.set(txtName, []string{"v=STSv1; id=withdrawn"}, false)
	p, _ := e.get(t, "none", SourceFetch, ModeNone, 2)
	if eff := p.Effect("elsewhere.test"); eff != (Effect{}) {
		t.Errorf("Effect under mode none = %+v, want none", eff)
	}
}

func TestGetWithoutCache(t *testing.T) {
	t.Parallel()
	e := newGetEnv(t)
	e.r.Cache = nil
	e.get(t, "first", SourceFetch, ModeEnforce, 1)
	e.get(t, "second", SourceFetch, ModeEnforce, 2)
}

func TestGetBrokenCacheEntryIsReplaced(t *testing.T) {
	t.Parallel()
	e := newGetEnv(t)
	e.get(t, "first", SourceFetch, ModeEnforce, 1)
	if err := writeAtomic(filepath.Join(e.dir, "example.test.json"), []byte("{broken")); err != nil {
		t.Fatal(err)
	}
	e.get(t, "broken entry", SourceFetch, ModeEnforce, 2)
	if c, err := e.r.Cache.Get("example.test"); err != nil || c == nil {
		t.Fatalf("cache after the fetch: %+v, %v", c, err)
	}
}

// The whole path with the real DNS client against a loopback DNS server: a CNAME'd record
// split into two character-strings, as zones publish them.
func TestGetWithDNSResolver(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, dnstest.Zone{
		"_mta-sts.example.test. TXT": {Answer: []string{
			"_mta-sts.example.test. 300 IN CNAME sts.provider.test.",
			`sts.provider.test. 300 IN TXT "v=STSv1; " "id=20261130"`,
			`sts.provider.test. 300 IN TXT "unrelated"`,
		}},
	})
	ca := newCA(t)
	ps := startPolicyServer(t, ca, serve(goodPolicy), "mta-sts.example.test")
	r := &Resolver{
		DNS:     &dns.Resolver{Servers: []string{srv.Addr()}, Timeout: 2 * time.Second, Attempts: 1},
		Fetcher: ps.fetcher(ca, nil),
		Cache:   &Cache{Dir: t.TempDir()},
	}
	p, src, err := r.Get(context.Background(), "example.test")
	if err != nil || src != SourceFetch || p.Mode != ModeEnforce {
		t.Fatalf("Get = %+v, %v, %v", p, src, err)
	}
	if e, err := r.Cache.Get("example.test"); err != nil || e.ID != "20261130" {
		t.Fatalf("cached %+v, %v; want id 20261130", e, err)
	}
}
