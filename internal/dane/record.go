package dane

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"slices"
)

// Record is the data of one TLSA record (RFC 6698 §2.1): the certificate
// usage, selector and matching type fields, and the certificate association
// data. The zero Record is PKIX-TA(0) Cert(0) Full(0) with no data, which
// Usable rejects. Data is never modified by this package; a Result's Record
// shares Data with the caller's slice.
type Record struct {
	Usage        uint8
	Selector     uint8
	MatchingType uint8
	Data         []byte
}

// Certificate usages (RFC 6698 §2.1.1, names from RFC 7218 §2.1). Only
// UsageDANETA and UsageDANEEE are usable for SMTP (RFC 7672 §3.1.3).
const (
	UsagePKIXTA = 0 // CA constraint; unusable for SMTP
	UsagePKIXEE = 1 // service certificate constraint; unusable for SMTP
	UsageDANETA = 2 // trust anchor assertion
	UsageDANEEE = 3 // domain-issued certificate
)

// Selectors (RFC 6698 §2.1.2): which part of a certificate is matched.
const (
	SelectorCert = 0 // the whole certificate, DER-encoded
	SelectorSPKI = 1 // its SubjectPublicKeyInfo, DER-encoded
)

// Matching types (RFC 6698 §2.1.3): how Data is compared with the selected
// bytes.
const (
	MatchFull   = 0 // Data is the selected bytes themselves
	MatchSHA256 = 1 // Data is their SHA2-256 digest (32 bytes)
	MatchSHA512 = 2 // Data is their SHA2-512 digest (64 bytes)
)

// Usable returns the records of rrs that an SMTP client may use, in their
// original order (RFC 7672 §3.1.3): usage DANE-TA(2) or DANE-EE(3), selector
// Cert(0) or SPKI(1), matching type Full(0), SHA2-256(1) or SHA2-512(2), and
// Data of the right length for the matching type (32 bytes for SHA2-256, 64 for
// SHA2-512, at least one byte for Full). PKIX-TA(0), PKIX-EE(1) and unknown
// values are unusable. The result shares Data with rrs; nil when nothing is
// usable.
//
// Digest algorithm agility (RFC 7671 §9): among the usable records of one
// usage and selector, only those with the strongest digest present are kept
// (SHA2-512 over SHA2-256), so that a publisher who adds a stronger digest is
// not held to the weaker one: with "3 1 1" matching and "3 1 2" not, the peer
// is not authenticated. Full(0) records are not digests and are always kept.
//
// An empty result for a non-empty rrs has a meaning of its own: the server
// published TLSA records, so it promised TLS, but none can authenticate it.
// The caller must then treat TLS as mandatory without authentication: deliver
// only over TLS, and accept any certificate (RFC 7672 §2.2, RFC 7672 §3.1.3).
// Calling Verify in that case returns an error wrapping ErrNoRecords, which is
// not a reason to refuse delivery over TLS.
func Usable(rrs []Record) []Record {
	var out []Record
	strongest := map[[2]uint8]uint8{} // usage, selector -> strongest digest matching type
	for _, r := range rrs {
		if usable(r) {
			out = append(out, r)
			k := [2]uint8{r.Usage, r.Selector}
			strongest[k] = max(strongest[k], digestRank(r.MatchingType))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return slices.DeleteFunc(out, func(r Record) bool {
		rank := digestRank(r.MatchingType)
		return rank > 0 && rank < strongest[[2]uint8{r.Usage, r.Selector}]
	})
}

// digestRank orders the usable matching types by digest strength: 0 for
// Full(0), which is no digest, then SHA2-256(1), then SHA2-512(2). RFC 7671
// §9 leaves the order to the client; this one is by output length.
func digestRank(mtype uint8) uint8 {
	switch mtype {
	case MatchSHA256:
		return 1
	case MatchSHA512:
		return 2
	}
	return 0
}

// usable reports whether one record passes the RFC 7672 §3.1.3 filter.
// Empty Full(0) data is treated as malformed: no DER encoding is empty, so such
// a record could never match.
func usable(r Record) bool {
	if r.Usage != UsageDANETA && r.Usage != UsageDANEEE {
		return false
	}
	if r.Selector != SelectorCert && r.Selector != SelectorSPKI {
		return false
	}
	switch r.MatchingType {
	case MatchFull:
		return len(r.Data) > 0
	case MatchSHA256:
		return len(r.Data) == sha256.Size
	case MatchSHA512:
		return len(r.Data) == sha512.Size
	}
	return false
}

// matches reports whether the usable record r matches certificate c, using
// r's selector and matching type (RFC 6698 §2.1.2, RFC 6698 §2.1.3).
func matches(r Record, c *x509.Certificate) bool {
	var selected []byte
	switch r.Selector {
	case SelectorCert:
		selected = c.Raw
	case SelectorSPKI:
		selected = c.RawSubjectPublicKeyInfo
	default:
		return false
	}
	switch r.MatchingType {
	case MatchFull:
		return bytes.Equal(r.Data, selected)
	case MatchSHA256:
		sum := sha256.Sum256(selected)
		return bytes.Equal(r.Data, sum[:])
	case MatchSHA512:
		sum := sha512.Sum512(selected)
		return bytes.Equal(r.Data, sum[:])
	}
	return false
}
