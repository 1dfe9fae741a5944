package deliverfront

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/smtptest"
)

// fake accepts every recipient except those starting with "bad" and records its jobs.
type fake struct {
	mu   sync.Mutex
	jobs []string
}

func (f *fake) Deliver(_ context.Context, job *deliver.Job) *deliver.Result {
	f.mu.Lock()
	f.jobs = append(f.jobs, job.Host+":"+strings.Join(job.Recipients, ","))
	f.mu.Unlock()
	res := &deliver.Result{Recipients: make([]outcome.Outcome, len(job.Recipients))}
	for i, r := range job.Recipients {
		if strings.HasPrefix(r, "bad") {
			res.Recipients[i] = outcome.FromReply(smtp.PhaseRcpt, smtp.Reply{Code: 550, Lines: []string{"550 5.1.1 no"}}, nil)
		} else {
			res.Recipients[i] = outcome.FromReply(smtp.PhaseDot, smtp.Reply{Code: 250, Lines: []string{"250 ok"}}, nil)
		}
	}
	return res
}

func msg(t *testing.T) *message.Message {
	m, err := message.Read(strings.NewReader("Subject: t\n\nhi\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDeliverGroups: recipients grouped by domain (case-insensitively), cut at the limit, each
// reported once in argument order; one without a domain is refused here.
func TestDeliverGroups(t *testing.T) {
	f := &fake{}
	rcpts := []string{"a@one.test", "bad@two.test", "b@ONE.test", "nodomain", "c@one.test"}
	m := Deliver(t.Context(), f, Request{Recipients: rcpts, Message: msg(t), RcptLimit: 2})
	var got []string
	for _, r := range m.Recipients {
		got = append(got, r.Address+"="+r.Status.String()+"/"+r.DSN)
	}
	want := "a@one.test=ok/2.0.0 bad@two.test=error/5.1.1 b@ONE.test=ok/2.0.0 nodomain=error/5.1.3 c@one.test=ok/2.0.0"
	if strings.Join(got, " ") != want {
		t.Errorf("outcomes %v\nwant %s", got, want)
	}
	sort.Strings(f.jobs)
	if j := strings.Join(f.jobs, " "); j != "one.test:a@one.test,b@ONE.test one.test:c@one.test two.test:bad@two.test" {
		t.Errorf("jobs %s", j)
	}
}

// TestDeliverDestination: -d sends everything to one destination, one transaction per limit.
func TestDeliverDestination(t *testing.T) {
	f := &fake{}
	Deliver(t.Context(), f, Request{Recipients: []string{"a@x.test", "b@y.test", "c@z.test"}, Message: msg(t), Dest: "[192.0.2.1]"})
	if j := strings.Join(f.jobs, " "); j != "[192.0.2.1]:a@x.test,b@y.test,c@z.test" {
		t.Errorf("jobs %s", j)
	}
}

// TestMainUsage: the usage errors exit 64 before anything is read or sent; help and version 0.
func TestMainUsage(t *testing.T) {
	tests := []struct {
		args []string
		exit int
		err  string
	}{
		{[]string{"--help"}, 0, "usage: mxout deliver"},
		{[]string{"-V"}, 0, ""},
		{[]string{"a@x.test"}, 64, "-f SENDER is required"},
		{[]string{"-f", ""}, 64, "no RECIPIENT"},
		{[]string{"-f", "", "-d", "x.test", "-F", "[192.0.2.1]", "a@x.test"}, 64, "-d and -F exclude each other"},
		{[]string{"-f", "", "-M", "a@x.test"}, 64, "LMTP has no standard port"},
		{[]string{"-f", "", "-7", "-8", "a@x.test"}, 64, "-7 and -8 exclude each other"},
		{[]string{"-f", "", "--rcpt-limit", "-1", "a@x.test"}, 64, "--rcpt-limit -1"},
		{[]string{"-f", "", "-F", "unix:run/lmtp", "a@x.test"}, 64, "unix:/absolute/path"},
		{[]string{"-f", "", "--fallback-relay", "[nope", "a@x.test"}, 64, "--fallback-relay [nope"},
		{[]string{"-f", "", "-p", "70000", "a@x.test"}, 64, "not a TCP port"},
		{[]string{"-f", "", "--no-such-flag", "a@x.test"}, 64, "flag provided but not defined"},
		{[]string{"-f", "", "--dns", "not an address", "a@x.test"}, 78, "4.3.5 "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(tt.args, strings.NewReader("x\n"), &out, &errOut, func(string) string { return "" }, "test")
			if code != tt.exit || !strings.Contains(errOut.String()+out.String(), tt.err) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tt.exit, tt.err)
			}
			if tt.exit != 0 && out.Len() != 0 {
				t.Errorf("stdout %q on a usage error", out.String())
			}
		})
	}
}

