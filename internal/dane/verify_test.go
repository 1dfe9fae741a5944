package dane

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

// verifyCase is one Verify call and what must come of it. On success want
// names the method, the index in rrs of the record that must be reported,
// and the depth. On failure exactly one of wantErr (a sentinel for errors.Is)
// or wantAs (a target for errors.As) is set.
type verifyCase struct {
	name    string
	rrs     []Record
	chain   []*x509.Certificate
	names   []string
	want    Method
	wantRec int
	depth   int
	wantErr error
	wantAs  func(error) bool
}

var mx1 = []string{"mx1.example.test"}

func isHostnameErr(err error) bool {
	var e x509.HostnameError
	return errors.As(err, &e)
}

func isUnknownAuthority(err error) bool {
	var e x509.UnknownAuthorityError
	return errors.As(err, &e)
}

func isExpired(err error) bool {
	var e x509.CertificateInvalidError
	return errors.As(err, &e) && e.Reason == x509.Expired
}

func isEKU(err error) bool {
	var e x509.CertificateInvalidError
	return errors.As(err, &e) && e.Reason == x509.IncompatibleUsage
}

func anyErr(err error) bool {
	return err != nil && !errors.Is(err, ErrNoMatch) && !errors.Is(err, ErrNoRecords)
}

func flip(r Record) Record {
	d := append([]byte(nil), r.Data...)
	d[len(d)-1] ^= 1
	r.Data = d
	return r
}

func eeCases(fx *fixture) []verifyCase {
	full := []*x509.Certificate{fx.leaf, fx.inter, fx.ca}
	var cs []verifyCase
	for _, sel := range []uint8{SelectorCert, SelectorSPKI} {
		for _, mt := range []uint8{MatchFull, MatchSHA256, MatchSHA512} {
			r := rec(UsageDANEEE, sel, mt, fx.leaf)
			cs = append(cs,
				verifyCase{name: "EE " + describe(r) + " match", rrs: []Record{r}, chain: full, names: mx1, want: EE},
				verifyCase{name: "EE " + describe(r) + " flipped", rrs: []Record{flip(r)}, chain: full, names: mx1, wantErr: ErrNoMatch},
				verifyCase{name: "EE " + describe(r) + " other key", rrs: []Record{rec(UsageDANEEE, sel, mt, fx.other)}, chain: full, names: mx1, wantErr: ErrNoMatch},
			)
		}
	}
	return append(cs,
		verifyCase{name: "EE matches only the leaf, not the CA", rrs: []Record{rec(3, 1, 1, fx.ca)}, chain: full, names: mx1, wantErr: ErrNoMatch},
		verifyCase{name: "EE accepts an expired leaf", rrs: []Record{rec(3, 1, 1, fx.expired)}, chain: []*x509.Certificate{fx.expired, fx.inter, fx.ca}, names: mx1, want: EE},
		verifyCase{name: "EE accepts a wrong name", rrs: []Record{rec(3, 0, 1, fx.other)}, chain: []*x509.Certificate{fx.other}, names: mx1, want: EE},
		verifyCase{name: "EE needs no names", rrs: []Record{rec(3, 1, 2, fx.leaf)}, chain: []*x509.Certificate{fx.leaf}, want: EE},
		verifyCase{name: "EE accepts a foreign issuer", rrs: []Record{rec(3, 1, 1, fx.foreignLeaf)}, chain: []*x509.Certificate{fx.foreignLeaf}, names: mx1, want: EE},
		verifyCase{name: "EE ignores key usage", rrs: []Record{rec(3, 1, 1, fx.clientOnly)}, chain: []*x509.Certificate{fx.clientOnly}, names: mx1, want: EE},
	)
}

