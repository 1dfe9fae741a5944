package check

import (
	"context"
	"errors"
	"net/netip"
	"strconv"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// open asks the engine to open a session to peer under pol, exactly as a delivery would, and
// ends it at once with QUIT: the session being ready for MAIL FROM is the proof that a
// delivery would go through here.
func (c *checker) open(ctx context.Context, host string, peer netip.AddrPort, pol *tlspolicy.Policy) Outcome {
	s, err := c.engine.Open(ctx, host, peer, pol)
	if err != nil {
		return failed(err)
	}
	defer s.Close(ctx)
	o := Outcome{Action: Deliver}
	if s.TLS != nil {
		o.TLS, o.Version = s.TLS.Verified.String(), s.TLS.VersionName()
	}
	o.Text = "would deliver " + how(o)
	return o
}

// how says how a session would be protected, from what its TLS proved.
func how(o Outcome) string {
	switch o.TLS {
	case "":
		return "in clear"
	case tlspolicy.VerifiedDANEEE.String(), tlspolicy.VerifiedDANETA.String():
		return "over DANE-verified TLS (" + o.TLS + ", " + o.Version + ")"
	case tlspolicy.VerifiedNone.String():
		return "over TLS, certificate not verified (" + o.Version + ")"
	}
	return "over verified TLS (" + o.TLS + ", " + o.Version + ")"
}

// failed is the verdict at one address for an error of the engine: the Outcome deliver would
// record (deliver.Explain), in the operator's words.
func failed(err error) Outcome {
	o := deliver.Explain(err)
	o.Host, o.Peer = "", netip.AddrPort{} // the report says where already
	v := Outcome{Action: action(o.Status), DSN: o.DSN}
	var pe *tlspolicy.Error
	switch {
	case errors.Is(err, tlspolicy.ErrDANE):
		v.Reason = "certificate does not match TLSA"
		v.Text = "would not deliver to this host: " + v.Reason
	case errors.As(err, &pe) && pe.Kind == tlspolicy.KindTLSALookup:
		v.Reason = "the TLSA lookup failed"
		v.Text = "would not deliver to this host: " + v.Reason
	case errors.As(err, &pe) && pe.Kind == tlspolicy.KindMTASTS:
		v.Reason = "the MTA-STS policy does not allow this MX host"
		v.Text = "would not deliver to this host: " + v.Reason
	default:
		v.Reason = o.Describe()
		v.Text = "would not deliver to this address: " + v.Reason
	}
	return v
}

func action(s outcome.Status) string {
	switch s {
	case outcome.Delivered:
		return Deliver
	case outcome.Failed:
		return Bounce
	}
	return Defer
}

// planVerdict is the verdict when there is no plan: null MX, no such domain, no address, or a
// lookup that failed for now.
func planVerdict(err error) Verdict {
	o := deliver.Explain(err)
	v := Verdict{Outcome: Outcome{Action: action(o.Status), DSN: o.DSN, Reason: o.Describe()}}
	var re *route.Error
	if errors.As(err, &re) && re.Kind == route.KindNullMX {
		v.Reason = "null MX"
		v.Text = "null MX: would bounce " + o.DSN
		return v
	}
	v.Text = "would " + v.Action + " " + o.DSN + ": " + v.Reason
	return v
}

// overall is the verdict of the delivery: the first address, in the engine's order, where it
// would go; else the last failure, as the engine reports the last one.
func overall(hosts []Host) Verdict {
	var last *Outcome
	var lastWhere string
	for _, h := range hosts {
		for _, a := range h.Addresses {
			if a.Verdict.Action == Deliver {
				where := "[" + a.Address + "]:" + strconv.Itoa(int(a.Port))
				v := Verdict{Outcome: a.Verdict, Host: h.Name, Address: where, Policy: h.Policy.Name}
				v.Text = "would deliver via " + h.Name + " " + where + " " + how(a.Verdict) + ", " + h.Policy.Name + " policy"
				return v
			}
			last, lastWhere = &a.Verdict, h.Name+" ["+a.Address+"]:"+strconv.Itoa(int(a.Port))
		}
	}
	if last == nil {
		// Cannot happen: a plan has at least one address. Say so rather than guess.
		return Verdict{Outcome: Outcome{Action: Defer, DSN: "4.4.4", Reason: "no address to try", Text: "would defer 4.4.4: no address to try"}}
	}
	v := Verdict{Outcome: *last}
	v.Text = "would " + last.Action + " " + last.DSN + ": no address would take the message (last: " + lastWhere + ": " + last.Reason + ")"
	return v
}
