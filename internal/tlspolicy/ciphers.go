package tlspolicy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
)

// attr is a set of properties of a cipher suite, as OpenSSL's cipher-string
// keywords select them.
type attr uint32

const (
	kECDHE    attr = 1 << iota // key exchange ECDHE
	kRSA                       // key exchange RSA
	aRSA                       // authentication RSA
	aECDSA                     // authentication ECDSA
	eAES                       // any AES
	eAES128                    // AES with a 128-bit key
	eAES256                    // AES with a 256-bit key
	eAESGCM                    // AES-GCM
	eCHACHA20                  // ChaCha20-Poly1305
	e3DES                      // triple DES
	eRC4                       // RC4
	mSHA1                      // HMAC-SHA1 (CBC and stream suites)
	mSHA256                    // HMAC-SHA256 (CBC suites); AEAD suites are not "SHA256" in OpenSSL
	v12                        // usable only with TLS 1.2
	vOld                       // usable with SSLv3/TLS 1.0 as well
	lHigh                      // OpenSSL's HIGH: AES and ChaCha20
	lMedium                    // OpenSSL's MEDIUM: 3DES and RC4
	inDefault                  // in Go's default list (ECDHE with AES-GCM, ChaCha20 or AES-CBC-SHA1)
	inAll                      // in ALL
	never                      // no suite has it: keywords OpenSSL knows for suites Go lacks
)

// cipherSuite is one TLS 1.2-or-older suite Go implements, with its OpenSSL name.
type cipherSuite struct {
	id    uint16
	name  string
	attrs attr
}

const (
	ecdheRSA   = kECDHE | aRSA
	ecdheECDSA = kECDHE | aECDSA
	plainRSA   = kRSA | aRSA
	gcm128     = eAES | eAES128 | eAESGCM | v12 | lHigh | inAll
	gcm256     = eAES | eAES256 | eAESGCM | v12 | lHigh | inAll
	chacha     = eCHACHA20 | v12 | lHigh | inAll
	cbc128     = eAES | eAES128 | mSHA1 | vOld | lHigh | inAll
	cbc256     = eAES | eAES256 | mSHA1 | vOld | lHigh | inAll
	cbc128s256 = eAES | eAES128 | mSHA256 | v12 | lHigh | inAll
	tdes       = e3DES | mSHA1 | vOld | lMedium | inAll
	rc4        = eRC4 | mSHA1 | vOld | lMedium | inAll // added only when asked for by name: see selectSuites
)

