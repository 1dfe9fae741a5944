package check

import "time"

// Report is everything check found out about one destination. Its JSON form (field tags
// below) is a contract: docs/check.md documents each field, and a field is never renamed or
// given another meaning. Facts that were not looked at are null or empty, never guessed.
type Report struct {
	Domain    string    `json:"domain"`     // the destination as given
	Port      uint16    `json:"port"`       // the SMTP port probed (25 unless told otherwise)
	CheckedAt time.Time `json:"checked_at"` // when the check started, UTC, whole seconds
	MX        MX        `json:"mx"`
	// Hosts are the next hops in the order the engine would try them (by MX preference),
	// then MX hosts the engine would not try (no address), each with Planned false.
	Hosts []Host `json:"hosts"`
	// MTASTS is the recipient domain's MTA-STS state as the engine sees it (RFC 8461); null
	// when MTA-STS was not checked (switched off, or an address literal).
	MTASTS  *MTASTS `json:"mta_sts"`
	Verdict Verdict `json:"verdict"`
}

// MTASTS is the _mta-sts record and the policy the engine would apply (deliver.LookupSTS: the
// cache, the fetch and the downgrade resistance of package mtasts).
type MTASTS struct {
	// Record is the TXT record at _mta-sts.<domain> as published now; null when there is none
	// (or the lookup failed: RecordError says why).
	Record      *STSRecord `json:"record"`
	RecordError string     `json:"record_error,omitempty"`
	// DNSSEC of the TXT answer: Secure, Insecure, or "" when the lookup failed. MTA-STS does
	// not need it (the policy is authenticated by HTTPS); it is a fact for the operator.
	DNSSEC string `json:"dnssec"`
	// Policy is the policy the engine would apply; null when none applies (none published,
	// or not fetched and none cached), and Error then says why, if something failed.
	Policy *STSPolicy `json:"policy"`
	// Error is what failed on the way: the record, the fetch (ErrFetch, ErrWebPKI, a bad
	// policy). With a Policy, the cached one is applied in spite of it (RFC 8461 §10.2).
	Error string `json:"error,omitempty"`
}

// STSRecord is the TXT record (RFC 8461 §3.1).
type STSRecord struct {
	Text string `json:"text"`
	ID   string `json:"id"`
}

// STSPolicy is the policy (RFC 8461 §3.2).
type STSPolicy struct {
	Mode   string   `json:"mode"`    // "enforce", "testing" or "none"
	MX     []string `json:"mx"`      // the mx patterns; never null
	MaxAge int64    `json:"max_age"` // seconds
	Source string   `json:"source"`  // "fetch" (fetched now) or "cache"
}

// DNSSEC statuses of an answer: "secure" when the resolver set the AD bit, "insecure" when it
// did not, "" when there was no answer to judge.
const (
	Secure   = "secure"
	Insecure = "insecure"
)

// MX is the answer to the MX query of the domain.
type MX struct {
	DNSSEC  string     `json:"dnssec"`  // Secure or Insecure; "" when the lookup failed
	Records []MXRecord `json:"records"` // as the server gave them; never null
	// NullMX: the only target is "." (RFC 7505 §3): the domain accepts no mail.
	NullMX bool `json:"null_mx"`
	// ImplicitMX: no MX records, so the domain itself is the one host (RFC 5321 §5.1).
	ImplicitMX bool   `json:"implicit_mx"`
	Error      string `json:"error,omitempty"` // the lookup failed (NXDOMAIN, SERVFAIL, timeout)
}

// MXRecord is one MX record; a null MX has Host ".".
type MXRecord struct {
	Pref uint16 `json:"pref"`
	Host string `json:"host"`
}

// Host is one MX host (or the domain itself for an implicit MX).
type Host struct {
	Name string `json:"name"`
	Pref int    `json:"pref"`
	// Planned: the engine would try this host. False for an MX host without addresses (its
	// lookup failed or found nothing); AddressError says why.
	Planned      bool   `json:"planned"`
	AddressError string `json:"address_error,omitempty"`
	// DNSSEC is Secure when the MX answer and this host's address answer both were (the
	// condition for DANE, RFC 7672 §2.2.1), else Insecure.
	DNSSEC string `json:"dnssec"`
	TLSA   *TLSA  `json:"tlsa"` // null when no TLSA lookup was made (no address, or an address literal)
	// MTASTSMatch: the host matches an mx pattern of the MTA-STS policy (RFC 8461 §4.1); null
	// when no policy in testing or enforce mode applies.
	MTASTSMatch *bool     `json:"mta_sts_match"`
	Policy      *Policy   `json:"policy"` // null when the host is not planned
	Addresses   []Address `json:"addresses"`
}

// TLSA is the answer for _port._tcp.host.
type TLSA struct {
	Name string `json:"name"` // "_25._tcp.mx1.example.test": the name whose answer decided
	// Used: the engine looked these records up to decide the policy. False when it did not
	// (the host is not DNSSEC-secure, or a rule switches TLSA off); check then looks them up
	// itself, for the operator only, and Note says why they do not count.
	Used    bool         `json:"used"`
	DNSSEC  string       `json:"dnssec"`  // Secure or Insecure; "" when the lookup failed
	Records []TLSARecord `json:"records"` // never null; empty for NXDOMAIN or NODATA
	Error   string       `json:"error,omitempty"`
	Note    string       `json:"note,omitempty"`
}

