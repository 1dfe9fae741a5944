package mtasts

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

const goodPolicy = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n"

// fetchFrom serves handler as mta-sts.example.test with a certificate for certName and fetches
// the policy of example.test from it.
func fetchFrom(t *testing.T, handler http.HandlerFunc, certName string) (*Policy, error) {
	t.Helper()
	ca := newCA(t)
	ps := startPolicyServer(t, ca, handler, certName)
	return ps.fetcher(ca, nil).Fetch(context.Background(), "Example.Test.")
}

func TestFetchGood(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	var gotHost, gotPath string
	ps := startPolicyServer(t, ca, func(w http.ResponseWriter, r *http.Request) {
		gotHost, gotPath = r.Host, r.URL.Path
		serve(goodPolicy)(w, r)
	}, "mta-sts.example.test")
	var dialed []string
	p, err := ps.fetcher(ca, &dialed).Fetch(context.Background(), "Example.Test.")
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if p.Mode != ModeEnforce || !reflect.DeepEqual(p.MX, []string{"mx.example.test"}) || p.Text() != goodPolicy {
		t.Errorf("Fetch = %+v", p)
	}
	if gotHost != "mta-sts.example.test" || gotPath != "/.well-known/mta-sts.txt" {
		t.Errorf("request for host %q path %q", gotHost, gotPath)
	}
	if !reflect.DeepEqual(dialed, []string{"mta-sts.example.test:443"}) {
		t.Errorf("dialed %q, want mta-sts.example.test:443 only", dialed)
	}
}

func TestFetchRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		certName string
		want     error
	}{
		{"oversize", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			// A valid policy followed by padding: refused for its size alone.
			_, _ = w.Write([]byte(goodPolicy + "x-pad: " + strings.Repeat("a", MaxPolicySize) + "\n"))
		}, "mta-sts.example.test", ErrFetch},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/.well-known/mta-sts.txt" {
				http.Redirect(w, r, "/elsewhere.txt", http.StatusFound)
				return
			}
			serve(goodPolicy)(w, r)
		}, "mta-sts.example.test", ErrFetch},
		{"content type html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(goodPolicy))
		}, "mta-sts.example.test", ErrFetch},
		{"no content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil // keep net/http from sniffing one
			_, _ = w.Write([]byte(goodPolicy))
		}, "mta-sts.example.test", ErrFetch},
		{"status 404", http.NotFound, "mta-sts.example.test", ErrFetch},
		{"name mismatch", serve(goodPolicy), "www.example.test", ErrWebPKI},
		{"bad policy", serve("version: STSv1\nmode: enforce\n"), "mta-sts.example.test", ErrPolicySyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := fetchFrom(t, tt.handler, tt.certName)
			if !errors.Is(err, tt.want) || p != nil {
				t.Fatalf("Fetch = %+v, %v; want %v", p, err, tt.want)
			}
		})
	}
}

func TestFetchSlowIsRefused(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	ca := newCA(t)
	ps := startPolicyServer(t, ca, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("version: STSv1\n")) // headers and a first line, then nothing
		w.(http.Flusher).Flush()
		<-release // whatever the client does: only its own timeout can end the fetch
	}, "mta-sts.example.test")
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for the handler
	f := ps.fetcher(ca, nil)
	f.Timeout = 300 * time.Millisecond
	start := time.Now()
	p, err := f.Fetch(context.Background(), "example.test")
	if !errors.Is(err, ErrFetch) || p != nil {
		t.Fatalf("Fetch = %+v, %v; want ErrFetch", p, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Fetch took %v with a 300ms timeout", d)
	}
}

func TestFetchUntrustedCA(t *testing.T) {
	t.Parallel()
	ca, other := newCA(t), newCA(t)
	ps := startPolicyServer(t, ca, serve(goodPolicy), "mta-sts.example.test")
	p, err := ps.fetcher(other, nil).Fetch(context.Background(), "example.test")
	if !errors.Is(err, ErrWebPKI) || p != nil {
		t.Fatalf("Fetch = %+v, %v; want ErrWebPKI", p, err)
	}
}

func TestFetchBadDomain(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"", ".", "a..b", "exa mple.test", "example.test/x", "../etc", "x_y.test"} {
		if _, err := (&Fetcher{}).Fetch(context.Background(), d); !errors.Is(err, ErrDomain) {
			t.Errorf("Fetch(%q) = %v, want ErrDomain", d, err)
		}
	}
}
