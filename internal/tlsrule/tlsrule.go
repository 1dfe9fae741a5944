// Package tlsrule holds the TLS rules a delivery's TLS policy is decided from, as neutral data:
// what a destination's rule demands, the global switches, and the client certificate for a
// sender's domain. The qmail front end reads them from control/tlsdestinations and
// control/domaincerts (package qmailctl); other front ends may build them from flags; package
// tlspolicy decides from them. It knows neither control files nor TLS.
package tlsrule

import (
	"crypto"
	"strconv"
)

// Rules gives the rule that applies to a destination for a sender's domain, and the global
// switches. *qmailctl.TLSDestinations implements it; a nil Rules means no rules at all.
type Rules interface {
	// Rule returns the rule for destination (in A-labels) and senderDomain, nil for none.
	Rule(destination, senderDomain string) *Rule
	// TLSAOff reports that no TLSA lookups are made at all ("/" alone).
	TLSAOff() bool
	// FallbackAll reports a plaintext retry after TLS protocol errors for every host ("?").
	FallbackAll() bool
}

// ClientCerts gives the client certificate to present for mail from a sender's domain.
// *qmailctl.DomainCerts implements it; nil means none.
type ClientCerts interface {
	ClientCert(senderDomain string) (ClientCert, bool)
}

// ClientCert names a client certificate's files. Only file names are held here; loading and
// decrypting is tlspolicy.Decide's job.
type ClientCert struct {
	CertFile string // PEM certificate chain; never "" in a found entry
	KeyFile  string // PEM private key; "" = the key is in CertFile
	Password string // key password; "" = the key is not encrypted
}

// String describes the entry for logs. It never prints the password, only whether there is
// one.
func (c ClientCert) String() string {
	s := "cert=" + c.CertFile
	if c.KeyFile != "" {
		s += " key=" + c.KeyFile
	}
	if c.Password != "" {
		s += " password=set"
	}
	return s
}

// GoString is String, so that %#v cannot print the password either.
func (c ClientCert) GoString() string { return "tlsrule.ClientCert{" + c.String() + "}" }

// RuleKind says what a tlsdestinations rule demands. Kinds are ordered
// from weakest to strictest demand on the peer, so callers may compare them
// with <; the zero value, RuleNever, is the weakest.
type RuleKind int

// The kinds of tlsdestinations rules. Everything from RuleAnonymous up makes
// TLS mandatory (STARTTLS, or implicit TLS when the rule's port says so).
const (
	RuleNever     RuleKind = iota // "!host": never send STARTTLS
	RuleFallback                  // "?host": opportunistic; after a TLS protocol error retry in plaintext
	RuleNoTLSA                    // "/host": opportunistic, no TLSA lookup
	RuleAnonymous                 // "-host", "-*": TLS mandatory, any or no certificate
	RuleNoVerify                  // "/*": TLS mandatory, no TLSA lookup, no certificate matching
	RuleCA                        // "host", "+*": TLS mandatory, certificate must verify against CA (cafile/cadir or system roots)
	RuleNameWild                  // "~host", "~*": as RuleCA plus name check, wildcards and partial matching allowed
	RuleNameExact                 // "=host", "=*": as RuleCA plus exact name check
	RulePin                       // "%host": TLS mandatory, certificate fingerprint must equal the pin
)

var ruleKindNames = [...]string{
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
func (k RuleKind) String() string {
	if k >= 0 && int(k) < len(ruleKindNames) {
		return ruleKindNames[k]
	}
	return "RuleKind(" + strconv.Itoa(int(k)) + ")"
}

// Rule is one line of control/tlsdestinations. Zero fields mean "not
// given". A Rule returned by Lookup is shared: callers must not modify it.
type Rule struct {
	Key  string   // the key as written, prefix included ("=mx.example.test", "+*")
	Line int      // 1-based line number in the file
	Kind RuleKind // what the rule demands

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

// SenderMatches reports whether the rule applies to mail from domain
// (already lower-cased): always without SenderDomain, otherwise when domain
// equals it or ends with "." followed by it.
func (r *Rule) SenderMatches(domain string) bool {
	if r.SenderDomain == "" || domain == r.SenderDomain {
		return true
	}
	n := len(domain) - len(r.SenderDomain)
	return n > 0 && domain[n-1] == '.' && domain[n:] == r.SenderDomain
}
