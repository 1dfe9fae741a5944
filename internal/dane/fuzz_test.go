package dane

import (
	"bytes"
	"crypto/x509"
	"testing"
)

// FuzzVerify feeds Verify and Usable arbitrary record bytes against fixed
// chains. Neither may panic, and every success must be justified by the
// test's own recomputation: a DANE-EE success means the leaf's selected bytes
// really give Data, and a DANE-TA success happens only on a chain that is
// valid for mx1.example.test, with an anchor that really matches Data.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	chains := [][]*x509.Certificate{
		{fx.leaf, fx.inter, fx.ca},        // 0: valid
		{fx.leaf, fx.inter},               // 1: valid, root not sent
		{fx.other, fx.inter, fx.ca},       // 2: wrong name
		{fx.expired, fx.inter, fx.ca},     // 3: expired leaf
		{fx.foreignLeaf, fx.foreignCA},    // 4: another CA
		{fx.leaf, fx.foreignCA, fx.inter}, // 5: valid, with an unrelated extra
	}
	validTA := map[int]bool{0: true, 1: true, 4: true, 5: true} // 4 under foreignCA
	for i := range chains {
		for _, r := range []Record{
			rec(3, 1, 1, fx.leaf), rec(3, 0, 0, fx.leaf), rec(3, 1, 2, fx.other),
			rec(2, 0, 1, fx.ca), rec(2, 1, 1, fx.inter), rec(2, 0, 0, fx.ca), rec(2, 1, 0, fx.ca),
			rec(2, 1, 0, fx.foreignCA), rec(1, 1, 1, fx.leaf), {Usage: 2, Selector: 1, Data: []byte{0x30}},
		} {
			f.Add(uint8(i), r.Usage, r.Selector, r.MatchingType, r.Data)
		}
	}
	f.Fuzz(func(t *testing.T, which, usage, selector, mtype uint8, data []byte) {
		r := Record{Usage: usage, Selector: selector, MatchingType: mtype, Data: data}
		checkUsable(t, r)
		ci := int(which) % len(chains)
		chain := chains[ci]
		res, err := Verify([]Record{r}, chain, mx1, fx.now)
		if err != nil {
			if res.Method != None || res.Depth != 0 || res.Record.Data != nil || describe(res.Record) != "0 0 0" {
				t.Fatalf("failure %v came with a non-zero result %+v", err, res)
			}
			return
		}
		if !bytes.Equal(res.Record.Data, data) || describe(res.Record) != describe(r) {
			t.Fatalf("result names record %s; want the one given, %s", describe(res.Record), describe(r))
		}
		switch res.Method {
		case EE:
			if usage != UsageDANEEE || res.Depth != 0 || !bytes.Equal(association(selector, mtype, chain[0]), data) {
				t.Fatalf("DANE-EE success for %s that does not match the leaf (depth %d)", describe(r), res.Depth)
			}
		case TA:
			if usage != UsageDANETA || !validTA[ci] {
				t.Fatalf("DANE-TA success for %s on chain %d, which must fail", describe(r), ci)
			}
			checkAnchor(t, r, chain, res.Depth)
		default:
			t.Fatalf("success with method %v", res.Method)
		}
	})
}

// checkUsable restates the RFC 7672 §3.1.3 filter independently of usable.
func checkUsable(t *testing.T, r Record) {
	t.Helper()
	want := (r.Usage == 2 || r.Usage == 3) && r.Selector <= 1 &&
		(r.MatchingType == 0 && len(r.Data) > 0 || r.MatchingType == 1 && len(r.Data) == 32 || r.MatchingType == 2 && len(r.Data) == 64)
	if got := len(Usable([]Record{r})) == 1; got != want {
		t.Fatalf("Usable(%s, %d bytes) = %v; want %v", describe(r), len(r.Data), got, want)
	}
}

// checkAnchor confirms that a DANE-TA success at depth rests on a real match:
// a sent certificate whose selected bytes give Data, or, past the end of the
// chain, a Full(0) certificate or key that signed one of the sent
// certificates.
func checkAnchor(t *testing.T, r Record, chain []*x509.Certificate, depth int) {
	t.Helper()
	if depth < len(chain) {
		if !bytes.Equal(association(r.Selector, r.MatchingType, chain[depth]), r.Data) {
			t.Fatalf("DANE-TA success for %s at depth %d, which it does not match", describe(r), depth)
		}
		return
	}
	if r.MatchingType != MatchFull || depth != len(chain) {
		t.Fatalf("DANE-TA success for %s at depth %d, past the %d sent certificates", describe(r), depth, len(chain))
	}
	anchor := &x509.Certificate{}
	if r.Selector == SelectorCert {
		c, err := x509.ParseCertificate(r.Data)
		if err != nil {
			t.Fatalf("DANE-TA success for an unparsable 2 0 0 certificate: %v", err)
		}
		anchor = c
	} else {
		pub, err := x509.ParsePKIXPublicKey(r.Data)
		if err != nil {
			t.Fatalf("DANE-TA success for an unparsable 2 1 0 key: %v", err)
		}
		anchor.PublicKey, anchor.PublicKeyAlgorithm = pub, keyAlgorithm(pub)
	}
	for _, c := range chain {
		if c.CheckSignatureFrom(anchor) == nil {
			return
		}
	}
	t.Fatalf("DANE-TA success for %s, whose anchor signed no sent certificate", describe(r))
}
