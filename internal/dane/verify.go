package dane

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Method says which kind of TLSA record authenticated the peer. The zero
// value, None, means that nothing did.
type Method int

// The methods, from "not authenticated" up.
const (
	None Method = iota // no record authenticated the peer
	EE                 // a DANE-EE(3) record matched the leaf certificate
	TA                 // a DANE-TA(2) record matched a trust anchor the leaf chains to
)

// String returns "none", "DANE-EE" or "DANE-TA" (the RFC 7218 §2.1 acronyms);
// other values read "Method(N)".
func (m Method) String() string {
	switch m {
	case None:
		return "none"
	case EE:
		return "DANE-EE"
	case TA:
		return "DANE-TA"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Result tells which record authenticated the peer, for the caller's outcome
// facts and logs. The zero Result (Method None) means the peer was not
// authenticated.
//
// Depth is the position in the chain (0 = leaf) of the certificate the record
// matched. When a DANE-TA(2) Full(0) record is itself the trust anchor, a
// certificate or bare public key the server did not send (RFC 7671 §5.2.2,
// RFC 7671 §5.2.3), Depth is the length of the chain: one past the last
// certificate sent, whatever the anchor signed.
type Result struct {
	Method Method
	Record Record
	Depth  int
}

var (
	// ErrNoRecords means that none of the records given is usable
	// (RFC 7672 §3.1.3). For a non-empty record set this is not an
	// authentication failure: see Usable for what the caller must do.
	ErrNoRecords = errors.New("dane: no usable tlsa records")

	// ErrNoMatch means that usable records exist but none matches a
	// certificate the server sent, so the server is not authenticated
	// (RFC 7672 §2.2: the client must not deliver to it).
	ErrNoMatch = errors.New("dane: no tlsa record matches the server certificate chain")
)

// errNoCert marks a record that matched no certificate; Verify reports it
// as ErrNoMatch only when no record got further.
var errNoCert = errors.New("dane: record matches no certificate")

// Verify authenticates the peer whose certificate chain is chain (leaf first,
// as in crypto/tls ConnectionState.PeerCertificates) with the usable records of
// rrs (see Usable), trying them in order and returning the first that
// authenticates it:
//
//   - DANE-EE(3) matches when the leaf certificate (selector 0) or its
//     SubjectPublicKeyInfo (selector 1) equals Data, or has Data as its
//     SHA2-256 or SHA2-512 digest. Neither names nor validity dates are
//     checked (RFC 7672 §3.1.1).
//   - DANE-TA(2) matches when a certificate of the chain, or for selector 1
//     its public key, matches Data the same way, or, for a Full(0) record,
//     when Data is a certificate or public key that signed a certificate of
//     the chain (RFC 7671 §5.2.2, RFC 7671 §5.2.3). The leaf must then chain
//     to that anchor through the certificates sent (in any order), with valid
//     signatures, basic constraints, validity dates at now (a zero now means
//     the current time) and extended key usage serverAuth or any; and one of
//     the leaf's DNS subjectAltNames must match one of names, the reference
//     identifiers the caller chose (RFC 7672 §3.1.2, RFC 7672 §3.2.2).
//     Wildcards match only as the whole leftmost label (RFC 7672 §3.2.3); the
//     subject common name is never used.
//
// On failure Result is zero and the error wraps ErrNoRecords (nothing usable),
// ErrNoMatch (nothing matched, or the chain is empty), or, when a DANE-TA
// record matched but the chain or name check failed, the first such failure,
// which wraps the crypto/x509 error (x509.CertificateInvalidError,
// x509.UnknownAuthorityError, x509.HostnameError...). A nil or unparsed
// certificate in chain gives an error of its own.
//
// Verify does not modify its arguments and is safe for concurrent use.
func Verify(rrs []Record, chain []*x509.Certificate, names []string, now time.Time) (Result, error) {
	usable := Usable(rrs)
	if len(usable) == 0 {
		return Result{}, fmt.Errorf("%w (%d records, none usable)", ErrNoRecords, len(rrs))
	}
	if len(chain) == 0 {
		return Result{}, fmt.Errorf("%w: the server sent no certificate", ErrNoMatch)
	}
	for i, c := range chain {
		if c == nil || len(c.Raw) == 0 {
			return Result{}, fmt.Errorf("dane: certificate %d of the chain is missing or unparsed", i)
		}
	}
	var firstErr error
	for _, r := range usable {
		res, err := verifyRecord(r, chain, names, now)
		if err == nil {
			return res, nil
		}
		if firstErr == nil && !errors.Is(err, errNoCert) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return Result{}, firstErr
	}
	return Result{}, fmt.Errorf("%w (%d usable records, %d certificates)", ErrNoMatch, len(usable), len(chain))
}

// verifyRecord applies one usable record. It returns errNoCert when the record
// matches nothing, and otherwise the first chain or name error.
func verifyRecord(r Record, chain []*x509.Certificate, names []string, now time.Time) (Result, error) {
	if r.Usage == UsageDANEEE {
		// RFC 7672 §3.1.1: the leaf alone; no names, no dates.
		if matches(r, chain[0]) {
			return Result{Method: EE, Record: r, Depth: 0}, nil
		}
		return Result{}, errNoCert
	}
	var firstErr error
	for d, c := range chain {
		if !matches(r, c) {
			continue
		}
		err := verifyPath(chain, c, names, now)
		if err == nil {
			return Result{Method: TA, Record: r, Depth: d}, nil
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("dane: %s record matched certificate %d: %w", describe(r), d, err)
		}
	}
	if firstErr != nil {
		return Result{}, firstErr
	}
	return verifyOutOfChain(r, chain, names, now)
}

// describe renders a record's parameters as in presentation format, "2 1 1".
func describe(r Record) string {
	return fmt.Sprintf("%d %d %d", r.Usage, r.Selector, r.MatchingType)
}
