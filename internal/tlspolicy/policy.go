package tlspolicy

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"strconv"

	"github.com/mxout/mxout/internal/dane"
	"github.com/mxout/mxout/internal/mtasts"
)

// Mode says whether a hop uses TLS. Modes are ordered, Never < Opportunistic
// < Mandatory. The zero value is Opportunistic, what qmail-remote does without
// a rule; that makes Never negative.
type Mode int

// The modes.
const (
	Never         Mode = -1 // no STARTTLS, no implicit TLS: the session stays in clear
	Opportunistic Mode = 0  // STARTTLS when offered; a server that does not offer it gets the mail in clear
	Mandatory     Mode = 1  // TLS or nothing: nothing is sent in clear when STARTTLS is absent or fails
)

// String returns "never", "opportunistic" or "mandatory".
func (m Mode) String() string {
	switch m {
	case Never:
		return "never"
	case Opportunistic:
		return "opportunistic"
	case Mandatory:
		return "mandatory"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Verified says how the peer of a TLS session was authenticated. Levels are
// ordered by how much a policy demands; the zero value, VerifiedNone, is the
// weakest. The order is that of the tlsdestinations rule kinds with DANE on
// top; a higher level does not imply the checks of a lower one (a pin
// verifies no chain).
type Verified int

// The levels.
const (
	VerifiedNone        Verified = iota // encrypted, peer not authenticated
	VerifiedCA                          // chain verified against the CA set (cafile/cadir or system roots), no name check
	VerifiedCAName                      // CA and a name check with wildcards and partial matching ("~")
	VerifiedCANameExact                 // CA and the exact server name ("=")
	VerifiedPin                         // leaf certificate fingerprint pinned ("%")
	VerifiedDANEEE                      // a DANE-EE(3) TLSA record matched (RFC 7672 §3.1.1)
	VerifiedDANETA                      // a DANE-TA(2) TLSA record matched (RFC 7672 §3.1.2)
	// VerifiedMTASTS: an MTA-STS enforce policy (RFC 8461 §4.2): the chain verifies against
	// the Web PKI roots (or Input.STSRoots) and the certificate names the MX host itself
	// (RFC 6125, one wildcard in the left-most label; no partial matching). It comes last so
	// that the numbers of the older levels stay; it is stronger than the CA levels and
	// weaker than DANE, which wins over it (RFC 8461 §2).
	VerifiedMTASTS
)

var verifiedNames = [...]string{
	VerifiedNone:        "none",
	VerifiedCA:          "ca",
	VerifiedCAName:      "ca+name",
	VerifiedCANameExact: "ca+exact-name",
	VerifiedPin:         "pin",
	VerifiedDANEEE:      "dane-ee",
	VerifiedDANETA:      "dane-ta",
	VerifiedMTASTS:      "mta-sts",
}

// String returns a short lower-case name ("none", "ca+name", "dane-ta").
func (v Verified) String() string {
	if v < 0 || int(v) >= len(verifiedNames) {
		return "Verified(" + strconv.Itoa(int(v)) + ")"
	}
	return verifiedNames[v]
}

// Facts are what one TLS session turned out to be, for the delivery outcome
// and the reports. A Config fills them in during the handshake; read them
// only after the handshake has returned. After a failed verification they
// hold the version, suite and peer name, and Verified is VerifiedNone.
type Facts struct {
	Version     uint16   // tls.VersionTLS12, ...
	CipherSuite uint16   // the negotiated suite (tls.TLS_...)
	Verified    Verified // what the handshake proved; see Policy.Config
	PeerCN      string   // subject common name of the server's leaf certificate, "" when none
	Policy      string   // the policy the session ran under: Policy.Name
	// STSTested: the session was checked against an MTA-STS policy in testing mode, without
	// failing it (RFC 8461 §5); STSFailure then says why it would have failed under
	// enforce (nil: it would have passed). For TLS-RPT.
	STSTested  bool
	STSFailure error
}

// VersionName returns the protocol as OpenSSL prints it ("TLSv1.3"), or ""
// for the zero Facts.
func (f Facts) VersionName() string {
	switch f.Version {
	case 0:
		return ""
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return "0x" + strconv.FormatUint(uint64(f.Version), 16)
}

// CipherName returns Go's name of the suite (tls.CipherSuiteName), or ""
// for the zero Facts.
func (f Facts) CipherName() string {
	if f.Version == 0 {
		return ""
	}
	return tls.CipherSuiteName(f.CipherSuite)
}

// Policy is the TLS decision for one hop: whether to use TLS, how, and what
// the server's certificate must prove. Decide builds it; the zero value is
// opportunistic, unverified STARTTLS to the hop's own port. A Policy is
// read-only once built and safe for concurrent use; Config may be called for
// every connection to the hop's addresses.
type Policy struct {
	Mode Mode
	// Fallback: after a TLS protocol or handshake error, retry the same
	// address in clear. Only ever true when Mode is Opportunistic.
	Fallback bool
	// Implicit: TLS from the first byte (SMTPS, RFC 8314 §3), no STARTTLS.
	Implicit bool
	// Port from tlsdestinations overriding the hop's; 0 = keep the hop's.
	Port uint16
	// Require is the minimum verification; VerifiedNone for opportunistic
	// and anonymous sessions. VerifiedDANEEE means "DANE decides": a
	// DANE-TA match satisfies it as well.
	Require Verified
	// DANE holds the usable TLSA records (RFC 7672 §3.1.3); non-empty means
	// DANE decides authentication.
	DANE []dane.Record
	// Rule is the tlsdestinations key that decided ("=mx.example.test",
	// "+*"), "" for the default and "tlsa" when TLSA records did.
	Rule string
	// RequireTLS: the policy was raised for a REQUIRETLS message
	// (Input.RequireTLS).
	RequireTLS bool

	serverName  string         // SNI and the name checks
	destination string         // the tlsdestinations key host, a second reference name
	tlsaName    string         // the CNAME-expanded name DANE records were found at: SNI and first reference name; "" = serverName
	roots       *x509.CertPool // nil = system roots
	pinHash     crypto.Hash
	pin         []byte
	ciphers     []uint16 // TLS 1.2 and older suites; nil = Go's default
	depth       int      // maximum verified chain length minus one; 0 = no limit
	clientCert  *tls.Certificate
	// sts: an MTA-STS enforce policy applies: besides Require, the chain must verify
	// against stsRoots (nil: system roots) and the certificate must name serverName.
	// stsTest: a testing policy: the same check, recorded in Facts, never failing.
	sts, stsTest bool
	stsNoMatch   bool // testing: the host matches no mx pattern
	stsRoots     *x509.CertPool
}

// Name says which kind of policy this is, as the JSON output names it: "dane" when TLSA
// records decide, "mta-sts" when an MTA-STS enforce policy applies, else the mode
// ("opportunistic", "mandatory", "never").
func (p *Policy) Name() string {
	if len(p.DANE) > 0 {
		return "dane"
	}
	if p.sts {
		return "mta-sts"
	}
	return p.Mode.String()
}

// TLSAName is the name the TLSA records that decide were found at: the CNAME-expanded name
// of an alias, else the server name. It is DANE's policy domain in TLS-RPT (RFC 8460 §3).
func (p *Policy) TLSAName() string {
	if p.tlsaName != "" {
		return p.tlsaName
	}
	return p.serverName
}

// MTASTS reports whether an MTA-STS enforce policy applies to the hop (TLS mandatory, the
// Web PKI and the MX host name checked on top of Require).
func (p *Policy) MTASTS() bool { return p.sts }

// Input is what the caller knows about the hop.
type Input struct {
	// Files keeps the CA sets and client certificates loaded from files between decisions
	// (NewFileCache); nil loads them for every decision.
	Files *FileCache
	// Destination is the host qmail-remote was given, or the smtproutes
	// relay when the mail was routed: the tlsdestinations key.
	Destination string
	// ServerName is the hop's host name (MX host or relay) for SNI and the
	// name checks; it may be an IP literal (no SNI is sent then).
	ServerName string
	// SenderDomain selects "|domain" rules of tlsdestinations and the
	// domaincerts entry; "" for the null sender.
	SenderDomain string
	// TLSA is the result of the TLSA lookup for the hop, when NeedTLSA said
	// to make one.
	TLSA TLSAState
	// STS is what the recipient domain's MTA-STS policy asks of this hop
	// (mtasts.Policy.Effect of ServerName); nil or the zero Effect: no policy.
	// The caller leaves it nil for static routes and address literals.
	STS *mtasts.Effect
	// STSRoots verifies the chain for MTA-STS; nil means the system roots
	// (the Web PKI, RFC 8461 §4.2).
	STSRoots *x509.CertPool
	// RequireTLS: the message asks for REQUIRETLS (RFC 8689 §4.2.1), so the
	// hop is Mandatory whatever the rule says ("!" included), never falls
	// back to clear, and its certificate must at least verify with a name
	// check (VerifiedCAName) unless DANE decides. Whether a session under
	// the policy qualifies is the caller's decision after EHLO.
	RequireTLS bool
}

// TLSAState is the outcome of a TLSA lookup for "_25._tcp.<ServerName>"
// (RFC 7672 §2.2), or for "_25._tcp.<Name>" when ServerName is a secure
// alias whose expanded name has TLSA records (RFC 7672 §2.2.2). The zero
// value means "not looked up".
type TLSAState struct {
	Looked  bool          // a lookup was made
	Secure  bool          // the answer was DNSSEC-validated (the AD bit)
	Records []dane.Record // the records found; empty for NXDOMAIN or NODATA
	Err     error         // non-nil: the lookup failed (SERVFAIL, bogus, timeout)
	// Name is the TLSA base domain when it is not ServerName: the
	// CNAME-expanded name the records were found at. When the records
	// decide, it is sent in SNI and is the first reference identifier for
	// DANE-TA name checks, before ServerName and Destination (RFC 7672
	// §2.2.2, RFC 7671 §7). "" means ServerName.
	Name string
}
