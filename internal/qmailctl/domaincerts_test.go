package qmailctl

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDomainCerts(t *testing.T) {
	table := `
*:/default.pem
example.test:/ex.pem|/ex.key|pass|word
.example.test:/dot.pem|/dot.key
Mail.Example.Test:/first.pem
mail.example.test:/mail.pem
optout.example.test:
nocolon
.org:/org.pem
`
	tests := []struct {
		domain string
		want   DomainCert
		ok     bool
	}{
		{"example.test", DomainCert{CertFile: "/ex.pem", KeyFile: "/ex.key", Password: "pass|word"}, true},
		{"EXAMPLE.test", DomainCert{CertFile: "/ex.pem", KeyFile: "/ex.key", Password: "pass|word"}, true},
		{"a.example.test", DomainCert{CertFile: "/dot.pem", KeyFile: "/dot.key"}, true},
		{"MAIL.example.test", DomainCert{CertFile: "/mail.pem"}, true}, // equal keys: last wins
		{"optout.example.test", DomainCert{}, false},                   // empty value stops the search
		{"a.example.org", DomainCert{CertFile: "/org.pem"}, true},
		{"other.test", DomainCert{CertFile: "/default.pem"}, true}, // "*" default
		{"", DomainCert{CertFile: "/default.pem"}, true},
	}
	d, err := parseDomainCerts(splitLines([]byte(table)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		got, ok := d.Lookup(tt.domain)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v, %v", tt.domain, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDomainCertsEmptyKeyBeforeStar(t *testing.T) {
	d, err := parseDomainCerts(splitLines([]byte("*:/star.pem\n:/empty.pem\n")))
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := d.Lookup("a.test"); !ok || c.CertFile != "/empty.pem" {
		t.Errorf("got %+v, %v; want the empty key", c, ok)
	}
	d, _ = parseDomainCerts(nil)
	if _, ok := d.Lookup("a.test"); ok {
		t.Error("empty table found a certificate")
	}
	var nilD *DomainCerts
	if _, ok := nilD.Lookup("a.test"); ok {
		t.Error("nil table found a certificate")
	}
}

func TestDomainCertsBad(t *testing.T) {
	for _, l := range []string{"a.test:|/key", "a.test:||pw"} {
		_, err := parseDomainCerts(splitLines([]byte("*:/x.pem\n" + l)))
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != "domaincerts" || fe.Line != 2 {
			t.Errorf("%q: err = %v, want FileError at line 2", l, err)
		}
	}
}

func TestDomainCertHidesPassword(t *testing.T) {
	c := DomainCert{CertFile: "/c.pem", KeyFile: "/k.pem", Password: "s3cret"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(format, c); strings.Contains(s, "s3cret") || !strings.Contains(s, "/c.pem") {
			t.Errorf("%s: %q", format, s)
		}
	}
	if got, want := c.String(), "cert=/c.pem key=/k.pem password=set"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := (DomainCert{CertFile: "/c.pem"}).String(), "cert=/c.pem"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
