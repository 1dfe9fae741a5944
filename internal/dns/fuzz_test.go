package dns

import (
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

func FuzzParseServers(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "127.0.0.1:53,[::1]:5353", " ::1 , ,", "[::1]", "host:53", "1.2.3.4:99999", "[fe80::1%eth0]:53"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		servers, err := parseServers(list)
		if err != nil {
			return
		}
		if len(servers) == 0 {
			t.Fatalf("parseServers(%q) = no servers and no error", list)
		}
		// What comes out is a valid list itself and reads the same again.
		again, err := parseServers(strings.Join(servers, ","))
		if err != nil || strings.Join(again, ",") != strings.Join(servers, ",") {
			t.Fatalf("parseServers(%q) = %v, which reads back as %v, %v", list, servers, again, err)
		}
	})
}

func FuzzQueryName(f *testing.F) {
	for _, s := range []string{"example.test", "example.test.", "bücher.test", "他们为什么不说中文.test", "a..b", "", ".", "ｅｘａｍｐｌｅ．ｔｅｓｔ", "_25._tcp.mx.test", "\u0301a", "xn--bcher-kva.test"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := queryName(name)
		if err != nil {
			return
		}
		if !strings.HasSuffix(got, ".") || !isASCII(got) || !validASCIIName(strings.TrimSuffix(got, ".")) {
			t.Fatalf("queryName(%q) = %q, not an absolute ASCII name", name, got)
		}
		if again, err := queryName(got); err != nil || again != got {
			t.Fatalf("queryName(%q) = %q, then %q, %v", name, got, again, err)
		}
	})
}

// FuzzResponse feeds raw response bytes through the checks and the answer reading that every
// lookup applies to what a server sends.
func FuzzResponse(f *testing.F) {
	seeds := []struct {
		name   string
		qtype  uint16
		answer []string
	}{
		{"example.test.", mdns.TypeMX, []string{"example.test. 60 IN MX 10 mx.example.test.", "example.test. 60 IN MX 0 ."}},
		{"a.test.", mdns.TypeA, []string{"a.test. 60 IN CNAME b.test.", "b.test. 60 IN CNAME c.test.", "c.test. 60 IN A 192.0.2.1"}},
		{"loop.test.", mdns.TypeAAAA, []string{"loop.test. 60 IN CNAME pool.test.", "pool.test. 60 IN CNAME loop.test."}},
		{"_25._tcp.mx.test.", mdns.TypeTLSA, []string{"_25._tcp.mx.test. 60 IN TLSA 3 1 1 abcdef"}},
	}
	for _, s := range seeds {
		m := new(mdns.Msg)
		m.SetQuestion(s.name, s.qtype)
		m.Response, m.AuthenticatedData = true, true
		for _, text := range s.answer {
			rr, err := mdns.NewRR(text)
			if err != nil {
				f.Fatal(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		resp := new(mdns.Msg)
		if resp.Unpack(data) != nil {
			return
		}
		qname, qtype := "example.test.", mdns.TypeMX
		if len(resp.Question) > 0 {
			qname, qtype = resp.Question[0].Name, resp.Question[0].Qtype
		}
		q := newQuery(qname, qtype)
		q.Id = resp.Id
		_ = checkResponse(q, resp)
		end, rrs, links, err := readAnswer(resp, qname, qtype, map[string]bool{})
		if err != nil {
			return
		}
		if links > len(resp.Answer) {
			t.Fatalf("walked %d links in an answer of %d records", links, len(resp.Answer))
		}
		for _, rr := range rrs {
			if h := rr.Header(); h.Rrtype != qtype || !strings.EqualFold(h.Name, end) {
				t.Fatalf("record %v taken for %s type %d", rr, end, qtype)
			}
		}
		if n := len(mxRecords(rrs)) + len(tlsaRecords(rrs)) + len(appendAddrs(nil, rrs)); n > len(rrs) {
			t.Fatalf("%d records became %d results", len(rrs), n)
		}
	})
}