// TLSARecord is one TLSA record (RFC 6698 §2.1) and whether an SMTP client may use it
// (RFC 7672 §3.1.3).
type TLSARecord struct {
	Usage        uint8  `json:"usage"`
	Selector     uint8  `json:"selector"`
	MatchingType uint8  `json:"matching_type"`
	Data         string `json:"data"` // hexadecimal, lower case
	Usable       bool   `json:"usable"`
}

// Policy is the TLS policy the engine would apply to a host (tlspolicy.Decide).
type Policy struct {
	Name    string `json:"name"`    // "dane", "mandatory", "opportunistic" or "never" (tlspolicy.Policy.Name)
	Require string `json:"require"` // the verification required: "none", "ca", "dane-ee", ... (tlspolicy.Verified)
	Rule    string `json:"rule"`    // the tlsdestinations key that decided, "tlsa", or "" for the default
	Port    uint16 `json:"port"`    // the port the engine would dial
	// Error: the policy cannot be settled (a failed TLSA lookup), so the host is not tried.
	Error string `json:"error,omitempty"`
}

// Address is what one address of a host said, and what the engine would do there.
type Address struct {
	Address string `json:"address"` // IP address
	Port    uint16 `json:"port"`
	// Error is why the probe stopped early (connect, greeting or EHLO failed); the facts
	// gathered before are kept.
	Error      string   `json:"error,omitempty"`
	Greeting   string   `json:"greeting,omitempty"` // the greeting, lines joined by a space
	Extensions []string `json:"extensions"`         // EHLO keywords and parameters in clear ("SIZE 10485760"); never null
	STARTTLS   *TLS     `json:"starttls"`           // null when not reached (no EHLO)
	TLSExts    []string `json:"extensions_tls"`     // EHLO keywords after STARTTLS; never null
	Verdict    Outcome  `json:"verdict"`            // what the engine would do at this address
}

// TLS is what STARTTLS gave, with the server's certificate chain judged as facts: these are
// not the policy's checks (Verdict is), so an untrusted CA here stops nothing under DANE.
type TLS struct {
	Offered bool   `json:"offered"`         // STARTTLS was in the EHLO reply
	Reply   string `json:"reply,omitempty"` // the server's reply to STARTTLS when it was not 220
	Error   string `json:"error,omitempty"` // the handshake failed
	Version string `json:"version,omitempty"`
	Cipher  string `json:"cipher,omitempty"`
	Chain   []Cert `json:"chain"` // as the server sent it, leaf first; never null
	// NameMatches: the leaf certificate is valid for the host name (crypto/x509's
	// VerifyHostname: subjectAltNames, wildcards in the leftmost label).
	NameMatches bool `json:"name_matches"`
	// CATrusted: the chain verifies against the CA set (system roots unless told otherwise)
	// for server authentication at CheckedAt; CAError says why not.
	CATrusted bool   `json:"ca_trusted"`
	CAError   string `json:"ca_error,omitempty"`
	// DANE is the match of the chain against the host's usable TLSA records; null when there
	// are none that count (not DNSSEC-secure, none published, none usable).
	DANE *DANE `json:"dane"`
}

// Cert is one certificate of the chain.
type Cert struct {
	Subject    string    `json:"subject"` // RFC 2253 form
	Issuer     string    `json:"issuer"`
	DNSNames   []string  `json:"dns_names"`
	IPs        []string  `json:"ip_addresses"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	DaysLeft   int       `json:"days_left"` // whole days from CheckedAt to NotAfter; negative when expired
	SHA256     string    `json:"sha256"`    // of the DER certificate, hex
	SPKISHA256 string    `json:"spki_sha256"`
}

// DANE is the verdict of dane.Verify on the chain: the same check the engine's handshake runs
// under a DANE policy.
type DANE struct {
	Matched bool   `json:"matched"`
	Method  string `json:"method,omitempty"` // "DANE-EE" or "DANE-TA"
	Record  string `json:"record,omitempty"` // the record that matched: "3 1 1 <hex>"
	Depth   int    `json:"depth"`            // position in the chain of the matched certificate (0 = leaf)
	Error   string `json:"error,omitempty"`  // why nothing matched
}

// Actions of a verdict.
const (
	Deliver = "deliver" // a session would carry the message
	Defer   = "defer"   // not now; a later try may succeed
	Bounce  = "bounce"  // never: the message would be returned
)

// Outcome is what the engine would do at one address.
type Outcome struct {
	Action string `json:"action"` // Deliver, Defer or Bounce
	DSN    string `json:"dsn,omitempty"`
	// TLS says how the session would be protected when Action is Deliver: "dane-ee",
	// "ca+name", "none" (encrypted, not verified), or "" in clear.
	TLS     string `json:"tls,omitempty"`
	Version string `json:"tls_version,omitempty"`
	// Reason is why not, in a few words, when Action is not Deliver: "certificate does not
	// match TLSA", "connect: ...", the server's reply.
	Reason string `json:"reason,omitempty"`
	Text   string `json:"text"` // one line for the operator
}

// Verdict is what a delivery to the domain would do: the first address, in the engine's
// order, where a session would be ready for MAIL FROM, or why there is none.
type Verdict struct {
	Outcome
	Host    string `json:"host,omitempty"`    // where it would go (Action Deliver)
	Address string `json:"address,omitempty"` // "[::1]:25"
	Policy  string `json:"policy,omitempty"`  // that host's policy name
}
