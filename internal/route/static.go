package route

import (
	"errors"
	"net/netip"
	"strconv"

	"github.com/mxout/mxout/internal/secret"
)

// Protocol is the mail transfer protocol of a static route.
type Protocol int

// The protocols. The zero value is SMTP.
const (
	ProtocolSMTP Protocol = iota // SMTP (RFC 5321), STARTTLS or implicit TLS
	ProtocolQMTP                 // QMTP; QMTPS with ImplicitTLS
)

// String returns "smtp" or "qmtp".
func (p Protocol) String() string {
	switch p {
	case ProtocolSMTP:
		return "smtp"
	case ProtocolQMTP:
		return "qmtp"
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// Static is where and how a static route sends a message, as neutral data: the qmail front
// end builds it from smtproutes, qmtproutes, authsenders and domainips (qmailctl), mxout's
// commands from -F and --auth-file. Zero fields mean "not given". It may be printed whole:
// Password never prints its value.
type Static struct {
	// ByMX: no relay; deliver by the MX records of the destination, as without a route (the
	// other fields may still set a port, credentials, a source address or a HELO name).
	ByMX bool
	// Relay is the relay's name as written; Addr is valid when the relay is an IP literal, so
	// that no DNS is needed.
	Relay string
	Addr  netip.Addr
	// Port is the TCP port (for ByMX routes: the port of the MX hosts, 0 = the default).
	Port     uint16
	Protocol Protocol
	// ImplicitTLS: TLS from the first byte, no STARTTLS.
	ImplicitTLS bool
	// User and Password are the SMTP AUTH credentials; both or neither.
	User     string
	Password secret.Secret
	// LocalIP is the source address to bind (invalid: the system's choice); a link-local IPv6
	// address carries its interface as zone.
	LocalIP netip.Addr
	// HeloHost is the EHLO/HELO name; "" = the engine's.
	HeloHost string
}

// MX reports a route that delivers by MX (ByMX).
func (s Static) MX() bool { return s.ByMX }

// Table finds the static route of a message from sender to host (in A-labels). A table with
// no entry for host returns a ByMX route. An error wrapping ErrSourceAddress means the route's
// source address is unusable: the message must not go now.
type Table interface {
	Lookup(sender, host string) (Static, error)
}

// ErrSourceAddress: the source address a route names cannot be used (qmail's domainips
// "Invalid ipaddr").
var ErrSourceAddress = errors.New("route: invalid source address")