func TestNullSender(t *testing.T) {
	for in, want := range map[string]string{"": "", "<>": "", "<a@x.test>": "a@x.test", "a@x.test": "a@x.test"} {
		if got := nullSender(in); got != want {
			t.Errorf("nullSender(%q) = %q; want %q", in, got, want)
		}
	}
}

func ExampleDeliver() {
	m, _ := message.Read(strings.NewReader("Subject: t\n\nhi\n"), "")
	out := Deliver(context.Background(), &fake{}, Request{Sender: "s@example.org",
		Recipients: []string{"a@one.test", "bad@two.test"}, Message: m})
	for _, r := range out.Recipients {
		fmt.Println(r.Address, r.Status, r.DSN)
	}
	// Output:
	// a@one.test ok 2.0.0
	// bad@two.test error 5.1.1
}

// TestMainRcptLimitOneSession: --rcpt-limit 1 makes two transactions for two recipients of one
// destination, one after the other on one connection (in either order); each recipient gets its
// own status line from its own transaction.
func TestMainRcptLimitOneSession(t *testing.T) {
	srv := smtptest.Start(t, `
< 220 x ESMTP
> EHLO helo.test
< 250 x
> MAIL FROM:<s@example.org>
< 250 ok
>~ RCPT TO:<[ab]@x\.test>
< 250 ok
> DATA
< 354 go
! data
< 250 queued
> MAIL FROM:<s@example.org>
< 250 ok
>~ RCPT TO:<[ab]@x\.test>
< 250 ok
> DATA
< 354 go
! data
< 250 queued
! eof-or-quit`)
	var out, errOut bytes.Buffer
	args := []string{"-F", "[127.0.0.1]:" + fmt.Sprint(srv.AddrPort().Port()), "-h", "helo.test", "--rcpt-limit", "1",
		"-f", "<s@example.org>", "--", "a@x.test", "b@x.test"}
	code := Main(args, strings.NewReader("Subject: t\n\nhi\n"), &out, &errOut, literalEnv, "test")
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "-\ta@x.test\tok\t") ||
		!strings.HasPrefix(lines[1], "-\tb@x.test\tok\t") || errOut.Len() != 0 {
		t.Errorf("exit %d, stdout:\n%s\nstderr %q", code, out.String(), errOut.String())
	}
	if n := len(srv.Data()); n != 2 {
		t.Errorf("%d messages sent; want 2 transactions", n)
	}
}

// TestMainPossibleDuplicate: a connection lost after the final dot is the contract's "outcome
// unknown" row: deferred with the duplicate risk, exit 75, and the JSON says so.
func TestMainPossibleDuplicate(t *testing.T) {
	srv := smtptest.Start(t, `
< 220 x ESMTP
> EHLO helo.test
< 250 x
> MAIL FROM:<>
< 250 ok
> RCPT TO:<a@x.test>
< 250 ok
> DATA
< 354 go
! data
! close`)
	var out, errOut bytes.Buffer
	args := []string{"-F", srv.AddrPort().String(), "-h", "helo.test", "--json", "-f", "", "a@x.test"}
	code := Main(args, strings.NewReader("Subject: t\n\nhi\n"), &out, &errOut, literalEnv, "test")
	if code != 75 || !strings.Contains(out.String(), `"duplicate_risk":true`) || !strings.Contains(out.String(), `"status":"deferred"`) ||
		!strings.HasPrefix(errOut.String(), "4.") {
		t.Errorf("exit %d\nstdout %s\nstderr %q", code, out.String(), errOut.String())
	}
}

// literalEnv names a resolver that is never asked (the tests' destinations are literals), so
// that the tests do not depend on the machine's /etc/resolv.conf.
func literalEnv(k string) string {
	if k == "MXOUT_DNS" {
		return "127.0.0.1:53"
	}
	return ""
}
