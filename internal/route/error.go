package route

// ErrorKind classifies a routing failure. The report package maps each kind to a status code;
// the codes in the comments are qmail-remote's.
type ErrorKind int

const (
	// KindTemporary: a lookup failed for now (SERVFAIL, timeout...); #4.1.2.
	KindTemporary ErrorKind = iota
	// KindNoHost: the domain or relay does not exist (NXDOMAIN); #5.1.2.
	KindNoHost
	// KindNoAddress: no MX host (or the domain itself) has an address; #5.4.4.
	KindNoAddress
	// KindLoop: this machine is the best MX (or the literal or A record); #5.4.6.
	KindLoop
	// KindNullMX: the domain publishes a null MX and accepts no mail (RFC 7505 §3); #5.1.10.
	KindNullMX
)

// String names the kind in lower case, as used in Error.
func (k ErrorKind) String() string {
	switch k {
	case KindTemporary:
		return "temporary lookup failure"
	case KindNoHost:
		return "no such host"
	case KindNoAddress:
		return "no mail exchanger or address"
	case KindLoop:
		return "this machine is the best mail exchanger"
	case KindNullMX:
		return "null mx: the domain accepts no mail"
	}
	return "unknown routing failure"
}

// Error is a routing failure. Name is the name the failure is about: the domain for Domain
// (also when a host lookup failed), the relay for Relay. Err is the lookup error behind it,
// if any (wrapping dns.ErrNotFound or dns.ErrTemporary).
type Error struct {
	Kind ErrorKind
	Name string
	Err  error
}

// Error reads like "route: example.test: no such host: dns: lookup example.test MX: no such
// domain: NXDOMAIN".
func (e *Error) Error() string {
	s := "route: " + e.Name + ": " + e.Kind.String()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: only KindTemporary is.
func (e *Error) Temporary() bool { return e.Kind == KindTemporary }
