package dns

import (
	"context"
	"strings"

	mdns "github.com/miekg/dns"
)

// LookupTXT returns the TXT records of name, one string per record, in the server's order. A
// record made of several character-strings is returned as their concatenation without
// separators, as the policy records that mxout reads require (RFC 8461 §3.1 and RFC 8460 §3:
// "concatenated"; RFC 7208 §3.3 does the same for SPF). CNAMEs are followed as for every
// lookup. NODATA is an empty slice with a nil error; errors are *Error wrapping ErrNotFound or
// ErrTemporary, so a caller can tell "no record" from "unknown".
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, Result, error) {
	rrs, res, err := r.resolve(ctx, name, mdns.TypeTXT)
	if err != nil {
		return nil, res, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if t, ok := rr.(*mdns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, res, nil
}
