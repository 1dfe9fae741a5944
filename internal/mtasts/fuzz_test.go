package mtasts

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{
		goodPolicy, testingPolicy,
		"version: STSv1\nmode: none\nmax_age: 0\n\n",
		"version: STSv1\nmode: enforce\nmx: *.example.test\nmax_age: 31557600\nx-ext: a b\n",
		"version: STSv1\r\nmode: enforce\r\nmx: a\r\nmax_age: 99999999999\r\n",
		"mode:enforce\n\nversion:STSv1", "", ":", "mx: *.*.x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParsePolicy(body)
		if err != nil {
			return
		}
		if p.Text() != string(body) {
			t.Fatalf("Text() differs from the input")
		}
		if p.Mode < ModeNone || p.Mode > ModeEnforce || p.MaxAge < 0 || p.MaxAge > MaxMaxAge {
			t.Fatalf("ParsePolicy(%q) = mode %v, max_age %v", body, p.Mode, p.MaxAge)
		}
		if p.Mode != ModeNone && len(p.MX) == 0 {
			t.Fatalf("ParsePolicy(%q): mode %v without mx", body, p.Mode)
		}
		for _, pat := range p.MX {
			if pat != strings.ToLower(pat) || !validPattern(pat) {
				t.Fatalf("ParsePolicy(%q): mx pattern %q", body, pat)
			}
			// Every pattern matches the host it describes.
			host := strings.Replace(pat, "*", "x", 1)
			if !p.Match(host) {
				t.Fatalf("ParsePolicy(%q): %q does not match its own pattern %q", body, host, pat)
			}
		}
		// What the policy says, written out again, parses to the same policy.
		var b strings.Builder
		b.WriteString("version: STSv1\nmode: " + p.Mode.String() + "\n")
		for _, pat := range p.MX {
			b.WriteString("mx: " + pat + "\n")
		}
		b.WriteString("max_age: " + strconv.FormatInt(int64(p.MaxAge/time.Second), 10) + "\n")
		again, err := ParsePolicy([]byte(b.String()))
		if err != nil || again.Mode != p.Mode || again.MaxAge != p.MaxAge || strings.Join(again.MX, ",") != strings.Join(p.MX, ",") {
			t.Fatalf("ParsePolicy(%q) = %+v, which reads back as %+v, %v", body, p, again, err)
		}
	})
}

func FuzzParseSTSRecord(f *testing.F) {
	for _, s := range []string{
		"v=STSv1; id=20160831085700Z;", "v=STSv1;id=a", "v=STSv1 ; id=a ; x=y ;", "v=STSv1", "v=STSv1;;id=a",
		"v=STSv1; id=a; id=b", "v=STSv10; id=a", "v=STSv1; id=abcdefghijklmnopqrstuvwxyz0123456789",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseRecord(s)
		sel, selErr := SelectRecord([]string{s})
		if err != nil {
			if selErr == nil {
				t.Fatalf("SelectRecord accepted %q, which ParseRecord refuses: %v", s, err)
			}
			return
		}
		if !validID(rec.ID) {
			t.Fatalf("ParseRecord(%q) id %q", s, rec.ID)
		}
		if selErr != nil || sel != rec {
			t.Fatalf("SelectRecord(%q) = %+v, %v; ParseRecord gave %+v", s, sel, selErr, rec)
		}
		if again, err := ParseRecord("v=STSv1; id=" + rec.ID); err != nil || again != rec {
			t.Fatalf("id %q from %q does not read back: %+v, %v", rec.ID, s, again, err)
		}
	})
}
