package deliver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/smtptest"
)

// TestUnreachable: which failures hand a job to the fallback relay.
func TestUnreachable(t *testing.T) {
	peer := netip.MustParseAddrPort("192.0.2.1:25")
	reply := func(code int) *smtp.Reply { return &smtp.Reply{Code: code, Lines: []string{fmt.Sprint(code, " x")}} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no such domain", &route.Error{Kind: route.KindNoHost, Name: "x.test"}, true},
		{"no address", &route.Error{Kind: route.KindNoAddress, Name: "x.test"}, true},
		{"dns temporary", &route.Error{Kind: route.KindTemporary, Name: "x.test"}, false},
		{"loop", &route.Error{Kind: route.KindLoop, Name: "x.test"}, false},
		{"null mx", &route.Error{Kind: route.KindNullMX, Name: "x.test"}, false},
		{"connection refused", &ConnectError{Peer: peer, Last: errors.New("refused")}, true},
		{"421 greeting", &smtp.Error{Phase: smtp.PhaseGreeting, Peer: peer, Reply: reply(421)}, true},
		{"EHLO refused", &smtp.Error{Phase: smtp.PhaseHello, Peer: peer, Reply: reply(554)}, true},
		{"no STARTTLS under a mandatory policy", &smtp.Error{Phase: smtp.PhaseStartTLS, Peer: peer, Err: ErrTLSNotOffered}, false},
		{"MAIL refused", &smtp.Error{Phase: smtp.PhaseMail, Peer: peer, Reply: reply(451)}, false},
		{"lost after the dot", &smtp.Error{Phase: smtp.PhaseDot, Peer: peer, Err: errors.New("EOF")}, false},
	}
	for _, tt := range tests {
		res := &Result{Recipients: make([]outcome.Outcome, 1), Message: classify(tt.err)}
		if got := Unreachable(res); got != tt.want {
			t.Errorf("%s: Unreachable = %v; want %v", tt.name, got, tt.want)
		}
	}
	res := &Result{Recipients: make([]outcome.Outcome, 1), Message: classify(&ConnectError{Peer: peer, Last: errors.New("x")})}
	res.Recipients[0].RcptReply = reply(250)
	if Unreachable(res) {
		t.Error("a recipient with a RCPT reply: the destination answered, no fallback")
	}
}

type staticRoute struct{ r route.Static }

func (s staticRoute) Lookup(string, string) (route.Static, error) { return s.r, nil }

// TestFallbackRelay: a domain that does not exist goes to the relay, and the relay's result
// is the job's; a domain whose server refused a recipient does not.
func TestFallbackRelay(t *testing.T) {
	relaySrv := smtptest.Start(t, success)
	d := &dialer{to: map[string]string{"192.0.2.9:25": relaySrv.Addr()}}
	relay := deliverer(fakeDNS{}, d)
	relay.Routes = staticRoute{route.Static{Relay: "[192.0.2.9]", Addr: netip.MustParseAddr("192.0.2.9"), Port: 25}}
	fb := Fallback{Primary: deliverer(fakeDNS{}, d), Relay: relay}
	job := newJob(t)
	job.Host = "nosuch.test"
	res := fb.Deliver(t.Context(), job)
	if res.Recipients[0].Status != outcome.Delivered || res.Message.Peer.String() != "192.0.2.9:25" {
		t.Fatalf("via the fallback relay: %+v", res.Message)
	}

	refused := &countingDeliverer{status: outcome.Failed}
	fb = Fallback{Primary: &countingDeliverer{status: outcome.Failed, rcptReply: true}, Relay: refused}
	if res := fb.Deliver(t.Context(), newJob(t)); res.Recipients[0].Status != outcome.Failed || refused.n != 0 {
		t.Errorf("a refusal went to the relay (%d calls)", refused.n)
	}
}

type countingDeliverer struct {
	n         int
	status    outcome.Status
	rcptReply bool
}

func (c *countingDeliverer) Deliver(_ context.Context, job *Job) *Result {
	c.n++
	res := newResult(job)
	r := smtp.Reply{Code: 550, Lines: []string{"550 5.1.1 no"}}
	res.Recipients[0] = outcome.FromReply(smtp.PhaseRcpt, r, nil)
	if c.rcptReply {
		res.Recipients[0].RcptReply = &r
	}
	res.Message = outcome.Local(outcome.NoneAccepted, smtp.PhaseRcpt, "none", nil)
	return res
}

// TestGroupRecipients: by domain without case, in order of first appearance, cut at the limit;
// everything together with a host or when forced.
func TestGroupRecipients(t *testing.T) {
	show := func(gs []Group, nd []int) string {
		var b strings.Builder
		for _, g := range gs {
			fmt.Fprintf(&b, "%s%v ", g.Host, g.Idx)
		}
		return b.String() + fmt.Sprint(nd)
	}
	rcpts := []string{"a@x.test", "b@Y.test", "c@X.TEST", "nodomain", "d@x.test", "e@y.test"}
	for _, tt := range []struct {
		host   string
		forced bool
		limit  int
		want   string
	}{
		{"", false, 0, "x.test[0 2 4] Y.test[1 5] [3]"},
		{"", false, 2, "x.test[0 2] x.test[4] Y.test[1 5] [3]"},
		{"[192.0.2.1]", false, 4, "[192.0.2.1][0 1 2 3] [192.0.2.1][4 5] []"},
		{"", true, 0, "x.test[0 1 2 3 4 5] []"},
	} {
		if got := show(GroupRecipients(rcpts, tt.host, tt.forced, tt.limit)); got != tt.want {
			t.Errorf("GroupRecipients(%q, %v, %d) = %s; want %s", tt.host, tt.forced, tt.limit, got, tt.want)
		}
	}
}
