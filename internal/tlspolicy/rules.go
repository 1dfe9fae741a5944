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
