package qmailctl

import (
	"strings"
)

// AuthPolicy holds mxout's two AUTH settings, which s/qmail does not have:
//
//   - control/authinclear: the relays (one name or IP address per line, as
//     written in the route; "*" for every relay) to which a password may go
//     without TLS, by PLAIN or LOGIN (or an OAuth token by XOAUTH2). Absent:
//     never. An attacker who strips STARTTLS can advertise PLAIN, so this is
//     for a relay on a trusted path only (loopback, a private link).
//   - control/authmechanisms: the SASL mechanisms that may be used, by name
//     (blank- or line-separated, any case). Absent or empty: all of them
//     (SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN, XOAUTH2), strongest offered
//     first. For a server whose strongest mechanism is broken, and for tests.
//
// The zero value and nil allow nothing in clear and every mechanism.
type AuthPolicy struct {
	inClear    map[string]bool // lower-cased relay names and addresses
	Mechanisms []string        // upper-cased; nil = all
}

// InClear reports whether PLAIN, LOGIN or XOAUTH2 may go to relay without
// TLS. relay is the route's relay as written, or the host's name when it
// went by MX; an IP literal may be given with or without brackets.
func (p *AuthPolicy) InClear(relay string) bool {
	if p == nil {
		return false
	}
	return p.inClear["*"] || p.inClear[asciiLower(unbracket(relay))]
}

// parseAuthPolicy reads the lines of authinclear and authmechanisms. Both
// accept anything: a name that matches no relay or mechanism has no effect.
func parseAuthPolicy(inClear, mechs []line) *AuthPolicy {
	p := &AuthPolicy{inClear: make(map[string]bool, len(inClear))}
	for _, l := range inClear {
		if s := strings.TrimSpace(l.text); s != "" {
			p.inClear[asciiLower(unbracket(s))] = true
		}
	}
	for _, l := range mechs {
		for _, m := range strings.Fields(l.text) {
			p.Mechanisms = append(p.Mechanisms, strings.ToUpper(m))
		}
	}
	return p
}
