package deliver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/sasl"
	"github.com/mxout/mxout/internal/secret"
	"github.com/mxout/mxout/internal/smtp"
)

// spec is what a route asks of the sessions of a job beyond where to go and what TLS: the
// source address, the EHLO name, the credentials, implicit TLS and the protocol (s/qmail's
// authsenders, smtproutes, qmtproutes and domainips, through Routing.Lookup). Sessions are
// shared only between jobs with equal specs (Engine.groupKey), so a session authenticated
// as one user never carries another user's mail.
type spec struct {
	Helo     string     // "" = Config.HeloHost
	Local    netip.Addr // source address; invalid = the system's choice
	User     string     // "" = no AUTH
	Password secret.Secret
	Relay    string // the route's relay as written, or the host for MX: AuthInClear's key
	Implicit bool   // TLS from the first byte (an "s" port, 465, 6209)
	QMTP     bool   // qmtproutes
}

// specOf is the spec of route rt for host.
func specOf(rt route.Static, host string) spec {
	s := spec{Helo: rt.HeloHost, Local: rt.LocalIP, User: rt.User, Password: rt.Password,
		Relay: rt.Relay, Implicit: rt.ImplicitTLS, QMTP: rt.Protocol == route.ProtocolQMTP}
	if rt.MX() {
		s.Relay = host
	}
	if s.User == "" || s.Password.IsZero() {
		s.User, s.Password = "", secret.Secret{} // s/qmail: without both, unauthenticated
	}
	return s
}

// key is the part of the pool's group key the spec adds. The password is in it as a hash, so
// a changed password gets new sessions while the key stays printable.
func (s spec) key() string {
	pw := ""
	if !s.Password.IsZero() {
		h := sha256.Sum256([]byte(s.Password.Reveal()))
		pw = hex.EncodeToString(h[:8])
	}
	return strings.Join([]string{s.Helo, s.Local.String(), s.User, pw,
		strconv.FormatBool(s.Implicit), strconv.FormatBool(s.QMTP)}, "|")
}

// helo is the EHLO/HELO name for the spec.
func (e *Engine) helo(s spec) string {
	if s.Helo != "" {
		return s.Helo
	}
	return e.HeloHost
}

// BindError says the source address of control/domainips (or of the route's "|localip")
// could not be bound: s/qmail's "Can't bind to local ip address".
type BindError struct {
	Local netip.Addr
	Err   error
}

func (e *BindError) Error() string {
	return fmt.Sprintf("deliver: cannot bind the source address %s: %v", e.Local, e.Err)
}

func (e *BindError) Unwrap() error { return e.Err }

// bindable reports whether local is to be bound for a connection to peer: only when it is set
// and its family is the peer's (s/qmail 3.3 does the same), so that one domainips address
// does not keep a sender's mail from the hosts of the other family.
func bindable(local netip.Addr, peer netip.AddrPort) bool {
	return local.IsValid() && local.Unmap().Is4() == peer.Addr().Unmap().Is4()
}

// dialFrom dials peer from local (when bindable); a failure to bind is a *BindError. A link-
// local IPv6 source carries its interface as the zone ("fe80::1%eth0"), which the kernel
// needs to bind it. A Config.Dial of the caller's own (tests) gets no source address.
func (e *Engine) dialFrom(ctx context.Context, peer netip.AddrPort, local netip.Addr) (net.Conn, error) {
	if !bindable(local, peer) || e.Dial != nil {
		return e.dial(ctx, peer)
	}
	if e.TimeoutConnect > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.TimeoutConnect)
		defer cancel()
	}
	nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: local.AsSlice(), Zone: local.Zone()}}
	conn, err := nd.DialContext(ctx, "tcp", peer.String())
	var se *os.SyscallError
	if err != nil && errors.As(err, &se) && se.Syscall == "bind" {
		return nil, &BindError{Local: local, Err: err}
	}
	return conn, err
}

// authenticate runs SMTP AUTH on a session whose spec has credentials: the strongest offered
// mechanism the settings allow (sasl.Choose, Config.AuthMechanisms), PLAIN and LOGIN without
// TLS only where Config.AuthInClear allows. A server that offers nothing usable gets the mail
// unauthenticated, as s/qmail does ("No supported AUTH method found, continuing without
// authentication"); the session says so (Session.AuthSkipped). Every other failure is an
// *smtp.Error in PhaseAuth.
func (e *Engine) authenticate(ctx context.Context, s *Session, sp spec) error {
	offered := strings.Fields(s.c.Extensions()["AUTH"])
	if len(e.AuthMechanisms) > 0 {
		offered = allowed(offered, e.AuthMechanisms)
	}
	creds := sasl.Credentials{Username: sp.User, Password: sp.Password}
	inClear := e.AuthInClear != nil && e.AuthInClear(sp.Relay)
	m, err := sasl.Choose(offered, creds, s.TLS != nil, inClear)
	switch {
	case errors.Is(err, sasl.ErrNoMechanism):
		s.AuthSkipped = true
		return nil
	case err != nil:
		return &smtp.Error{Phase: smtp.PhaseAuth, Peer: s.Peer, Err: &smtp.AuthError{Err: err}}
	}
	return s.c.Auth(ctx, m)
}

// allowed is the offered mechanisms that are in the list (any case).
func allowed(offered, list []string) []string {
	var out []string
	for _, o := range offered {
		for _, l := range list {
			if strings.EqualFold(o, l) {
				out = append(out, o)
				break
			}
		}
	}
	return out
}
