package qmailctl

import (
	"crypto"
	"strconv"
)

// TLSRuleKind says what a tlsdestinations rule demands. Kinds are ordered
// from weakest to strictest demand on the peer, so callers may compare them
// with <; the zero value, RuleNever, is the weakest.
type TLSRuleKind int

// The kinds of tlsdestinations rules. Everything from RuleAnonymous up makes
// TLS mandatory (STARTTLS, or implicit TLS when the rule's port says so).
const (
	RuleNever     TLSRuleKind = iota // "!host": never send STARTTLS
	RuleFallback                     // "?host": opportunistic; after a TLS protocol error retry in plaintext
	RuleNoTLSA                       // "/host": opportunistic, no TLSA lookup
	RuleAnonymous                    // "-host", "-*": TLS mandatory, any or no certificate
	RuleNoVerify                     // "/*": TLS mandatory, no TLSA lookup, no certificate matching
	RuleCA                           // "host", "+*": TLS mandatory, certificate must verify against CA (cafile/cadir or system roots)
	RuleNameWild                     // "~host", "~*": as RuleCA plus name check, wildcards and partial matching allowed
	RuleNameExact                    // "=host", "=*": as RuleCA plus exact name check
	RulePin                          // "%host": TLS mandatory, certificate fingerprint must equal the pin
)

var kindNames = [...]string{
	RuleNever:     "never",
	RuleFallback:  "fallback",
	RuleNoTLSA:    "no-tlsa",
	RuleAnonymous: "anonymous",
	RuleNoVerify:  "no-verify",
	RuleCA:        "ca",
	RuleNameWild:  "name-wild",
	RuleNameExact: "name-exact",
	RulePin:       "pin",
}

// String returns a short lower-case name ("ca", "pin", ...).
func (k TLSRuleKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "TLSRuleKind(" + strconv.Itoa(int(k)) + ")"
}

// TLSRule is one line of control/tlsdestinations. Zero fields mean "not
// given". A TLSRule returned by Lookup is shared: callers must not modify it.
type TLSRule struct {
	Key  string      // the key as written, prefix included ("=mx.example.test", "+*")
	Line int         // 1-based line number in the file
	Kind TLSRuleKind // what the rule demands

	CAFile string // field 1: CA certificate file; "" = system roots
	CADir  string // field 1 ending in "/": CA certificate directory (kept with its "/")

	Fingerprint     []byte      // RulePin: the certificate digest
	FingerprintHash crypto.Hash // RulePin: SHA1, SHA224, SHA256 or SHA512, from the length

	Ciphers     string // OpenSSL cipher string, raw; "" = library default
	VerifyDepth int    // maximum chain depth; 0 = not given

	Port        uint16 // 0 = not given (the route's port applies)
	ImplicitTLS bool   // ";s", ";sPORT" or port 465: TLS from the first byte (SMTPS), no STARTTLS
	QMTPS       bool   // port 6209: QMTP over TLS

	SenderDomain string // field 4, lower-cased; "" = any sender
}

// senderMatches reports whether the rule applies to mail from domain
// (already lower-cased): always without SenderDomain, otherwise when domain
// equals it or ends with "." followed by it.
func (r *TLSRule) senderMatches(domain string) bool {
	if r.SenderDomain == "" || domain == r.SenderDomain {
		return true
	}
	n := len(domain) - len(r.SenderDomain)
	return n > 0 && domain[n-1] == '.' && domain[n:] == r.SenderDomain
}

// hashByHexLen maps the length of a fingerprint in hex digits to its hash.
var hashByHexLen = map[int]crypto.Hash{
	40:  crypto.SHA1,
	56:  crypto.SHA224,
	64:  crypto.SHA256,
	128: crypto.SHA512,
}
