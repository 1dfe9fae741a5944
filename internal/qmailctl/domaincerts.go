package qmailctl

import (
	"strings"

	"github.com/mxout/mxout/internal/tlsrule"
)

// DomainCert is one control/domaincerts entry: the client certificate to present for a
// sender domain (tlsrule.ClientCert, which loads it).
type DomainCert = tlsrule.ClientCert

// DomainCerts is the parsed control/domaincerts. The zero value and nil hold
// no entries. It is read-only after Load and safe for concurrent use.
type DomainCerts struct {
	m map[string]DomainCert // lower-cased key -> entry; CertFile "" = explicitly none
}

// parseDomainCerts parses "domain:certificate|keyfile|password" lines (the
// password is everything after the second '|', so it may hold '|'). Lines
// without ':' are ignored and the later of two equal keys wins, as constmap
// does. An empty value means "no certificate for this domain". A key file or
// password without a certificate is a *FileError.
func parseDomainCerts(lines []line) (*DomainCerts, error) {
	d := &DomainCerts{m: make(map[string]DomainCert, len(lines))}
	for _, l := range lines {
		key, value, ok := splitKey(l.text)
		if !ok {
			continue
		}
		var c DomainCert
		c.CertFile, value, _ = strings.Cut(value, "|")
		c.KeyFile, c.Password, _ = strings.Cut(value, "|")
		if c.CertFile == "" && (c.KeyFile != "" || c.Password != "") {
			return nil, &FileError{File: "domaincerts", Line: l.n, Reason: "key file or password without certificate"}
		}
		d.m[asciiLower(key)] = c
	}
	return d, nil
}

// Lookup returns the certificate for mail from senderDomain (the text after
// the '@' of the sender). Keys are tried from most to least specific
// ("mail.a.test", ".a.test", ".test", the empty key), then "*"; the first
// hit decides. A hit with an empty value ends the search with ok false, so
// a domain can opt out of a "*" default. Keys compare ASCII
// case-insensitively.
func (d *DomainCerts) Lookup(senderDomain string) (DomainCert, bool) {
	if d == nil {
		return DomainCert{}, false
	}
	keys := append(suffixKeys(asciiLower(senderDomain), true), "*")
	for _, k := range keys {
		if c, ok := d.m[k]; ok {
			return c, c.CertFile != ""
		}
	}
	return DomainCert{}, false
}

// ClientCert implements tlsrule.ClientCerts: Lookup. Nil-safe.
func (d *DomainCerts) ClientCert(senderDomain string) (tlsrule.ClientCert, bool) {
	return d.Lookup(senderDomain)
}
