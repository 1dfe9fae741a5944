package qmailctl

import (
	"encoding/hex"
	"github.com/mxout/mxout/internal/tlsrule"
	"strings"
)

// TLSDestinations is the parsed control/tlsdestinations. The zero value and
// nil mean "no file": opportunistic TLS for every host. It is read-only after
// Load and safe for concurrent use.
type TLSDestinations struct {
	// Single-character global rules, as flags. They take no value.
	Opportunistic bool // "*" present (the default behaviour is opportunistic anyway)
	Anonymous     bool // "-": opportunistic sessions accept anonymous (no certificate) peers
	Fallback      bool // "?": plaintext retry after TLS protocol errors, for every host
	NoTLSA        bool // "/": no TLSA lookups at all

	rules map[string][]*TLSRule // prefix + host in A-labels, lower-cased (tlsKey) -> rules, last line first
}

// perHostPrefixes is the lookup order of prefixes for one candidate key.
var perHostPrefixes = []string{"!", "%", "=", "~", "", "-", "?", "/"}

// globalRules are the double-character mandatory globals in lookup order,
// with the kind each one gives.
var globalRules = []struct {
	key  string
	kind TLSRuleKind
}{
	{"=*", RuleNameExact},
	{"~*", RuleNameWild},
	{"+*", RuleCA},
	{"-*", RuleAnonymous},
	{"/*", RuleNoVerify},
}

// prefixKinds maps a per-host key prefix to its kind ("" = no prefix).
var prefixKinds = map[byte]TLSRuleKind{
	'!': RuleNever, '%': RulePin, '=': RuleNameExact, '~': RuleNameWild,
	'-': RuleAnonymous, '?': RuleFallback, '/': RuleNoTLSA,
}

// Lookup returns the rule for host (the host after routing, i.e. the relay
// when smtproutes sent the mail there) and the sender's domain, or nil when
// only the global flags apply. Candidate keys go from most to least specific
// ("mx.a.test", ".a.test", ".test"); for each, the prefixes are tried in the
// order "!", "%", "=", "~", none, "-", "?", "/", where "%" and "=" match the
// exact host only. Then "=*", "~*", "+*", "-*", "/*". So the most specific
// key wins, whatever its prefix (s/qmail 3.x tried each prefix over all
// suffixes first). Keys compare ASCII case-insensitively, in A-labels: host
// must be in A-labels to match a key written in Unicode. Among rules with
// equal keys the later line is tried first; a rule with a SenderDomain is
// skipped unless senderDomain is that domain or a subdomain of it.
func (d *TLSDestinations) Lookup(host, senderDomain string) *TLSRule {
	if d == nil || len(d.rules) == 0 {
		return nil
	}
	sender := asciiLower(senderDomain)
	if host != "" {
		for i, k := range suffixKeys(asciiLower(host), false) {
			for _, p := range perHostPrefixes {
				if i > 0 && (p == "%" || p == "=") {
					continue
				}
				if r := d.match(p+k, sender); r != nil {
					return r
				}
			}
		}
	}
	for _, g := range globalRules {
		if r := d.match(g.key, sender); r != nil {
			return r
		}
	}
	return nil
}

// match returns the newest rule under key that applies to sender.
func (d *TLSDestinations) match(key, sender string) *TLSRule {
	for _, r := range d.rules[key] {
		if r.SenderMatches(sender) {
			return r
		}
	}
	return nil
}

// parseTLSDestinations parses the kept lines of control/tlsdestinations.
// Unlike the routing tables it refuses what it does not understand (a line
// without ':', an unknown key, a bad value): a security rule that silently
// never applies is worse than a deferred delivery.
func parseTLSDestinations(lines []line) (*TLSDestinations, error) {
	d := &TLSDestinations{rules: make(map[string][]*TLSRule)}
	for _, l := range lines {
		key, value, ok := splitKey(l.text)
		if !ok {
			return nil, tlsError(l.n, "missing ':'")
		}
		if d.setFlag(key) {
			if value != "" {
				return nil, tlsError(l.n, "single-character rule takes no value")
			}
			continue
		}
		r, reason := parseTLSRule(key, value)
		if reason != "" {
			return nil, tlsError(l.n, reason)
		}
		r.Line = l.n
		k := tlsKey(key)
		d.rules[k] = append([]*TLSRule{r}, d.rules[k]...)
	}
	return d, nil
}

// tlsKey is the map key of a valid rule key: a global as it is, a per-host key as its prefix
// and the host's hostKey form.
func tlsKey(key string) string {
	for _, g := range globalRules {
		if key == g.key {
			return key
		}
	}
	if _, ok := prefixKinds[key[0]]; ok {
		return key[:1] + hostKey(key[1:])
	}
	return hostKey(key)
}

func tlsError(n int, reason string) error {
	return &FileError{File: "tlsdestinations", Line: n, Reason: reason}
}

// setFlag records a single-character global key and reports whether key
// was one.
func (d *TLSDestinations) setFlag(key string) bool {
	switch key {
	case "*":
		d.Opportunistic = true
	case "-":
		d.Anonymous = true
	case "?":
		d.Fallback = true
	case "/":
		d.NoTLSA = true
	default:
		return false
	}
	return true
}

