package qmailctl

import (
	"fmt"
	"net/netip"
	"strings"
)

// domainIP is one control/domainips entry: "localip[%ifname][|helohost]".
type domainIP struct {
	ip   netip.Addr // source address; invalid = not given or unusable
	helo string     // EHLO/HELO name; "" = control/helohost
	line int        // 1-based line number, for the error
	bad  string     // why the address cannot be used; "" = it can
}

// err returns the delivery-time error of e, or nil.
func (e domainIP) err() error {
	if e.bad == "" {
		return nil
	}
	return fmt.Errorf("%w (control/domainips:%d: %s)", ErrDomainIP, e.line, e.bad)
}

// domainIPs is the parsed control/domainips; nil holds no entries.
type domainIPs struct {
	m map[string]domainIP // lower-cased key -> entry
}

// parseDomainIPs parses "domain:localip[%ifname][|helohost]" lines, with
// "*" as the default key. Lines without ':' are ignored and the later of
// two equal keys wins, as constmap does.
//
// An address that does not parse does not fail the load: s/qmail reads it
// only when it connects for a sender of that domain and then reports
// "ZInvalid ipaddr in control/domainips (#4.3.0)", so mail from other
// domains still goes. The entry keeps the reason and Routing.Lookup returns
// it as an error. A HELO name with a blank, a control character or a '|'
// is a *FileError (it could only give a broken EHLO).
//
// Departures from s/qmail 3.x, which parses the address with ip4_scan or
// ip6_scan (IPv6 when a ':' is not the first byte, so "::1" fails): any
// address netip parses works; an empty address ("domain:" or
// "domain:|helo") binds nothing instead of failing, so a domain can opt out
// of a "*" default or set only its HELO name.
func parseDomainIPs(lines []line) (*domainIPs, error) {
	d := &domainIPs{m: make(map[string]domainIP, len(lines))}
	for _, l := range lines {
		key, value, ok := splitKey(l.text)
		if !ok {
			continue
		}
		addr, helo, _ := strings.Cut(value, "|")
		if hasControl(helo) || strings.ContainsAny(helo, " |") {
			return nil, &FileError{File: "domainips", Line: l.n, Reason: "bad character in helohost"}
		}
		e := domainIP{helo: helo, line: l.n}
		if addr != "" {
			e.ip, e.bad = parseLocalIP(addr)
		}
		d.m[asciiLower(key)] = e
	}
	return d, nil
}

// lookup returns the entry for mail from senderDomain: keys from most to
// least specific ("mail.a.test", ".a.test", ".test", the empty key), then
// "*"; the first hit decides. The zero domainIP means none.
func (d *domainIPs) lookup(senderDomain string) domainIP {
	if d == nil {
		return domainIP{}
	}
	for _, k := range append(suffixKeys(asciiLower(senderDomain), true), "*") {
		if e, ok := d.m[k]; ok {
			return e
		}
	}
	return domainIP{}
}
