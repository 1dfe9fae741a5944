// Package tlsrptfront is `mxout tlsrpt`: once a day it turns the TLS-RPT results the
// deliveries recorded (package tlsrpt's Store, in the state directory) into the aggregate
// reports of RFC 8460 and sends each to the addresses its policy domain publishes in
// _smtp._tls: mail through mxout's own engine (mailto:) or an HTTPS POST (https:).
package tlsrptfront

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/tlsrpt"
)

// postTimeout bounds one HTTPS POST of a report, response included.
const postTimeout = 60 * time.Second

// maxResponse is how much of a POST's response body is read (and thrown away).
const maxResponse = 64 << 10

// Sender sends one day's reports. Store, DNS, Options and From are required; Mail is required
// unless DryRun is set.
type Sender struct {
	Store   *tlsrpt.Store
	DNS     tlsrpt.TXTResolver
	Options tlsrpt.Options
	From    string // the envelope sender and From: of report mail
	// Mail delivers one message to one address; nil only with DryRun.
	Mail func(ctx context.Context, from, to string, msg []byte) error
	// HTTP posts reports to https: URIs; nil means a client that follows no redirect, uses no
	// proxy and the system roots, bounded by postTimeout, and dials with Dial.
	HTTP *http.Client
	// Dial opens the connections of the default HTTP client; nil means a net.Dialer (Go's
	// resolver). The command gives it the delivery resolver (state.DialVia).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// SentDir holds one empty file per report and address already sent, so that a run
	// repeated after a partial failure sends only what is missing; "" keeps no record.
	SentDir string
	// DryRun, when set, is a directory: each report is written there (the .json.gz and, per
	// mailto address, the .eml) instead of being sent.
	DryRun string
	Log    io.Writer // one line per report and address; nil discards
}

// Run builds the reports of the UTC day that contains day and sends them. It returns how
// many sends failed (they are retried by the next run for the same day); err is set when
// nothing could be done (the store unreadable).
func (s *Sender) Run(ctx context.Context, day time.Time) (failed int, err error) {
	results, skipped, err := s.Store.Day(day)
	if err != nil {
		return 0, err
	}
	if skipped > 0 {
		s.logf("tlsrpt: %d broken lines skipped in the store for %s", skipped, day.UTC().Format(time.DateOnly))
	}
	for _, agg := range tlsrpt.Build(results, day, s.Options) {
		failed += s.send(ctx, agg)
	}
	return failed, nil
}

// send delivers one aggregate to every address of its domain's record.
func (s *Sender) send(ctx context.Context, agg *tlsrpt.Aggregate) (failed int) {
	rec, err := tlsrpt.LookupRecord(ctx, s.DNS, agg.PolicyDomain)
	switch {
	case errors.Is(err, tlsrpt.ErrNoRecord), errors.Is(err, tlsrpt.ErrRecordSyntax), errors.Is(err, tlsrpt.ErrMultipleRecords):
		s.logf("%s: no report sent: %v", agg.PolicyDomain, err)
		return 0
	case err != nil:
		s.logf("%s: deferred: %v", agg.PolicyDomain, err)
		return 1
	}
	gz, err := agg.Gzip()
	if err != nil {
		s.logf("%s: %v", agg.PolicyDomain, err)
		return 1
	}
	if s.DryRun != "" {
		if err := writeFile(filepath.Join(s.DryRun, agg.Filename()), gz); err != nil {
			s.logf("%s: %v", agg.PolicyDomain, err)
			return 1
		}
	}
	for _, to := range rec.Mailto {
		if !s.once(agg, "mailto:"+to, func() error { return s.mail(ctx, agg, to) }) {
			failed++
		}
	}
	for _, uri := range rec.HTTPS {
		if !s.once(agg, uri, func() error { return s.post(ctx, uri, gz) }) {
			failed++
		}
	}
	return failed
}

// once runs send unless the report already went to dest, and notes it when it succeeds.
func (s *Sender) once(agg *tlsrpt.Aggregate, dest string, send func() error) bool {
	marker := ""
	if s.SentDir != "" && s.DryRun == "" {
		marker = filepath.Join(s.SentDir, agg.Filename()+"!"+safeName(dest))
		if _, err := os.Stat(marker); err == nil {
			s.logf("%s %s: already sent", agg.PolicyDomain, dest)
			return true
		}
	}
	if err := send(); err != nil {
		s.logf("%s %s: not sent: %v", agg.PolicyDomain, dest, err)
		return false
	}
	what := "sent"
	if s.DryRun != "" {
		what = "written to " + s.DryRun
	}
	s.logf("%s %s: %s", agg.PolicyDomain, dest, what)
	if marker != "" {
		if err := writeFile(marker, nil); err != nil {
			s.logf("%s %s: sent, but not noted (%v): a later run sends it again", agg.PolicyDomain, dest, err)
		}
	}
	return true
}

// mail sends the report as a message to one address (RFC 8460 §5.3).
func (s *Sender) mail(ctx context.Context, agg *tlsrpt.Aggregate, to string) error {
	msg, err := agg.Message(tlsrpt.MessageHeader{From: s.From, To: to})
	if err != nil {
		return err
	}
	if s.DryRun != "" {
		return writeFile(filepath.Join(s.DryRun, agg.Filename()+"!"+safeName(to)+".eml"), msg)
	}
	return s.Mail(ctx, s.From, to, msg)
}

// post sends the gzipped report to an https: URI (RFC 8460 §5.4): Content-Type
// application/tlsrpt+gzip, any 2xx is success, a redirect is not followed.
func (s *Sender) post(ctx context.Context, uri string, gz []byte) error {
	if s.DryRun != "" {
		return nil // the .json.gz is already in DryRun
	}
	ctx, cancel := context.WithTimeout(ctx, postTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, bytes.NewReader(gz))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/tlsrpt+gzip")
	req.Header.Set("User-Agent", "mxout")
	resp, err := s.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: HTTP %s", uri, resp.Status)
	}
	return nil
}

func (s *Sender) client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            s.Dial,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    postTimeout,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       postTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (s *Sender) logf(format string, args ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", args...)
	}
}

// EngineMail is Sender.Mail through the delivery engine: one job to the domain of to.
func EngineMail(e *deliver.Engine) func(ctx context.Context, from, to string, msg []byte) error {
	return func(ctx context.Context, from, to string, msg []byte) error {
		at := strings.LastIndexByte(to, '@')
		if at < 0 {
			return fmt.Errorf("tlsrpt: %q is not an address", to)
		}
		m, err := message.Read(bytes.NewReader(msg), "")
		if err != nil {
			return err
		}
		defer m.Close()
		job := &deliver.Job{Host: to[at+1:], Sender: from, Recipients: []string{to}, Message: m}
		res := e.Deliver(ctx, job)
		if !res.Delivered() {
			o := res.Recipients[0]
			return fmt.Errorf("%s %s", o.Status, o.Describe())
		}
		return nil
	}
}

// safeName makes dest usable in a file name.
func safeName(dest string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r > 126 || r < 32 {
			return '_'
		}
		return r
	}, dest)
}

// writeFile writes b to path, creating its directory.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