// parseTLSRule parses one line's key and value; reason is "" on success.
func parseTLSRule(key, value string) (*TLSRule, string) {
	r := &TLSRule{Key: key}
	kind, host, reason := parseTLSKey(key)
	if reason != "" {
		return nil, reason
	}
	r.Kind = kind
	if kind == RulePin || kind == RuleNameExact {
		if host != "" && host[0] == '.' {
			return nil, "'%' and '=' apply to one host, not to a .suffix"
		}
	}
	if reason := parseTLSValue(value, r); reason != "" {
		return nil, reason
	}
	if (r.Kind == RulePin) != (r.Fingerprint != nil) {
		return nil, "a fingerprint goes with a '%host' key and nothing else"
	}
	return r, ""
}

// parseTLSKey returns the kind and host of key ("" host for the globals).
func parseTLSKey(key string) (TLSRuleKind, string, string) {
	for _, g := range globalRules {
		if key == g.key {
			return g.kind, "", ""
		}
	}
	kind, host := RuleCA, key
	if key != "" {
		if k, ok := prefixKinds[key[0]]; ok {
			kind, host = k, key[1:]
		}
	}
	if host == "" {
		return 0, "", "empty host in key"
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		ok := c >= 0x80 || c == '.' || c == '-' || c == '_' || c == '[' || c == ']' ||
			'0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !ok {
			return 0, "", "bad character in host of key"
		}
	}
	return kind, host, ""
}

// parseTLSValue parses "f1|f2|f3|f4" with an optional ";[s]port" ending one
// of f1..f3 (the first field holding a ';'). f1 is "=fingerprint", a CA
// directory ending in "/" or a CA file; f2 the ciphers; f3 the verify depth,
// or the ciphers when f2 is empty and f3 is not a number; f4 the sender
// domain. reason is "" on success.
func parseTLSValue(value string, r *TLSRule) string {
	f := strings.SplitN(value, "|", 4)
	for len(f) < 4 {
		f = append(f, "")
	}
	if strings.Contains(f[3], "|") {
		return "more than four '|' fields"
	}
	for i := 0; i < 3; i++ {
		if field, port, ok := strings.Cut(f[i], ";"); ok {
			f[i] = field
			if reason := setRulePort(r, port); reason != "" {
				return reason
			}
			break
		}
	}
	for _, field := range f {
		if strings.Contains(field, ";") {
			return "more than one ';' or a port after the third field"
		}
	}
	if reason := setRuleTrust(r, f[0]); reason != "" {
		return reason
	}
	r.Ciphers = f[1]
	if reason := setRuleDepth(r, f[2]); reason != "" {
		return reason
	}
	if strings.ContainsAny(f[3], " \t") {
		return "blank in sender domain"
	}
	r.SenderDomain = asciiLower(f[3])
	return ""
}

// setRulePort parses "[s]port": "" = not given, "s" = implicit TLS on 465,
// "sN" = implicit TLS on N, 465 = implicit TLS (SMTPS), 6209 = QMTPS.
func setRulePort(r *TLSRule, s string) string {
	if rest, ok := strings.CutPrefix(s, "s"); ok {
		r.ImplicitTLS = true
		r.Port = 465
		s = rest
	}
	if s == "" {
		return ""
	}
	n, ok := parsePortNumber(s)
	if !ok {
		return "bad port"
	}
	r.Port = n
	r.ImplicitTLS = r.ImplicitTLS || n == 465
	r.QMTPS = n == 6209
	return ""
}

// setRuleTrust parses field 1.
func setRuleTrust(r *TLSRule, s string) string {
	switch {
	case s == "":
	case s[0] == '=':
		h := strings.ReplaceAll(s[1:], ":", "")
		hash, ok := hashByHexLen[len(h)]
		if !ok {
			return "fingerprint length is not 40, 56, 64 or 128 hex digits"
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			return "fingerprint is not hex"
		}
		r.Fingerprint, r.FingerprintHash = b, hash
	case strings.HasSuffix(s, "/"):
		r.CADir = s
	default:
		r.CAFile = s
	}
	return ""
}

// maxVerifyDepth bounds field 3; no real chain is longer.
const maxVerifyDepth = 100

// setRuleDepth parses field 3: digits are the verify depth; other text is the
// cipher string when field 2 was empty (manual example "||aNULL:!kRSA").
func setRuleDepth(r *TLSRule, s string) string {
	if s == "" {
		return ""
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			if r.Ciphers != "" {
				return "verify depth is not a number"
			}
			r.Ciphers = s
			return ""
		}
		if n = n*10 + int(s[i]-'0'); n > maxVerifyDepth {
			return "verify depth too large"
		}
	}
	r.VerifyDepth = n
	return ""
}

// Rule implements tlsrule.Rules: Lookup. Nil-safe.
func (d *TLSDestinations) Rule(destination, senderDomain string) *tlsrule.Rule {
	return d.Lookup(destination, senderDomain)
}

// TLSAOff implements tlsrule.Rules: the global "/" line. Nil-safe.
func (d *TLSDestinations) TLSAOff() bool { return d != nil && d.NoTLSA }

// FallbackAll implements tlsrule.Rules: the global "?" line. Nil-safe.
func (d *TLSDestinations) FallbackAll() bool { return d != nil && d.Fallback }
