package mtasts

import "strings"

// Match reports whether host, an MX host name, matches one of the policy's mx patterns
// (RFC 8461 §4.1): equal ignoring case and one final dot, or, for a pattern "*.d", host is
// exactly one non-empty label followed by ".d" ("*.example.test" matches
// "mx.example.test", but neither "example.test" nor "a.mx.example.test").
func (p *Policy) Match(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	for _, pat := range p.MX {
		if matchPattern(pat, host) {
			return true
		}
	}
	return false
}

func matchPattern(pat, host string) bool {
	domain, wild := strings.CutPrefix(pat, "*.")
	if !wild {
		return pat == host
	}
	label, ok := strings.CutSuffix(host, "."+domain)
	return ok && label != "" && !strings.Contains(label, ".")
}

// Effect is what a policy asks of a delivery to one MX host, as data, so that tlspolicy can
// merge it with local rules and DANE (docs/mta-sts.md, "who wins"). The zero Effect asks
// nothing: it is the effect of no policy, and of a ModeNone policy.
type Effect struct {
	Mode Mode // the policy's mode
	// MXMatch: the host matches one of the policy's mx patterns (RFC 8461 §4.1).
	MXMatch bool
	// Skip: do not connect to this host at all. Only in ModeEnforce, for a host that does not
	// match (RFC 8461 §5). If every host is skipped, the delivery fails temporarily.
	Skip bool
	// RequireTLS: TLS is mandatory, the chain must verify against the Web PKI roots, and the
	// certificate must name the MX host itself (RFC 8461 §4.2: RFC 6125 rules, a wildcard
	// for one left-most label, no partial matching against the recipient domain). A failure
	// is temporary: nothing is sent, the message waits. Only in ModeEnforce.
	RequireTLS bool
	// Report: what happens with this host is recorded for TLS-RPT with the policy's domain
	// as policy-domain (RFC 8460 §4.3.2), success or failure. In ModeTesting and ModeEnforce.
	// In ModeTesting a failed check (no match, no STARTTLS, a bad certificate) is recorded
	// and the delivery goes on as if there were no policy (RFC 8461 §5).
	Report bool
}

// Effect returns what p asks of a delivery to mxHost. A nil p is no policy.
func (p *Policy) Effect(mxHost string) Effect {
	if p == nil || p.Mode == ModeNone {
		return Effect{}
	}
	match := p.Match(mxHost)
	enforce := p.Mode == ModeEnforce
	return Effect{
		Mode:       p.Mode,
		MXMatch:    match,
		Skip:       enforce && !match,
		RequireTLS: enforce && match,
		Report:     true,
	}
}
