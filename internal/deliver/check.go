package deliver

import (
	"context"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// These wrappers let `mxout check` (package check) say what the engine would do with a
// destination by asking the engine itself, step by step, instead of copying its decisions.
// They add no behaviour: each calls the function Deliver uses.

// Plan routes host as Deliver does (static routes, then MX routing) and returns the plan and
// the destination the TLS rules are looked up by (host, or the relay of a static route), in
// A-labels. Routes that depend on the sender (authsenders, "!@", domainips) are looked up for
// the null sender.
// Errors are *route.Error.
func (e *Engine) Plan(ctx context.Context, host string) (*route.Plan, string, error) {
	plan, dest, _, err := e.plan(ctx, host, "", &Result{Destination: host})
	return plan, dest, err
}

// HopPolicy settles the TLS policy of one hop of a plan for dest as Deliver does before it
// dials: the tlsdestinations rule, DANE when the hop's answers were DNSSEC-secure (the TLSA
// lookup goes through Config.TLSA), and the port to dial. sender selects the rules that depend
// on the sender's domain ("" for none); sts is the destination's MTA-STS state (LookupSTS;
// nil for none). An error means the hop would not be tried.
func (e *Engine) HopPolicy(ctx context.Context, dest, sender string, hop route.Hop, sts *STS) (*tlspolicy.Policy, uint16, error) {
	return e.policy(ctx, &Job{Host: dest, Sender: sender}, dest, hop, sts)
}

// Explain turns an error of Plan, HopPolicy or Open into the Outcome Deliver would record for
// it: status (deferred or failed), enhanced status code and a one-line description.
func Explain(err error) outcome.Outcome { return classify(err) }
