package tlspolicy

import (
	"errors"
	"github.com/mxout/mxout/internal/tlsrule"

	"github.com/mxout/mxout/internal/dane"
)

// ruleTLSA is Policy.Rule when TLSA records decided.
const ruleTLSA = "tlsa"

var (
	errQMTPS       = errors.New("tlspolicy: qmtps (port 6209) is not supported")
	errUnknownKind = errors.New("tlspolicy: unknown tlsdestinations rule kind")
	errPinHash     = errors.New("tlspolicy: fingerprint hash or length not supported")
	// errSTSNoMatch: the MX host matches none of the policy's mx patterns.
	errSTSNoMatch = errors.New("tlspolicy: mx host matches no mx pattern of the mta-sts policy")
)

// NeedTLSA reports whether the caller should look up TLSA records for a hop
// to destination before calling Decide. It is false when tlsdestinations
// switches TLSA off: "/" globally, or a rule "/host", "/*", "!host" or
// "%host" decides the hop (a pin is a "silent" verification that TLSA must
// not override, a "!" rule wants no TLS at all). The caller also skips the
// lookup when the MX host name is not DNSSEC-secure (RFC 7672 §2.2.1), which
// only it knows. A nil d is the default: look TLSA up.
func NeedTLSA(d Rules, destination, senderDomain string) bool {
	if d != nil && d.TLSAOff() {
		return false
	}
	return tlsaAllowed(ruleOf(d, destination, senderDomain))
}

// ruleOf is d's rule, nil for none or no rules.
func ruleOf(d Rules, destination, senderDomain string) *Rule {
	if d == nil {
		return nil
	}
	return d.Rule(destination, senderDomain)
}

// tlsaAllowed reports whether rule (nil: none) lets TLSA records decide.
func tlsaAllowed(rule *Rule) bool {
	if rule == nil {
		return true
	}
	switch rule.Kind {
	case tlsrule.RuleNever, tlsrule.RuleNoTLSA, tlsrule.RuleNoVerify, tlsrule.RulePin:
		return false
	}
	return true
}

// RulePort is the port the tlsdestinations rule for destination sets, 0 when none does. The
// caller decides the port with it before looking TLSA records up, so that they are those of
// the port it dials.
func RulePort(d Rules, destination, senderDomain string) uint16 {
	if rule := ruleOf(d, destination, senderDomain); rule != nil {
		return rule.Port
	}
	return 0
}

// Decide applies tlsdestinations, the TLSA records in in.TLSA and domaincerts
// to one hop. d and certs may be nil (no such file).
//
// The rule found by d.Lookup(in.Destination, in.SenderDomain) gives Mode and
// Require:
//
//	rule                        Mode           Require
//	none, "*", "-"              Opportunistic  VerifiedNone
//	"?host" (or global "?")     Opportunistic  VerifiedNone, Fallback
//	"/host"                     Opportunistic  VerifiedNone, no TLSA
//	"-host", "-*"               Mandatory      VerifiedNone
//	"/*"                        Mandatory      VerifiedNone, no TLSA
//	"host", "+*"                Mandatory      VerifiedCA
//	"~host", "~*"               Mandatory      VerifiedCAName
//	"=host", "=*"               Mandatory      VerifiedCANameExact
//	"%host"                     Mandatory      VerifiedPin, no TLSA
//	"!host"                     Never
//
// The rule's CA file or directory, ciphers, verify depth and port go into
// the Policy; a "!" rule keeps only its port. Then, unless NeedTLSA is false
// for the hop, the TLSA state decides as RFC 7672 §2.2 says: a failed lookup
// (in.TLSA.Err) is an Error of KindTLSALookup; secure, non-empty records of
// which some are usable make the hop Mandatory with Require VerifiedDANEEE,
// Rule "tlsa" and the usable records in DANE, replacing the rule's CA, name
// and depth checks (its port, implicit TLS and ciphers stay); secure records
// none of which is usable make an opportunistic hop Mandatory without
// authentication (Rule "tlsa") and leave a mandatory rule as it is. Insecure
// or absent records change nothing. Fallback is set last, and only for a hop
// that is still opportunistic: plaintext after DANE would be a downgrade.
//
// Then the MTA-STS effect in in.STS, unless usable TLSA records decided (DANE
// wins, RFC 8461 §2; docs/tls.md has the whole table): an enforce policy
// that does not allow the host is an Error of KindMTASTS (the hop is not
// tried); one that allows it makes the hop Mandatory, whatever the rule
// said ("!" and "?" included: enforce is stricter), and adds its own check,
// Web PKI chain (in.STSRoots) and the MX host's name, to the rule's (CA,
// name, pin: both must pass); with no such rule Require becomes
// VerifiedMTASTS. A testing policy changes nothing: the session is checked
// as enforce would, and the result goes into Facts.STSFailure for TLS-RPT.
//
// Finally, unless the hop is Never, the domaincerts entry for
// in.SenderDomain is loaded as the client certificate. Every failure is an
// *Error; loaded files are cached in in.Files (when set) while their size and time stamp stay the
// same. Decide is safe for concurrent use.
func Decide(d Rules, certs ClientCerts, in Input) (*Policy, error) {
	rule := ruleOf(d, in.Destination, in.SenderDomain)
	p := &Policy{serverName: in.ServerName, destination: in.Destination}
	if err := p.applyRule(rule, in.Files); err != nil {
		return nil, err
	}
	if (p.Mode != Never || in.RequireTLS) && (d == nil || !d.TLSAOff()) && tlsaAllowed(rule) {
		if err := p.applyTLSA(in); err != nil {
			return nil, err
		}
	}
	if err := p.applySTS(in); err != nil {
		return nil, err
	}
	if p.Mode == Never && !in.RequireTLS {
		return p, nil
	}
	ruleFallback := rule != nil && rule.Kind == tlsrule.RuleFallback
	globalFallback := d != nil && d.FallbackAll()
	p.Fallback = p.Mode == Opportunistic && (ruleFallback || globalFallback)
	if in.RequireTLS {
		p.requireTLS()
	}
	if certs == nil {
		return p, nil
	}
	if dc, ok := certs.ClientCert(in.SenderDomain); ok {
		c, err := loadClientCert(in.Files, dc)
		if err != nil {
			return nil, err
		}
		p.clientCert = c
	}
	return p, nil
}

