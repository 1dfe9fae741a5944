package deliver

import (
	"context"
	"errors"
	"fmt"
	"github.com/mxout/mxout/internal/route"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/qmailctl"
	"github.com/mxout/mxout/internal/qmtp/qmtptest"
	"github.com/mxout/mxout/internal/secret"
	"github.com/mxout/mxout/internal/smtptest"
)

// routerFunc is a Router from a function.
type routerFunc func(sender, host string) (route.Static, error)

func (f routerFunc) Lookup(sender, host string) (route.Static, error) { return f(sender, host) }

// byMX is an MX route (how Routing.Lookup gives one) with the fields of r.
func byMX(t *testing.T, r route.Static) route.Static {
	t.Helper()
	mx, err := (*qmailctl.Routing)(nil).Table().Lookup("", "x")
	if err != nil || !mx.MX() {
		t.Fatal("a nil Routing must give an MX route")
	}
	mx.User, mx.Password, mx.HeloHost, mx.LocalIP = r.User, r.Password, r.HeloHost, r.LocalIP
	return mx
}

// authTx is one transaction of sender after AUTH PLAIN with initial response ir.
func authTx(ir, sender string) string {
	return `
> AUTH PLAIN ` + ir + `
< 235 ok` + kept(sender)
}

// kept is one pipelined transaction of sender on an authenticated session.
func kept(sender string) string {
	return `
> MAIL FROM:<` + sender + `> AUTH=` + sender + `
> RCPT TO:<r@example.test>
> DATA
< 250 ok
< 250 ok
< 354 go
! data
< 250 2.0.0 ok`
}

const ehloAuthPlain = `
< 220 mx
> EHLO helo.test
< 250-mx
< 250-PIPELINING
< 250 AUTH PLAIN`

// TestPoolKeepsUsersApart: sessions authenticated as one user are reused only for mail with
// the same credentials; another user's mail gets its own session.
func TestPoolKeepsUsersApart(t *testing.T) {
	srv := smtptest.StartOpts(t, smtptest.Options{Timeout: 5 * time.Second},
		ehloAuthPlain+authTx("AGEAcGE=", "a@example.org")+kept("a@example.org")+"\n! eof-or-quit",
		ehloAuthPlain+authTx("AGIAcGI=", "b@example.org")+"\n! eof-or-quit")
	d := &dialer{to: map[string]string{"192.0.2.1:25": srv.Addr()}}
	e := deliverer(oneMX, d)
	e.AuthInClear = func(string) bool { return true }
	e.Routes = routerFunc(func(sender, host string) (route.Static, error) {
		user := sender[:1]
		return byMX(t, route.Static{User: user, Password: secret.New("p" + user)}), nil
	})
	p := NewPool(e, PoolOptions{MaxConns: 2})
	defer p.Close()
	for _, from := range []string{"a@example.org", "b@example.org", "a@example.org"} {
		job := poolJob(t, "r@example.test")
		job.Sender = from
		if res := p.Deliver(context.Background(), job); !res.Delivered() {
			t.Fatalf("%s: %s", from, res.Message.Describe())
		}
	}
	if opened, _, reused := p.Stats(); opened != 2 || reused != 1 {
		t.Errorf("opened %d, reused %d; want 2 sessions, one reused", opened, reused)
	}
}

// TestGroupKey: every setting of the route that shapes a session is part of the key, the
// password only as a hash.
func TestGroupKey(t *testing.T) {
	e := New(Config{})
	base := spec{User: "u", Password: secret.New("hunter2-pw"), Helo: "h.test", Local: netip.MustParseAddr("127.0.0.2")}
	k := e.groupKey("d.test", "s@x.test", base)
	if strings.Contains(k, "hunter2-pw") {
		t.Fatalf("group key holds the password: %s", k)
	}
	for name, change := range map[string]func(*spec){
		"password": func(s *spec) { s.Password = secret.New("other") },
		"user":     func(s *spec) { s.User = "v" },
		"helo":     func(s *spec) { s.Helo = "i.test" },
		"source":   func(s *spec) { s.Local = netip.MustParseAddr("127.0.0.3") },
		"implicit": func(s *spec) { s.Implicit = true },
		"qmtp":     func(s *spec) { s.QMTP = true },
	} {
		s := base
		change(&s)
		if e.groupKey("d.test", "s@x.test", s) == k {
			t.Errorf("a different %s shares the group", name)
		}
	}
}

// TestDomainIPError: a route lookup that fails (a bad domainips address) stops the delivery
// before any connection.
func TestDomainIPError(t *testing.T) {
	d := &dialer{to: map[string]string{}}
	e := deliverer(oneMX, d)
	e.Routes = routerFunc(func(string, string) (route.Static, error) {
		return route.Static{}, fmt.Errorf("%w: %w", route.ErrSourceAddress, qmailctl.ErrDomainIP)
	})
	res := e.Deliver(context.Background(), newJob(t))
	if !errors.Is(res.Message.Err, qmailctl.ErrDomainIP) || len(d.tried) != 0 || res.Delivered() {
		t.Errorf("%s, tried %v", res.Message.Describe(), d.tried)
	}
}

// TestBindable: the source address is bound only for a peer of its family.
func TestBindable(t *testing.T) {
	v4, v6 := netip.MustParseAddrPort("192.0.2.1:25"), netip.MustParseAddrPort("[2001:db8::1]:25")
	for _, tt := range []struct {
		local string
		peer  netip.AddrPort
		want  bool
	}{
		{"127.0.0.2", v4, true}, {"127.0.0.2", v6, false}, {"::1", v4, false}, {"fe80::1%lo", v6, true},
		{"::ffff:127.0.0.2", v4, true}, {"", v4, false},
	} {
		var a netip.Addr
		if tt.local != "" {
			a = netip.MustParseAddr(tt.local)
		}
		if got := bindable(a, tt.peer); got != tt.want {
			t.Errorf("bindable(%s, %s) = %v", tt.local, tt.peer, got)
		}
	}
}

// TestPoolQMTP: a qmtproutes route goes over QMTP from the pool too, one package per recipient,
// each recipient with its own response.
func TestPoolQMTP(t *testing.T) {
	srv := qmtptest.Start(t, qmtptest.Step{Respond: qmtptest.K("ok")}, qmtptest.Step{Respond: qmtptest.D("no (#5.1.1)")})
	d := &dialer{to: map[string]string{"192.0.2.9:209": srv.Addr()}}
	e := deliverer(oneMX, d)
	e.Routes = routerFunc(func(string, string) (route.Static, error) {
		return route.Static{Relay: "192.0.2.9", Addr: netip.MustParseAddr("192.0.2.9"), Port: 209, Protocol: route.ProtocolQMTP}, nil
	})
	p := NewPool(e, PoolOptions{MaxConns: 1})
	defer p.Close()
	res := p.Deliver(context.Background(), poolJob(t, "a@example.test", "b@example.test"))
	status(t, res, outcome.Delivered, outcome.Failed)
	if !res.QMTP || res.Recipients[1].DSN != "5.1.1" || res.Recipients[0].Protocol != "qmtp" || len(srv.Packages()) != 2 {
		t.Errorf("%+v, %d packages", res, len(srv.Packages()))
	}
}