func taCases(fx *fixture) []verifyCase {
	full := []*x509.Certificate{fx.leaf, fx.inter, fx.ca}
	noRoot := []*x509.Certificate{fx.leaf, fx.inter}
	return []verifyCase{
		{name: "TA CA cert digest", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: full, names: mx1, want: TA, depth: 2},
		{name: "TA CA cert full", rrs: []Record{rec(2, 0, 0, fx.ca)}, chain: full, names: mx1, want: TA, depth: 2},
		{name: "TA CA key digest", rrs: []Record{rec(2, 1, 1, fx.ca)}, chain: full, names: mx1, want: TA, depth: 2},
		{name: "TA CA key sha512", rrs: []Record{rec(2, 1, 2, fx.ca)}, chain: full, names: mx1, want: TA, depth: 2},
		{name: "TA intermediate cert", rrs: []Record{rec(2, 0, 2, fx.inter)}, chain: full, names: mx1, want: TA, depth: 1},
		{name: "TA intermediate key, root not sent", rrs: []Record{rec(2, 1, 1, fx.inter)}, chain: noRoot, names: mx1, want: TA, depth: 1},
		{name: "TA chain sent out of order", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: []*x509.Certificate{fx.leaf, fx.ca, fx.inter}, names: mx1, want: TA, depth: 1},
		{name: "TA leaf itself as anchor", rrs: []Record{rec(2, 0, 1, fx.leaf)}, chain: full, names: mx1, want: TA, depth: 0},
		{name: "TA digest of a CA not sent", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: noRoot, names: mx1, wantErr: ErrNoMatch},
		{name: "TA 2 0 0 of a CA not sent", rrs: []Record{rec(2, 0, 0, fx.ca)}, chain: noRoot, names: mx1, want: TA, depth: 2},
		{name: "TA 2 0 0 not sent, unrelated extra sent", rrs: []Record{rec(2, 0, 0, fx.ca)}, chain: []*x509.Certificate{fx.leaf, fx.foreignCA, fx.inter}, names: mx1, want: TA, depth: 3},
		{name: "TA 2 1 0 bare key not sent", rrs: []Record{rec(2, 1, 0, fx.ca)}, chain: noRoot, names: mx1, want: TA, depth: 2},
		{name: "TA 2 1 0 bare key of another CA", rrs: []Record{rec(2, 1, 0, fx.foreignCA)}, chain: noRoot, names: mx1, wantErr: ErrNoMatch},
		{name: "TA 2 0 0 garbage", rrs: []Record{{Usage: 2, Data: []byte("not a certificate")}}, chain: noRoot, names: mx1, wantErr: ErrNoMatch},
		{name: "TA 2 1 0 bare key, leaf expired", rrs: []Record{rec(2, 1, 0, fx.ca)}, chain: []*x509.Certificate{fx.expired, fx.inter}, names: mx1, wantAs: isExpired},
		{name: "TA leaf signed by a different CA", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: []*x509.Certificate{fx.foreignLeaf, fx.ca}, names: mx1, wantAs: isUnknownAuthority},
		{name: "TA foreign CA with the same name", rrs: []Record{rec(2, 1, 1, fx.ca)}, chain: []*x509.Certificate{fx.foreignLeaf, fx.foreignCA, fx.ca}, names: mx1, wantAs: isUnknownAuthority},
		{name: "TA wrong name", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: []*x509.Certificate{fx.other, fx.inter, fx.ca}, names: mx1, wantAs: isHostnameErr},
		{name: "TA expired leaf", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: []*x509.Certificate{fx.expired, fx.inter, fx.ca}, names: mx1, wantAs: isExpired},
		{name: "TA clientAuth-only leaf", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: []*x509.Certificate{fx.clientOnly, fx.inter, fx.ca}, names: mx1, wantAs: isEKU},
		{name: "TA no reference identifiers", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: full, wantAs: anyErr},
		{name: "TA second name matches", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: full, names: []string{"example.test", "mx1.example.test"}, want: TA, depth: 2},
		{name: "TA name case and trailing dot", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: full, names: []string{"MX1.Example.TEST."}, want: TA, depth: 2},
		{name: "TA wildcard", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: []*x509.Certificate{fx.wildcard, fx.inter, fx.ca}, names: mx1, want: TA, depth: 2},
		{name: "TA wildcard is one label", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: []*x509.Certificate{fx.wildcard, fx.inter, fx.ca}, names: []string{"a.mx1.example.test"}, wantAs: isHostnameErr},
		{name: "TA wildcard needs a label", rrs: []Record{rec(2, 0, 1, fx.ca)}, chain: []*x509.Certificate{fx.wildcard, fx.inter, fx.ca}, names: []string{"example.test"}, wantAs: isHostnameErr},
	}
}

