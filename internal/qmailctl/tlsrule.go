package qmailctl

import (
	"crypto"

	"github.com/mxout/mxout/internal/tlsrule"
)

// The rule types are tlspolicy's, which decides from them: qmailctl only reads them from
// control/tlsdestinations. The names stay here for the code that reads control files.
type (
	// TLSRuleKind is tlsrule.RuleKind.
	TLSRuleKind = tlsrule.RuleKind
	// TLSRule is tlsrule.Rule: one line of control/tlsdestinations.
	TLSRule = tlsrule.Rule
)

// The kinds of tlsdestinations rules (tlsrule.RuleKind).
const (
	RuleNever     = tlsrule.RuleNever
	RuleFallback  = tlsrule.RuleFallback
	RuleNoTLSA    = tlsrule.RuleNoTLSA
	RuleAnonymous = tlsrule.RuleAnonymous
	RuleNoVerify  = tlsrule.RuleNoVerify
	RuleCA        = tlsrule.RuleCA
	RuleNameWild  = tlsrule.RuleNameWild
	RuleNameExact = tlsrule.RuleNameExact
	RulePin       = tlsrule.RulePin
)

// hashByHexLen maps the length of a fingerprint in hex digits to its hash.
var hashByHexLen = map[int]crypto.Hash{
	40:  crypto.SHA1,
	56:  crypto.SHA224,
	64:  crypto.SHA256,
	128: crypto.SHA512,
}
