package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/idna"
)

// defaultFetchTimeout bounds one fetch when Fetcher.Timeout is 0: connect, TLS, request and
// the whole body. RFC 8461 §3.3 suggests a timeout without a number; a minute is what several
// implementations use, and a delivery waits for it only on a new or changed policy.
const defaultFetchTimeout = time.Minute

// wellKnownPath is where the policy lives on mta-sts.<domain> (RFC 8461 §3.3).
const wellKnownPath = "/.well-known/mta-sts.txt"

// Fetcher fetches policies over HTTPS (RFC 8461 §3.3). The zero Fetcher is ready to use: the
// system roots, a one-minute timeout, the default dialer. A Fetcher is safe for concurrent use
// once its fields are set; do not change them after the first Fetch.
type Fetcher struct {
	// Roots verifies the policy host's certificate; nil means the system's roots (the Web PKI,
	// as RFC 8461 §3.3 requires). Tests give their own CA here.
	Roots *x509.CertPool
	// Timeout bounds one whole fetch, body included; 0 means one minute.
	Timeout time.Duration
	// DialContext opens the TCP connection to "mta-sts.<domain>:443"; nil means a net.Dialer.
	// Tests point it at a loopback server. The TLS name check still uses mta-sts.<domain>.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	once   sync.Once
	client *http.Client
}

// httpClient builds, once, a client that follows no redirect (RFC 8461 §3.3), uses no proxy,
// keeps no idle connection (one fetch per domain and max_age: nothing to reuse) and bounds
// the response header.
func (f *Fetcher) httpClient() *http.Client {
	f.once.Do(func() {
		dial := f.DialContext
		if dial == nil {
			dial = (&net.Dialer{}).DialContext
		}
		tr := &http.Transport{
			Proxy:                  nil,
			DialContext:            dial,
			TLSClientConfig:        &tls.Config{RootCAs: f.Roots, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:    f.timeout(),
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: 16 << 10,
			ForceAttemptHTTP2:      true,
		}
		f.client = &http.Client{
			Transport: tr,
			Timeout:   f.timeout(),
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // the 3xx itself is returned and refused below
			},
		}
	})
	return f.client
}

func (f *Fetcher) timeout() time.Duration {
	if f.Timeout <= 0 {
		return defaultFetchTimeout
	}
	return f.Timeout
}

// Fetch gets and parses the policy of domain from
// https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.3). It accepts only status
// 200 (a redirect is refused, not followed), media type text/plain (parameters such as
// charset are ignored; RFC 8461 §3.2), a body of at most MaxPolicySize bytes read within the
// timeout, and a certificate that verifies for mta-sts.<domain>. Errors wrap ErrDomain,
// ErrFetch, ErrWebPKI or ErrPolicySyntax.
func (f *Fetcher) Fetch(ctx context.Context, domain string) (*Policy, error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	url := "https://mta-sts." + d + wellKnownPath
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFetch, url, err)
	}
	req.Header.Set("User-Agent", "mxout")
	resp, err := f.httpClient().Do(req)
	if err != nil {
		return nil, fetchError(url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s: status %d, want 200", ErrFetch, url, resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return nil, fmt.Errorf("%w: %s: media type %q, want text/plain", ErrFetch, url, bounded(resp.Header.Get("Content-Type")))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicySize+1))
	if err == nil {
		// A body that ended cleanly just as the deadline passed may still be cut short:
		// net/http can report EOF in that race. Late is failed.
		err = ctx.Err()
	}
	if err != nil {
		return nil, fetchError(url, err)
	}
	if len(body) > MaxPolicySize {
		return nil, fmt.Errorf("%w: %s: body over %d bytes", ErrFetch, url, MaxPolicySize)
	}
	p, err := ParsePolicy(body)
	if err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, url)
	}
	return p, nil
}

// fetchError classifies a transport error: a certificate that does not verify is ErrWebPKI,
// anything else ErrFetch.
func fetchError(url string, err error) error {
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	if errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify) {
		return fmt.Errorf("%w: %s: %w", ErrWebPKI, url, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrFetch, url, err)
}

// normalizeDomain returns domain in lower-case ASCII without a final dot, or an error
// wrapping ErrDomain. The result is safe in a URL host and in a file name: only letters,
// digits, hyphens and dots, no empty label.
func normalizeDomain(domain string) (string, error) {
	d := strings.TrimSuffix(domain, ".")
	a, err := idna.Lookup.ToASCII(d)
	if err == nil {
		d = strings.ToLower(a)
	}
	if err != nil || !validHostName(d) {
		return "", fmt.Errorf("%w %q", ErrDomain, bounded(domain))
	}
	return d, nil
}