func mixedCases(fx *fixture) []verifyCase {
	full := []*x509.Certificate{fx.leaf, fx.inter, fx.ca}
	return []verifyCase{
		{name: "first match in record order", rrs: []Record{rec(3, 1, 1, fx.other), rec(2, 0, 1, fx.ca), rec(3, 1, 1, fx.leaf)}, chain: full, names: mx1, want: TA, wantRec: 1, depth: 2},
		{name: "EE after a failing TA", rrs: []Record{rec(2, 0, 1, fx.ca), rec(3, 1, 1, fx.other)}, chain: []*x509.Certificate{fx.other, fx.inter, fx.ca}, names: mx1, want: EE, wantRec: 1},
		{name: "TA failure reported over no match", rrs: []Record{rec(3, 1, 1, fx.leaf), rec(2, 0, 1, fx.ca)}, chain: []*x509.Certificate{fx.expired, fx.inter, fx.ca}, names: mx1, wantAs: isExpired},
		{name: "unusable matching records ignored", rrs: []Record{rec(UsagePKIXEE, 1, 1, fx.leaf), rec(UsagePKIXTA, 0, 1, fx.ca), rec(3, 1, 1, fx.other)}, chain: full, names: mx1, wantErr: ErrNoMatch},
		{name: "unusable after usable", rrs: []Record{rec(UsagePKIXEE, 1, 1, fx.leaf), rec(3, 1, 1, fx.leaf)}, chain: full, names: mx1, want: EE, wantRec: 1},
		{name: "only unusable records", rrs: []Record{rec(0, 0, 1, fx.ca), rec(1, 1, 1, fx.leaf), {Usage: 3, Selector: 2, MatchingType: 1, Data: make([]byte, 32)}, {Usage: 3, Selector: 1, MatchingType: 3, Data: make([]byte, 32)}, {Usage: 3, Selector: 1, MatchingType: 1, Data: rec(3, 1, 1, fx.leaf).Data[:31]}}, chain: full, names: mx1, wantErr: ErrNoRecords},
		{name: "no records", chain: full, names: mx1, wantErr: ErrNoRecords},
		{name: "empty chain", rrs: []Record{rec(3, 1, 1, fx.leaf), rec(2, 0, 0, fx.ca)}, names: mx1, wantErr: ErrNoMatch},
		// RFC 7671 §9: the strongest digest of a usage and selector decides; the weaker one is
		// not looked at, whether it matches or not. Full(0) is no digest and still counts.
		{name: "agility: SHA2-512 mismatch beats SHA2-256 match", rrs: []Record{rec(3, 1, 1, fx.leaf), rec(3, 1, 2, fx.other)}, chain: full, names: mx1, wantErr: ErrNoMatch},
		{name: "agility: SHA2-512 match", rrs: []Record{rec(3, 1, 1, fx.other), rec(3, 1, 2, fx.leaf)}, chain: full, names: mx1, want: EE, wantRec: 1},
		{name: "agility: per selector", rrs: []Record{rec(3, 1, 2, fx.other), rec(3, 0, 1, fx.leaf)}, chain: full, names: mx1, want: EE, wantRec: 1},
		{name: "agility: per usage", rrs: []Record{rec(3, 1, 2, fx.other), rec(2, 1, 1, fx.ca)}, chain: full, names: mx1, want: TA, wantRec: 1, depth: 2},
		{name: "agility: Full is separate", rrs: []Record{rec(3, 1, 2, fx.other), rec(3, 1, 0, fx.leaf)}, chain: full, names: mx1, want: EE, wantRec: 1},
		{name: "agility: a malformed stronger digest does not count", rrs: []Record{rec(3, 1, 1, fx.leaf), {Usage: 3, Selector: 1, MatchingType: 2, Data: make([]byte, 32)}}, chain: full, names: mx1, want: EE, wantRec: 0},
		{name: "nil certificate in chain", rrs: []Record{rec(3, 1, 1, fx.leaf)}, chain: []*x509.Certificate{fx.leaf, nil}, names: mx1, wantAs: anyErr},
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	var cases []verifyCase
	cases = append(cases, eeCases(fx)...)
	cases = append(cases, taCases(fx)...)
	cases = append(cases, mixedCases(fx)...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Verify(tc.rrs, tc.chain, tc.names, fx.now)
			checkResult(t, tc, res, err)
		})
	}
}

func checkResult(t *testing.T, tc verifyCase, res Result, err error) {
	t.Helper()
	if tc.want == None {
		switch {
		case err == nil:
			t.Fatalf("got success %+v; want an error", res)
		case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
			t.Fatalf("got %v; want an error wrapping %v", err, tc.wantErr)
		case tc.wantAs != nil && !tc.wantAs(err):
			t.Fatalf("got %v (%T); want another kind of error", err, errors.Unwrap(err))
		case res.Method != None:
			t.Fatalf("got result %+v with error %v; want the zero Result", res, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("got %v; want %v at depth %d", err, tc.want, tc.depth)
	}
	wantRec := tc.rrs[tc.wantRec]
	if res.Method != tc.want || res.Depth != tc.depth || describe(res.Record) != describe(wantRec) ||
		string(res.Record.Data) != string(wantRec.Data) {
		t.Fatalf("got %v record %s depth %d; want %v record %d (%s) depth %d",
			res.Method, describe(res.Record), res.Depth, tc.want, tc.wantRec, describe(wantRec), tc.depth)
	}
}

func TestVerifyTime(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	full := []*x509.Certificate{fx.leaf, fx.inter, fx.ca}
	ta := []Record{rec(2, 0, 1, fx.ca)}
	// A year and a day later every certificate has expired: DANE-TA fails,
	// DANE-EE does not look at dates.
	late := fx.now.Add(366 * 24 * time.Hour)
	if _, err := Verify(ta, full, mx1, late); !isExpired(err) {
		t.Errorf("DANE-TA after expiry: got %v; want an expiry error", err)
	}
	if _, err := Verify([]Record{rec(3, 0, 1, fx.leaf)}, full, mx1, late); err != nil {
		t.Errorf("DANE-EE after expiry: got %v; want success", err)
	}
	early := fx.now.Add(-2 * time.Hour)
	if _, err := Verify(ta, full, mx1, early); err == nil {
		t.Error("DANE-TA before NotBefore: got success; want an error")
	}
}

func TestMethodString(t *testing.T) {
	t.Parallel()
	for m, want := range map[Method]string{None: "none", EE: "DANE-EE", TA: "DANE-TA", 7: "Method(7)"} {
		if got := m.String(); got != want {
			t.Errorf("Method(%d).String() = %q; want %q", int(m), got, want)
		}
	}
}
