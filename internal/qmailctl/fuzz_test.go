package qmailctl

import (
	"strings"
	"testing"
)

func FuzzSplitLines(f *testing.F) {
	for _, s := range []string{"", "a\nb", "# c\n\n x \t\r\n", "\n\n\n", "last"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		prev := 0
		for _, l := range splitLines(data) {
			if l.text == "" || l.text[0] == '#' || strings.ContainsRune(l.text, '\n') {
				t.Fatalf("kept line %q", l.text)
			}
			if last := l.text[len(l.text)-1]; last == ' ' || last == '\t' {
				t.Fatalf("trailing blank in %q", l.text)
			}
			if l.n <= prev {
				t.Fatalf("line numbers not increasing: %d after %d", l.n, prev)
			}
			prev = l.n
		}
		if fl := firstLine(data); strings.ContainsRune(fl, '\n') || !strings.HasPrefix(string(data), fl) {
			t.Fatalf("firstLine(%q) = %q", data, fl)
		}
	})
}

func FuzzRoutes(f *testing.F) {
	f.Add("example.test:127.0.0.1:2525abc:def\n.test:\n:relay.test", "a.example.test")
	f.Add("x:[IPv6:2001:db8::1]:587\n", "X")
	f.Add("[::1]:[::1]x\n", "[::1]")
	f.Fuzz(func(t *testing.T, table, host string) {
		r := routesFrom(table)
		rt, ok := r.Lookup(host)
		if !ok {
			if rt != (Route{}) {
				t.Fatalf("miss with non-zero route %+v", rt)
			}
			return
		}
		if rt.MX() && (rt.Relay != "" || rt.Addr.IsValid() || rt.Port != 25) {
			t.Fatalf("MX route with relay data: %+v", rt)
		}
		if rt.Addr.IsValid() && rt.Addr.Zone() != "" {
			t.Fatalf("zone in route address: %+v", rt)
		}
		// Lookup is case-insensitive.
		if rt2, _ := r.Lookup(asciiUpper(host)); rt2 != rt {
			t.Fatalf("case changes result: %+v vs %+v", rt, rt2)
		}
	})
}

// asciiUpper raises a-z only.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func FuzzTLSDestinations(f *testing.F) {
	f.Add("*:\n-*:\nremote.com:/etc/ssl/certdir/||3;465\n", "mx.remote.com", "example.net")
	f.Add("mx.partner.com:/etc/ssl/partnerca||2|mydomain.net\n", "mx.partner.com", "mail.mydomain.net")
	f.Add("%peer.test:=AB:CD"+strings.Repeat("0", 36)+"\n", "PEER.test", "")
	f.Add("-adhonlydomain.com:||aNULL:!kRSA\nhiddenpartner.org:;s35\n", "adhonlydomain.com", "")
	f.Fuzz(func(t *testing.T, table, host, sender string) {
		d, err := parseTLSDestinations(splitLines([]byte(table)))
		if err != nil {
			return
		}
		r := d.Lookup(host, sender)
		if r == nil {
			return
		}
		if r.Kind < RuleNever || r.Kind > RulePin {
			t.Fatalf("bad kind %v", r.Kind)
		}
		if (r.Kind == RulePin) != (len(r.Fingerprint) > 0) || (r.Fingerprint != nil && r.FingerprintHash.Size() != len(r.Fingerprint)) {
			t.Fatalf("fingerprint mismatch: %+v", r)
		}
		if r.Port == 465 && !r.ImplicitTLS {
			t.Fatalf("465 without implicit TLS: %+v", r)
		}
		if !r.SenderMatches(asciiLower(sender)) {
			t.Fatalf("rule for another sender: %+v", r)
		}
		if r.CAFile != "" && r.CADir != "" {
			t.Fatalf("both CA file and dir: %+v", r)
		}
	})
}

func FuzzDomainCerts(f *testing.F) {
	f.Add("*:/default.pem\nexample.test:/c.pem|/k.pem|pw|x\n", "mail.example.test")
	f.Add("optout.test:\n", "optout.test")
	f.Fuzz(func(t *testing.T, table, domain string) {
		d, err := parseDomainCerts(splitLines([]byte(table)))
		if err != nil {
			return
		}
		c, ok := d.Lookup(domain)
		if ok != (c.CertFile != "") {
			t.Fatalf("ok=%v with %+v", ok, c)
		}
		other := c
		if other.Password != "" {
			other.Password = c.Password + "x"
		}
		if c.String() != other.String() {
			t.Fatalf("String() depends on the password: %q", c.String())
		}
	})
}