// requireTLS raises the policy for a REQUIRETLS message (Input.RequireTLS).
func (p *Policy) requireTLS() {
	p.RequireTLS, p.Mode, p.Fallback = true, Mandatory, false
	if len(p.DANE) == 0 && p.Require < VerifiedCAName {
		p.Require = VerifiedCAName
	}
}

// applyRule sets what rule (nil: none) asks for. Unknown kinds fail closed.
func (p *Policy) applyRule(rule *Rule, files *FileCache) error {
	if rule == nil {
		return nil
	}
	p.Rule = rule.Key
	p.Port = rule.Port
	switch rule.Kind {
	case tlsrule.RuleNever:
		// "!host:;465" asks for no TLS on port 465: no TLS wins, as the
		// rule's first character is the stronger statement.
		p.Mode = Never
		return nil
	case tlsrule.RuleFallback, tlsrule.RuleNoTLSA:
		p.Mode = Opportunistic
	case tlsrule.RuleAnonymous, tlsrule.RuleNoVerify:
		p.Mode, p.Require = Mandatory, VerifiedNone
	case tlsrule.RuleCA:
		p.Mode, p.Require = Mandatory, VerifiedCA
	case tlsrule.RuleNameWild:
		p.Mode, p.Require = Mandatory, VerifiedCAName
	case tlsrule.RuleNameExact:
		p.Mode, p.Require = Mandatory, VerifiedCANameExact
	case tlsrule.RulePin:
		p.Mode, p.Require = Mandatory, VerifiedPin
	default:
		return &Error{Kind: KindUnsupported, Subject: rule.Key, Err: errUnknownKind}
	}
	return p.applyRuleFields(rule, files)
}

// applyRuleFields loads what the fields of a TLS-using rule name.
func (p *Policy) applyRuleFields(rule *Rule, files *FileCache) error {
	if rule.QMTPS {
		return &Error{Kind: KindUnsupported, Subject: rule.Key, Err: errQMTPS}
	}
	p.Implicit = rule.ImplicitTLS
	p.depth = rule.VerifyDepth
	if rule.Kind == tlsrule.RulePin {
		if n, ok := digestSize(rule.FingerprintHash); !ok || n != len(rule.Fingerprint) {
			return &Error{Kind: KindUnsupported, Subject: rule.Key, Err: errPinHash}
		}
		p.pinHash, p.pin = rule.FingerprintHash, rule.Fingerprint
	}
	if rule.CAFile != "" || rule.CADir != "" {
		roots, err := loadRoots(files, rule.CAFile, rule.CADir)
		if err != nil {
			return err
		}
		p.roots = roots
	}
	if rule.Ciphers != "" {
		ids, err := parseCiphers(rule.Ciphers)
		if err != nil {
			return &Error{Kind: KindCiphers, Subject: rule.Ciphers, Err: err}
		}
		p.ciphers = ids
	}
	return nil
}

// applyTLSA lets the TLSA state decide (RFC 7672 §2.2).
func (p *Policy) applyTLSA(in Input) error {
	t := in.TLSA
	if t.Err != nil {
		return &Error{Kind: KindTLSALookup, Subject: in.ServerName, Err: t.Err}
	}
	if !t.Looked || !t.Secure || len(t.Records) == 0 {
		return nil
	}
	usable := dane.Usable(t.Records)
	if len(usable) == 0 {
		// RFC 7672 §2.2: records, none usable: encrypt, don't
		// authenticate. A mandatory local rule already asks for at least
		// that and may ask for more, so it stays.
		if p.Mode < Mandatory {
			p.Mode, p.Require, p.Rule = Mandatory, VerifiedNone, ruleTLSA
		}
		return nil
	}
	p.Mode, p.Require, p.Rule = Mandatory, VerifiedDANEEE, ruleTLSA
	p.DANE = usable
	p.roots, p.depth = nil, 0
	p.tlsaName = t.Name
	return nil
}

// applySTS merges the MTA-STS effect (docs/mta-sts.md, "who wins"). It runs after
// applyTLSA: usable TLSA records have already decided, and MTA-STS is not applied to the
// host at all, neither its MX filter nor its Web PKI check (RFC 8461 §2).
func (p *Policy) applySTS(in Input) error {
	e := in.STS
	if e == nil || len(p.DANE) > 0 {
		return nil
	}
	switch {
	case e.Skip:
		return &Error{Kind: KindMTASTS, Subject: in.ServerName, Err: errSTSNoMatch}
	case e.RequireTLS:
		if p.Mode == Never {
			// "!host" asked for no TLS; enforce is stricter and wins. The rule's port stays.
			p.Require = VerifiedNone
		}
		p.Mode, p.sts, p.stsRoots = Mandatory, true, in.STSRoots
		if p.Require == VerifiedNone {
			p.Require = VerifiedMTASTS
		}
	case e.Report:
		p.stsTest, p.stsNoMatch, p.stsRoots = true, !e.MXMatch, in.STSRoots
	}
	return nil
}
