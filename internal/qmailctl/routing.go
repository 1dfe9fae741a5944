package qmailctl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mxout/mxout/internal/route"
)

// Protocol is the mail transfer protocol of a route (route.Protocol): SMTP, or QMTP for
// qmtproutes entries.
type Protocol = route.Protocol

// The protocols. The zero value is SMTP, the protocol of every route that does not come from
// qmtproutes.
const (
	ProtocolSMTP = route.ProtocolSMTP
	ProtocolQMTP = route.ProtocolQMTP
)

// tlsPort is the implicit-TLS port of p: 465 for SMTP, 6209 for QMTP.
func tlsPort(p Protocol) uint16 {
	if p == ProtocolQMTP {
		return qmtpsPort
	}
	return smtpsPort
}

// Table names the control file a Route came from.
type Table int

// The route tables; TableNone means no table had an entry: deliver by MX.
const (
	TableNone Table = iota
	TableAuthSenders
	TableQMTPRoutes
	TableSMTPRoutes
)

// String returns the file name ("authsenders", ...) or "none".
func (t Table) String() string {
	switch t {
	case TableNone:
		return "none"
	case TableAuthSenders:
		return authSendersFile.name
	case TableQMTPRoutes:
		return qmtpRoutesFile.name
	case TableSMTPRoutes:
		return smtpRoutesFile.name
	}
	return "Table(" + strconv.Itoa(int(t)) + ")"
}

// bounceKey is the route key for mail with the null sender (s/qmail).
const bounceKey = "!@"

// Routing holds the s/qmail routing tables: authsenders, qmtproutes,
// smtproutes and domainips. The zero value and nil hold no entries (every
// message goes by MX). It is read-only after Load and safe for concurrent
// use.
type Routing struct {
	auth, qmtp, smtp *Routes
	ips              *domainIPs
}

// Lookup returns how to send mail from sender (the envelope sender, "" for
// a bounce) to host (qmail-remote's host argument). The order is that of
// s/qmail's qmail-remote:
//
//  1. authsenders, by sender: the whole sender, "@domain", the domain's
//     ".suffix"es from longest to shortest, then the empty key (which so
//     applies to every message, bounces included). The first key found
//     decides; an empty value means "not authenticated" and goes on to 2.
//  2. For the null sender only: "!@" in qmtproutes, then "!@" in
//     smtproutes.
//  3. By host: "a.b.test", ".b.test", ".test", then the empty key; at each
//     key qmtproutes before smtproutes, so the most specific entry wins
//     whatever its file. An empty value means "by MX" and ends the search
//     (by QMTP in qmtproutes).
//  4. Nothing found: by MX over SMTP, port 25, Table TableNone.
//
// Keys compare ASCII case-insensitively. MX() of the result says whether to
// look up the MX records of host instead of using Relay.
//
// Then domainips, by the sender's domain (the text after its last '@'; ""
// without one): the domain, its ".suffix"es, the empty key, then "*". It
// sets HeloHost, and LocalIP unless the route has its own. When the line
// found holds an address that cannot be used, Lookup returns the route
// (with a LocalIP only if the route has its own) and an error wrapping
// ErrDomainIP; the caller must not deliver and reports
// "ZInvalid ipaddr in control/domainips (#4.3.0)\n", which s/qmail gives
// when it is about to connect. No other error is returned.
//
// Binding LocalIP is the caller's job; s/qmail 3.3 binds only when the
// address family matches the peer's, and the caller should do the same.
func (r *Routing) Lookup(sender, host string) (Route, error) {
	var rt Route
	if r == nil {
		rt = Route{mx: true, Port: defaultSMTPPort}
	} else {
		rt = r.route(sender, host)
	}
	var src domainIP
	if r != nil {
		src = r.ips.lookup(senderDomain(sender))
	}
	rt.HeloHost = src.helo
	if !rt.LocalIP.IsValid() {
		rt.LocalIP = src.ip
	}
	return rt, src.err()
}

// route is steps 1-4 of Lookup.
func (r *Routing) route(sender, host string) Route {
	for _, k := range senderKeys(sender) {
		if rt, ok := r.auth.get(k); ok {
			if !rt.mx {
				rt.Table = TableAuthSenders
				return rt
			}
			break
		}
	}
	if sender == "" {
		if rt, ok := r.pick(bounceKey); ok {
			return rt
		}
	}
	for _, k := range suffixKeys(asciiLower(host), true) {
		if k == bounceKey {
			continue // reserved for the null sender, even for a host named "!@"
		}
		if rt, ok := r.pick(k); ok {
			return rt
		}
	}
	return Route{mx: true, Port: defaultSMTPPort}
}

// pick returns the qmtproutes entry under k, else the smtproutes one.
func (r *Routing) pick(k string) (Route, bool) {
	if rt, ok := r.qmtp.get(k); ok {
		rt.Table = TableQMTPRoutes
		return rt, true
	}
	if rt, ok := r.smtp.get(k); ok {
		rt.Table = TableSMTPRoutes
		return rt, true
	}
	return Route{}, false
}

// senderKeys returns the authsenders keys for sender, lower-cased, most
// specific first: "info@mail.example.test", "@mail.example.test",
// ".example.test", ".test", "". s/qmail 3.x also starts a key at every '.'
// and '@' of the local part (".last@example.test" for
// "first.last@example.test") and works on the quoted form of the sender;
// mxout splits at the last '@' only, as qmail splits addresses.
func senderKeys(sender string) []string {
	s := asciiLower(sender)
	if s == "" {
		return []string{""}
	}
	keys := []string{s}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		domain := s[i+1:]
		keys = append(keys, "@"+domain)
		for j := 0; j < len(domain); j++ {
			if domain[j] == '.' {
				keys = append(keys, domain[j:])
			}
		}
	}
	return append(keys, "")
}

// senderDomain returns the text after the last '@' of sender, or "".
func senderDomain(sender string) string {
	if i := strings.LastIndexByte(sender, '@'); i >= 0 {
		return sender[i+1:]
	}
	return ""
}

// Static is the route as the engine takes it (route.Static): neutral data without the table it
// came from.
func (r Route) Static() route.Static {
	return route.Static{ByMX: r.mx, Relay: r.Relay, Addr: r.Addr, Port: r.Port, Protocol: r.Protocol,
		ImplicitTLS: r.ImplicitTLS, User: r.User, Password: r.Password, LocalIP: r.LocalIP, HeloHost: r.HeloHost}
}

// Table returns the routing files as a route.Table for the engine: Lookup's route as
// route.Static, and the domainips error wrapping route.ErrSourceAddress (and ErrDomainIP).
// Nil-safe: a nil *Routing routes everything by MX.
func (r *Routing) Table() route.Table { return routingTable{r} }

type routingTable struct{ r *Routing }

func (t routingTable) Lookup(sender, host string) (route.Static, error) {
	rt, err := t.r.Lookup(sender, host)
	if err != nil {
		return route.Static{}, fmt.Errorf("%w: %w", route.ErrSourceAddress, err)
	}
	return rt.Static(), nil
}
