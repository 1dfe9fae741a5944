package mtasts

import "errors"

// Sentinels for errors.Is. Every error from this package wraps one of them, so that a caller
// can record the failure type that RFC 8460 §4.3.2 asks for: ErrFetch is
// "sts-policy-fetch-error", ErrPolicySyntax is "sts-policy-invalid", ErrWebPKI is
// "sts-webpki-invalid".
var (
	// ErrNoRecord: no TXT record starting "v=STSv1" at _mta-sts.<domain> (or NXDOMAIN): the
	// domain does not publish MTA-STS, unless a cached policy says otherwise.
	ErrNoRecord = errors.New("mtasts: no mta-sts record")
	// ErrMultipleRecords: more than one such record; RFC 8461 §3.1 treats it as none.
	ErrMultipleRecords = errors.New("mtasts: more than one mta-sts record")
	// ErrRecordSyntax: the one record does not follow RFC 8461 §3.1; treated as none.
	ErrRecordSyntax = errors.New("mtasts: bad mta-sts record")
	// ErrDNS: the TXT lookup failed temporarily; nothing is known about the record.
	ErrDNS = errors.New("mtasts: txt lookup failed")
	// ErrFetch: the policy could not be fetched: connection, HTTP status other than 200, a
	// redirect, the wrong media type, a body over 64 KiB, a timeout.
	ErrFetch = errors.New("mtasts: policy fetch failed")
	// ErrWebPKI: the policy host's certificate did not verify (chain or name).
	ErrWebPKI = errors.New("mtasts: policy host certificate not valid")
	// ErrPolicySyntax: the fetched body is not a valid policy (RFC 8461 §3.2).
	ErrPolicySyntax = errors.New("mtasts: bad policy")
	// ErrDomain: the domain cannot be used in a host name or a file name.
	ErrDomain = errors.New("mtasts: bad domain")
)
