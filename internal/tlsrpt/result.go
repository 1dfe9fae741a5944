package tlsrpt

import "time"

// PolicyType is the kind of policy a session was checked against (RFC 8460 §4.4).
type PolicyType string

// The policy types.
const (
	PolicySTS      PolicyType = "sts"             // MTA-STS (RFC 8461)
	PolicyTLSA     PolicyType = "tlsa"            // DANE (RFC 7672)
	PolicyNotFound PolicyType = "no-policy-found" // neither: the session had no policy to meet
)

// ResultType names why a session failed (RFC 8460 §4.3).
type ResultType string

// The result types of RFC 8460 §4.3.1 (negotiation) and §4.3.2 (policy).
const (
	// The server did not offer STARTTLS, or the handshake failed.
	StartTLSNotSupported ResultType = "starttls-not-supported"
	// The certificate names neither the MX host nor another accepted name.
	CertificateHostMismatch ResultType = "certificate-host-mismatch"
	// The certificate has expired.
	CertificateExpired ResultType = "certificate-expired"
	// The certificate chains to no trusted root.
	CertificateNotTrusted ResultType = "certificate-not-trusted"
	// Any other failure to validate the session against the policy.
	ValidationFailure ResultType = "validation-failure"

	// DANE: the TLSA records are unusable or the certificate matches none of them.
	TLSAInvalid ResultType = "tlsa-invalid"
	// DANE: DNSSEC validation of the TLSA records failed (bogus, or a lookup failure).
	DNSSECInvalid ResultType = "dnssec-invalid"
	// DANE: the server's TLSA records require DANE and the session could not satisfy it.
	DANERequired ResultType = "dane-required"

	// MTA-STS: the policy could not be fetched (mtasts.ErrFetch).
	STSPolicyFetchError ResultType = "sts-policy-fetch-error"
	// MTA-STS: the policy did not parse (mtasts.ErrPolicySyntax).
	STSPolicyInvalid ResultType = "sts-policy-invalid"
	// MTA-STS: the policy host's certificate did not verify (mtasts.ErrWebPKI).
	STSWebPKIInvalid ResultType = "sts-webpki-invalid"
)

// Policy identifies what a session was checked against. Its JSON is the "policy" object of
// RFC 8460 §4.4, so that a stored result and a report share one form.
type Policy struct {
	Type PolicyType `json:"policy-type"`
	// Strings: for "sts", the policy's lines (mtasts.Policy.Lines); for "tlsa", the TLSA
	// records in presentation form; empty for "no-policy-found".
	Strings []string `json:"policy-string,omitempty"`
	// Domain is the policy domain, lower case: the recipient domain for MTA-STS, the MX host
	// (the TLSA base domain) for DANE (RFC 8460 §3). Reports are grouped by it and sent to
	// the addresses in its _smtp._tls record.
	Domain string `json:"policy-domain"`
	// MXHost: for "sts", the policy's mx patterns. RFC 8460 §4.4 describes the field as a
	// list; its example in appendix B shows one string; mxout writes a list.
	MXHost []string `json:"mx-host,omitempty"`
}

// Failure describes one failed session (RFC 8460 §4.4, "failure-details" without the count).
// Addresses are in text form ("192.0.2.1", "2001:db8::1").
type Failure struct {
	ResultType          ResultType `json:"result-type"`
	SendingMTAIP        string     `json:"sending-mta-ip,omitempty"`
	ReceivingMXHostname string     `json:"receiving-mx-hostname,omitempty"`
	ReceivingMXHelo     string     `json:"receiving-mx-helo,omitempty"`
	ReceivingIP         string     `json:"receiving-ip,omitempty"`
	AdditionalInfo      string     `json:"additional-information,omitempty"`
	FailureReasonCode   string     `json:"failure-reason-code,omitempty"`
}

// Result is one TLS session (or one attempt that never got to a session, such as a fetch
// failure) as recorded by the delivery engine. Failure nil means the session succeeded.
type Result struct {
	Time    time.Time `json:"time"`
	Policy  Policy    `json:"policy"`
	Failure *Failure  `json:"failure,omitempty"`
}
