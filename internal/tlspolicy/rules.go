package tlspolicy

import "github.com/mxout/mxout/internal/tlsrule"

// The rules Decide takes are package tlsrule's neutral data; these names keep tlspolicy's
// code and callers short.
type (
	Rules       = tlsrule.Rules
	ClientCerts = tlsrule.ClientCerts
	ClientCert  = tlsrule.ClientCert
	Rule        = tlsrule.Rule
	RuleKind    = tlsrule.RuleKind
)

// The rule kinds (tlsrule.RuleKind).
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
