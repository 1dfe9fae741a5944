package tlsrpt

import (
	"context"
	"errors"
	"fmt"
	"github.com/mxout/mxout/internal/txtext"
	"net/mail"
	"net/url"
	"strings"

	"github.com/mxout/mxout/internal/dns"
)

// recordVersion starts every TLS-RPT TXT record (RFC 8460 §3).
const recordVersion = "v=TLSRPTv1"

// maxURIs bounds the rua list; a record with more is refused rather than cut, so that what
// is reported where never depends on an arbitrary prefix.
const maxURIs = 10

var (
	// ErrNoRecord: no TXT record starting "v=TLSRPTv1" at _smtp._tls.<domain>; no report.
	ErrNoRecord = errors.New("tlsrpt: no tls-rpt record")
	// ErrMultipleRecords: more than one; RFC 8460 §3 says to send no report.
	ErrMultipleRecords = errors.New("tlsrpt: more than one tls-rpt record")
	// ErrRecordSyntax: the one record does not follow RFC 8460 §3, or names no usable URI.
	ErrRecordSyntax = errors.New("tlsrpt: bad tls-rpt record")
	// ErrDNS: the TXT lookup failed temporarily; try again later.
	ErrDNS = errors.New("tlsrpt: txt lookup failed")
)

// Record is the TXT record at _smtp._tls.<domain> (RFC 8460 §3): where reports go.
type Record struct {
	// Mailto are the addresses of the mailto: URIs, in the record's order (any ?query of the
	// URI dropped); HTTPS are the https: URIs, whole. Other schemes are dropped; at least
	// one of the two lists is non-empty.
	Mailto []string
	HTTPS  []string
}

// TXTResolver answers TXT questions; *dns.Resolver is one. Errors must wrap dns.ErrNotFound
// for a name that does not exist; every other error counts as temporary.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, dns.Result, error)
}

// LookupRecord looks up and selects the record of a policy domain. A domain that does not
// exist, or has no record, is ErrNoRecord; a failed lookup is ErrDNS.
func LookupRecord(ctx context.Context, r TXTResolver, domain string) (Record, error) {
	name := "_smtp._tls." + strings.TrimSuffix(domain, ".")
	txts, _, err := r.LookupTXT(ctx, name)
	switch {
	case errors.Is(err, dns.ErrNotFound):
		return Record{}, fmt.Errorf("%w at %s: %w", ErrNoRecord, name, err)
	case err != nil:
		return Record{}, fmt.Errorf("%w at %s: %w", ErrDNS, name, err)
	}
	rec, err := SelectRecord(txts)
	if err != nil {
		return Record{}, fmt.Errorf("%w (at %s)", err, name)
	}
	return rec, nil
}

// SelectRecord picks the TLS-RPT record out of all the TXT records of _smtp._tls.<domain>
// (RFC 8460 §3): records that do not start with "v=TLSRPTv1" are discarded; none left is
// ErrNoRecord, more than one ErrMultipleRecords, and the one left must parse.
func SelectRecord(txts []string) (Record, error) {
	var found []string
	for _, t := range txts {
		if rest, ok := strings.CutPrefix(t, recordVersion); ok {
			if rest = strings.TrimLeft(rest, " \t"); rest == "" || rest[0] == ';' {
				found = append(found, t)
			}
		}
	}
	switch len(found) {
	case 0:
		return Record{}, ErrNoRecord
	case 1:
		return ParseRecord(found[0])
	}
	return Record{}, fmt.Errorf("%w (%d)", ErrMultipleRecords, len(found))
}

// ParseRecord parses one TLS-RPT record strictly, following the ABNF of RFC 8460 §3:
// "v=TLSRPTv1" first, fields separated by ";" with optional blanks around it, one optional
// trailing ";", exactly one "rua" field holding a comma-separated list of URIs (blanks allowed
// around the commas), extensions well-formed and ignored. Names are case-sensitive. Each URI
// must parse; mailto: URIs must hold one valid address, https: URIs a host. Errors wrap
// ErrRecordSyntax.
func ParseRecord(t string) (Record, error) {
	rest, ok := strings.CutPrefix(t, recordVersion)
	if !ok {
		return Record{}, recordError(t, "does not start with "+recordVersion)
	}
	fields := strings.Split(rest, ";")
	if len(fields) < 2 || strings.Trim(fields[0], " \t") != "" {
		return Record{}, recordError(t, "no field after the version")
	}
	fields = fields[1:]
	if last := len(fields) - 1; last > 0 && strings.Trim(fields[last], " \t") == "" {
		fields = fields[:last]
	}
	var rec Record
	seenRUA := false
	for _, f := range fields {
		f = strings.Trim(f, " \t")
		name, value, ok := strings.Cut(f, "=")
		switch {
		case !ok:
			return Record{}, recordError(t, fmt.Sprintf("field %q has no '='", f))
		case name == "rua":
			if seenRUA {
				return Record{}, recordError(t, "more than one rua")
			}
			seenRUA = true
			if err := rec.addURIs(value); err != nil {
				return Record{}, recordError(t, err.Error())
			}
		case !txtext.Name(name) || !txtext.Value(value):
			return Record{}, recordError(t, fmt.Sprintf("bad field %q", f))
		}
	}
	if !seenRUA {
		return Record{}, recordError(t, "no rua")
	}
	if len(rec.Mailto)+len(rec.HTTPS) == 0 {
		return Record{}, recordError(t, "no mailto: or https: uri")
	}
	return rec, nil
}

// addURIs reads the rua value: tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri).
func (rec *Record) addURIs(value string) error {
	uris := strings.Split(value, ",")
	if len(uris) > maxURIs {
		return fmt.Errorf("more than %d uris", maxURIs)
	}
	for _, raw := range uris {
		raw = strings.Trim(raw, " \t")
		if raw == "" || strings.ContainsAny(raw, " \t!") {
			return fmt.Errorf("bad uri %q", raw)
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" {
			return fmt.Errorf("bad uri %q", raw)
		}
		switch strings.ToLower(u.Scheme) {
		case "mailto":
			addr, err := mailtoAddress(u)
			if err != nil {
				return fmt.Errorf("bad mailto uri %q", raw)
			}
			rec.Mailto = append(rec.Mailto, addr)
		case "https":
			if u.Host == "" || u.User != nil {
				return fmt.Errorf("bad https uri %q", raw)
			}
			rec.HTTPS = append(rec.HTTPS, u.String())
		}
	}
	return nil
}

// mailtoAddress returns the one address of a mailto: URI (RFC 6068 §2), without its query.
func mailtoAddress(u *url.URL) (string, error) {
	to, err := url.PathUnescape(u.Opaque)
	if err != nil || to == "" || strings.Contains(to, ",") {
		return "", errors.New("not one address")
	}
	a, err := mail.ParseAddress(to)
	if err != nil || a.Name != "" || a.Address != to {
		return "", errors.New("not a bare address")
	}
	return a.Address, nil
}

func recordError(t, why string) error {
	return fmt.Errorf("%w %q: %s", ErrRecordSyntax, bounded(t, 100), why)
}

// bounded cuts s to at most n bytes, for error messages and stored fields.
func bounded(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
