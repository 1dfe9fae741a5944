package deliver

import (
	"context"
	"errors"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
)

// Deliverer runs one job; *Engine, *Pool and Fallback implement it.
type Deliverer interface {
	Deliver(ctx context.Context, job *Job) *Result
}

// Fallback is Postfix's fallback_relay (mxout's --fallback-relay): a job goes to Primary, and
// when Primary could not find the destination or reach any of its servers (Unreachable), the
// same job goes to Relay, whose result is then the job's. A destination that answered, even
// with a refusal, never goes to the relay: its answer stands.
type Fallback struct {
	Primary, Relay Deliverer
}

// Deliver runs job on Primary, then on Relay when Primary found no server to talk to.
func (f Fallback) Deliver(ctx context.Context, job *Job) *Result {
	res := f.Primary.Deliver(ctx, job)
	if f.Relay == nil || !Unreachable(res) || ctx.Err() != nil {
		return res
	}
	return f.Relay.Deliver(ctx, job)
}

// Stop stops both deliverers that can be stopped (a *Pool).
func (f Fallback) Stop() {
	for _, d := range []Deliverer{f.Primary, f.Relay} {
		if s, ok := d.(interface{ Stop() }); ok {
			s.Stop()
		}
	}
}

// Unreachable reports whether a delivery failed before any transaction began because the
// destination was not found (no such domain, no address) or none of its servers could be
// talked to (every address refused the connection, timed out, hung up, or refused the greeting
// or EHLO/HELO): the cases Postfix's smtp(8) hands to a fallback relay. A temporary DNS
// failure, a TLS requirement that could not be met, a null MX, the loop check, a local
// configuration error and every reply inside a transaction are not: they are answers about the
// destination, and a relay must not override them.
func Unreachable(res *Result) bool {
	o := res.Message
	if o.Status == outcome.Delivered {
		return false
	}
	for i := range res.Recipients {
		if res.Recipients[i].RcptReply != nil {
			return false // a transaction began
		}
	}
	var re *route.Error
	if errors.As(o.Err, &re) {
		return re.Kind == route.KindNoHost || re.Kind == route.KindNoAddress
	}
	if o.Status != outcome.Deferred {
		return false
	}
	var ce *ConnectError
	var se *smtp.Error
	switch {
	case errors.As(o.Err, &ce):
		return true
	case errors.As(o.Err, &se):
		if errors.Is(se.Err, smtp.ErrTLS) || errors.Is(se.Err, ErrTLSNotOffered) {
			return false
		}
		return se.Phase == smtp.PhaseConnect || se.Phase == smtp.PhaseGreeting || se.Phase == smtp.PhaseHello
	}
	// The pool's verdict on a destination that failed every walk (errDead) carries no error.
	return o.Err == nil && o.Phase == smtp.PhaseConnect && o.DSN == "4.4.1"
}
