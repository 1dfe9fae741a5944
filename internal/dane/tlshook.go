package dane

import (
	"crypto/tls"
	"slices"
	"time"
)

// VerifyConnection returns a function for tls.Config.VerifyConnection that
// runs Verify on the certificates the server sent, with the usable records of
// rrs and the reference identifiers names, at the time now returns (time.Now
// when now is nil). A non-nil error fails the handshake, so nothing is sent to
// an unauthenticated server (RFC 7672 §2.2).
//
// The caller must set tls.Config.InsecureSkipVerify to true. DANE replaces
// PKIX: the server's chain usually does not lead to a public root (a DANE-EE
// certificate may be self-signed, a DANE-TA anchor a private CA), so the
// standard verifier would refuse it. InsecureSkipVerify only turns that
// verifier off; this hook then does all the checking, and runs on every full
// and resumed handshake. Set tls.Config.ServerName to the TLSA base domain all
// the same, for SNI (RFC 7671 §10.2).
//
// Install the hook only when Usable(rrs) is not empty: with no usable records
// it fails every handshake with ErrNoRecords, while RFC 7672 §2.2 asks for
// unauthenticated mandatory TLS then.
//
// If res is not nil, every call stores the Result through it (the zero Result
// on failure), for the caller's outcome facts. rrs and names are copied. The
// function writes *res without locking: use one res per connection, and read
// it only after the handshake has returned.
func VerifyConnection(rrs []Record, names []string, now func() time.Time, res *Result) func(tls.ConnectionState) error {
	rrs = Usable(rrs)
	names = slices.Clone(names)
	return func(cs tls.ConnectionState) error {
		t := time.Now()
		if now != nil {
			t = now()
		}
		r, err := Verify(rrs, cs.PeerCertificates, names, t)
		if res != nil {
			*res = r
		}
		return err
	}
}