// suites lists, in the order of Go's preference, every TLS 1.2-or-older
// suite crypto/tls implements. At most 32, so a uint32 holds a set of them.
var suites = []cipherSuite{
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256", ecdheECDSA | gcm128 | inDefault},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256", ecdheRSA | gcm128 | inDefault},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384", ecdheECDSA | gcm256 | inDefault},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384", ecdheRSA | gcm256 | inDefault},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305", ecdheECDSA | chacha | inDefault},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305", ecdheRSA | chacha | inDefault},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA", ecdheECDSA | cbc128 | inDefault},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA", ecdheRSA | cbc128 | inDefault},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA", ecdheECDSA | cbc256 | inDefault},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA", ecdheRSA | cbc256 | inDefault},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256", ecdheECDSA | cbc128s256},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256", ecdheRSA | cbc128s256},
	{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256", plainRSA | gcm128},
	{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384", plainRSA | gcm256},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "AES128-SHA256", plainRSA | cbc128s256},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA", plainRSA | cbc128},
	{tls.TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA", plainRSA | cbc256},
	{tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE-RSA-DES-CBC3-SHA", ecdheRSA | tdes},
	{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "DES-CBC3-SHA", plainRSA | tdes},
	{tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, "ECDHE-ECDSA-RC4-SHA", ecdheECDSA | rc4},
	{tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, "ECDHE-RSA-RC4-SHA", ecdheRSA | rc4},
	{tls.TLS_RSA_WITH_RC4_128_SHA, "RC4-SHA", plainRSA | rc4},
}

// cipherKeywords maps OpenSSL cipher-string keywords to the attributes a
// suite must all have. "never" marks words OpenSSL knows that select no
// suite Go implements (they select nothing, as OpenSSL does for ciphers it
// was built without).
var cipherKeywords = map[string]attr{
	"ALL": inAll, "DEFAULT": inDefault, "HIGH": lHigh, "MEDIUM": lMedium,
	"ECDHE": kECDHE, "EECDH": kECDHE, "kECDHE": kECDHE, "kEECDH": kECDHE, "ECDH": kECDHE,
	"RSA": kRSA, "kRSA": kRSA, "aRSA": aRSA, "ECDSA": aECDSA, "aECDSA": aECDSA,
	"AES": eAES, "AES128": eAES128, "AES256": eAES256, "AESGCM": eAESGCM,
	"CHACHA20": eCHACHA20, "3DES": e3DES, "RC4": eRC4,
	"SHA1": mSHA1, "SHA": mSHA1, "SHA256": mSHA256, "SHA384": never,
	"TLSv1.2": v12, "TLSv1": vOld, "TLSv1.0": vOld, "SSLv3": vOld, "SSLv2": never,
	"LOW": never, "EXPORT": never, "EXP": never, "DES": never, "MD5": never,
	"IDEA": never, "SEED": never, "CAMELLIA": never, "CAMELLIA128": never, "CAMELLIA256": never,
	"ARIA": never, "ARIA128": never, "ARIA256": never, "ARIAGCM": never, "AESCCM": never, "AESCCM8": never,
	"DSS": never, "aDSS": never, "DH": never, "DHE": never, "EDH": never, "kDHE": never, "kEDH": never,
	"kDH": never, "kDHr": never, "kDHd": never, "PSK": never, "kPSK": never, "aPSK": never,
	"kECDHEPSK": never, "kDHEPSK": never, "kRSAPSK": never, "SRP": never, "kSRP": never, "aSRP": never,
}

// anonymousKeywords select anonymous or unencrypted suites. Go implements
// none, and asking for them is asking for something else than a certificate
// check, so they are refused when added; removing them is fine.
var anonymousKeywords = map[string]bool{
	"aNULL": true, "eNULL": true, "NULL": true, "ADH": true, "AECDH": true, "COMPLEMENTOFALL": true,
}

// tls13Names are the TLS 1.3 suites, which Go always enables: naming them
// selects nothing for TLS 1.2.
var tls13Names = map[string]bool{
	"TLS_AES_128_GCM_SHA256": true, "TLS_AES_256_GCM_SHA384": true, "TLS_CHACHA20_POLY1305_SHA256": true,
	"TLS_AES_128_CCM_SHA256": true, "TLS_AES_128_CCM_8_SHA256": true,
}

// suiteNameParts are the components of OpenSSL suite names, to tell a real
// name Go lacks ("DHE-RSA-AES128-GCM-SHA256") from a typo.
var suiteNameParts = map[string]bool{
	"ECDHE": true, "ECDSA": true, "RSA": true, "DHE": true, "EDH": true, "DH": true, "DSS": true,
	"ADH": true, "AECDH": true, "ECDH": true, "PSK": true, "SRP": true, "AES128": true, "AES256": true,
	"AES": true, "GCM": true, "CCM": true, "CCM8": true, "CHACHA20": true, "POLY1305": true, "CBC3": true,
	"DES": true, "CBC": true, "RC4": true, "RC2": true, "IDEA": true, "SEED": true, "CAMELLIA128": true,
	"CAMELLIA256": true, "ARIA128": true, "ARIA256": true, "SHA": true, "SHA256": true, "SHA384": true,
	"MD5": true, "NULL": true, "EXP": true, "EXP1024": true, "KRB5": true, "GOST94": true,
	"GOST2001": true, "GOST89": true, "GOST2012": true,
}

var errNoSuite = errors.New("tlspolicy: no tls 1.2 cipher suite selected")

// parseCiphers turns an OpenSSL cipher string into the TLS 1.2-and-older
// suites of Go it selects, in Go's preference order.
//
// Elements are separated by ':', ',', ';' or blanks. An element is a word
// or words joined by '+' (a suite must match all of them), optionally
// prefixed: none adds the suites, '-' removes them (a later element may add
// them again), '!' removes them for good, and '+' (OpenSSL: move to the
// end) is checked but has no effect. "@STRENGTH" and "@SECLEVEL=n" are
// accepted and ignored: crypto/tls chooses by its own preference since Go
// 1.17, so order never matters, only the set. Words are case-sensitive, as
// in OpenSSL: the keywords of cipherKeywords, the OpenSSL names of the
// suites in suites, and the TLS 1.3 names (which select nothing: TLS 1.3
// suites are not configurable in Go and always allowed). Real OpenSSL suite
// names Go does not implement (DHE, CAMELLIA, ...) select nothing. Errors:
// an unknown word or directive, adding anonymous or null suites (aNULL,
// eNULL, NULL, ADH, AECDH, or a suite name with ADH, AECDH or NULL), and an
// empty result. RC4 suites are only added by an element that says RC4
// ("RC4", "RC4+ECDHE", "RC4-SHA").
func parseCiphers(s string) ([]uint16, error) {
	var selected, killed uint32
	for _, el := range strings.FieldsFunc(s, isCipherSep) {
		if dir, ok := strings.CutPrefix(el, "@"); ok {
			if !knownDirective(dir) {
				return nil, fmt.Errorf("tlspolicy: unknown cipher directive %q", el)
			}
			continue
		}
		op := byte(0)
		if el[0] == '!' || el[0] == '-' || el[0] == '+' {
			op, el = el[0], el[1:]
		}
		set, err := selectSuites(el, op == 0)
		if err != nil {
			return nil, err
		}
		switch op {
		case 0:
			selected |= set &^ killed
		case '-':
			selected &^= set
		case '!':
			selected &^= set
			killed |= set
		}
	}
	var ids []uint16
	for i, c := range suites {
		if selected&(1<<i) != 0 {
			ids = append(ids, c.id)
		}
	}
	if len(ids) == 0 {
		return nil, errNoSuite
	}
	return ids, nil
}

func isCipherSep(r rune) bool {
	return r == ':' || r == ',' || r == ';' || r == ' ' || r == '\t'
}

// knownDirective reports whether "@"+dir is an OpenSSL directive we accept.
func knownDirective(dir string) bool {
	if dir == "STRENGTH" {
		return true
	}
	n, ok := strings.CutPrefix(dir, "SECLEVEL=")
	return ok && len(n) == 1 && n[0] >= '0' && n[0] <= '5'
}

// selectSuites returns the set of suites matching every '+'-joined word of
// el. adding says whether the element adds suites, where anonymous and null
// ones are refused.
func selectSuites(el string, adding bool) (uint32, error) {
	if el == "" {
		return 0, errors.New("tlspolicy: empty cipher element")
	}
	set := uint32(1)<<len(suites) - 1
	explicitRC4 := false
	for _, w := range strings.Split(el, "+") {
		ws, anon, err := selectWord(w)
		if err != nil {
			return 0, err
		}
		if anon && adding {
			return 0, fmt.Errorf("tlspolicy: %q asks for anonymous or null ciphers, which go does not implement", el)
		}
		set &= ws
		explicitRC4 = explicitRC4 || strings.Contains(w, "RC4")
	}
	if adding && !explicitRC4 {
		// OpenSSL 1.1 and later are built without RC4, so "ALL",
		// "MEDIUM" or "ECDHE" did not select it for s/qmail either.
		set &^= rc4Suites
	}
	return set, nil
}

// rc4Suites is the set of RC4 suites in suites.
var rc4Suites = func() uint32 {
	var set uint32
	for i, c := range suites {
		if c.attrs&eRC4 != 0 {
			set |= 1 << i
		}
	}
	return set
}()

// selectWord returns the suites one word selects, and whether the word
// names anonymous or null suites.
func selectWord(w string) (set uint32, anon bool, err error) {
	if anonymousKeywords[w] {
		return 0, true, nil
	}
	if a, ok := cipherKeywords[w]; ok {
		for i, c := range suites {
			if c.attrs&a == a {
				set |= 1 << i
			}
		}
		return set, false, nil
	}
	for i, c := range suites {
		if c.name == w {
			return 1 << i, false, nil
		}
	}
	if tls13Names[w] {
		return 0, false, nil
	}
	parts := strings.Split(w, "-")
	if len(parts) < 2 {
		return 0, false, fmt.Errorf("tlspolicy: unknown cipher %q", w)
	}
	for _, p := range parts {
		if !suiteNameParts[p] {
			return 0, false, fmt.Errorf("tlspolicy: unknown cipher %q", w)
		}
		anon = anon || p == "ADH" || p == "AECDH" || p == "NULL"
	}
	return 0, anon, nil
}
