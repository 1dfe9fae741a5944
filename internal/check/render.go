package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON object and a newline. The field names are
// the contract of docs/check.md.
func WriteJSON(w io.Writer, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("check: encoding the report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteText writes the report for a terminal: the MX list, one aligned row per address, the
// details of every host and address, and the verdict last, where the eye ends up. Its layout
// is for people and may change; programs use WriteJSON.
func WriteText(w io.Writer, r *Report) error {
	p := &printer{w: w}
	p.f("mxout check %s (port %d, %s)\n\n", r.Domain, r.Port, r.CheckedAt.Format("2006-01-02 15:04:05 MST"))
	p.mx(r.MX)
	p.mtasts(r.MTASTS)
	if len(r.Hosts) > 0 {
		p.table(r.Hosts)
		for _, h := range r.Hosts {
			p.host(h)
		}
	}
	p.f("Verdict: %s\n", r.Verdict.Text)
	return p.err
}

// printer writes and remembers the first error, so the layout code reads straight.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// kv writes one "key  value" detail line at the given indent; continuation lines of value
// (after "\n") line up under its first line.
func (p *printer) kv(indent int, key, value string) {
	pad := strings.Repeat(" ", indent)
	lines := strings.Split(value, "\n")
	p.f("%s%-12s %s\n", pad, key, lines[0])
	for _, l := range lines[1:] {
		p.f("%s%-12s %s\n", pad, "", l)
	}
}

func (p *printer) mx(mx MX) {
	switch {
	case mx.Error != "":
		p.f("MX       lookup failed: %s\n", mx.Error)
	case mx.NullMX:
		p.f("MX       null MX (%s): the domain accepts no mail\n", or(mx.DNSSEC, "-"))
	case mx.ImplicitMX:
		p.f("MX       none (%s): the domain itself is the mail host\n", or(mx.DNSSEC, "-"))
	case len(mx.Records) == 0:
		p.f("MX       not looked up (address literal)\n")
	default:
		p.f("MX       %s\n", mx.DNSSEC)
	}
	if !mx.NullMX {
		for _, rec := range mx.Records {
			p.f("  %5d  %s\n", rec.Pref, rec.Host)
		}
	}
}

func (p *printer) mtasts(m *MTASTS) {
	if m == nil {
		p.f("MTA-STS  not checked (switched off, or an address literal)\n\n")
		return
	}
	switch {
	case m.Record != nil:
		p.f("MTA-STS  record %q (%s)\n", m.Record.Text, or(m.DNSSEC, "-"))
	case m.RecordError != "":
		p.f("MTA-STS  record: %s\n", m.RecordError)
	default:
		p.f("MTA-STS  record not looked up\n")
	}
	if pol := m.Policy; pol != nil {
		p.f("  policy %s, max_age %d s, from the %s; mx %s\n", pol.Mode, pol.MaxAge, pol.Source, strings.Join(pol.MX, " "))
	} else {
		p.f("  no policy applies\n")
	}
	if m.Error != "" {
		p.f("  error: %s\n", m.Error)
	}
	p.f("\n")
}

// table is the summary: one row per address (or per host without one).
func (p *printer) table(hosts []Host) {
	if p.err != nil {
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tPREF\tDNSSEC\tPOLICY\tADDRESS\tSTARTTLS\tCERTIFICATE\tDANE\tVERDICT")
	for _, h := range hosts {
		pol := "-"
		if h.Policy != nil {
			pol = or(h.Policy.Name, "error")
		}
		lead := fmt.Sprintf("%s\t%d\t%s\t%s\t", h.Name, h.Pref, h.DNSSEC, pol)
		if len(h.Addresses) == 0 {
			fmt.Fprintf(tw, "%s-\t-\t-\t-\tnot tried\n", lead)
		}
		for _, a := range h.Addresses {
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\n", lead, a.Address, tlsCell(a), certCell(a.STARTTLS), daneCell(a.STARTTLS), verdictCell(a.Verdict))
			lead = "\t\t\t\t"
		}
	}
	p.err = tw.Flush()
	p.f("\n")
}

func tlsCell(a Address) string {
	t := a.STARTTLS
	switch {
	case t == nil && a.Error != "":
		return "(no session)"
	case t == nil:
		return "-"
	case !t.Offered:
		return "not offered"
	case t.Reply != "":
		return "refused"
	case t.Error != "":
		return "failed"
	}
	return t.Version
}

func certCell(t *TLS) string {
	if t == nil || len(t.Chain) == 0 {
		return "-"
	}
	var parts []string
	if t.NameMatches {
		parts = append(parts, "name ok")
	} else {
		parts = append(parts, "NAME MISMATCH")
	}
	if t.CATrusted {
		parts = append(parts, "CA ok")
	} else {
		parts = append(parts, "CA untrusted")
	}
	if d := t.Chain[0].DaysLeft; d < 0 {
		parts = append(parts, "EXPIRED")
	} else {
		parts = append(parts, strconv.Itoa(d)+"d left")
	}
	return strings.Join(parts, ", ")
}

func daneCell(t *TLS) string {
	switch {
	case t == nil || t.DANE == nil:
		return "-"
	case t.DANE.Matched:
		return "match " + t.DANE.Method
	}
	return "MISMATCH"
}

func verdictCell(o Outcome) string {
	switch {
	case o.Action == Deliver && o.TLS == "":
		return "deliver in clear"
	case o.Action == Deliver && o.TLS == "none":
		return "deliver, TLS unverified"
	case o.Action == Deliver:
		return "deliver, " + o.TLS
	}
	return o.Action + " " + o.DSN
}

// host writes the details of one host and its addresses.
func (p *printer) host(h Host) {
	p.f("%s (pref %d, %s)\n", h.Name, h.Pref, h.DNSSEC)
	if h.AddressError != "" {
		p.kv(2, "addresses", h.AddressError)
	}
	if t := h.TLSA; t != nil {
		v := t.Name + ": " + or(t.DNSSEC, "no answer")
		if t.Used {
			v += ", looked up by the policy"
		}
		if t.Error != "" {
			v += "\nerror: " + t.Error
		}
		if len(t.Records) == 0 && t.Error == "" {
			v += "\nno records"
		}
		for _, rec := range t.Records {
			u := "unusable"
			if rec.Usable {
				u = "usable"
			}
			v += fmt.Sprintf("\n%d %d %d %s (%s)", rec.Usage, rec.Selector, rec.MatchingType, rec.Data, u)
		}
		if t.Note != "" {
			v += "\n" + t.Note
		}
		p.kv(2, "TLSA", v)
	}
	if m := h.MTASTSMatch; m != nil {
		if *m {
			p.kv(2, "MTA-STS", "matches the policy's mx patterns")
		} else {
			p.kv(2, "MTA-STS", "matches NO mx pattern of the policy")
		}
	}
	if pol := h.Policy; pol != nil {
		if pol.Error != "" {
			p.kv(2, "policy", "cannot be settled: "+pol.Error)
		} else {
			p.kv(2, "policy", fmt.Sprintf("%s (require %s, rule %q, port %d)", pol.Name, pol.Require, pol.Rule, pol.Port))
		}
	}
	for _, a := range h.Addresses {
		p.address(a)
	}
	p.f("\n")
}

func (p *printer) address(a Address) {
	p.f("  [%s]:%d\n", a.Address, a.Port)
	if a.Greeting != "" {
		p.kv(4, "greeting", a.Greeting)
	}
	if len(a.Extensions) > 0 {
		p.kv(4, "extensions", strings.Join(a.Extensions, ", "))
	}
	if t := a.STARTTLS; t != nil {
		p.starttls(t)
	}
	if len(a.TLSExts) > 0 {
		p.kv(4, "after TLS", strings.Join(a.TLSExts, ", "))
	}
	if a.Error != "" {
		p.kv(4, "error", a.Error)
	}
	p.kv(4, "verdict", a.Verdict.Text)
}

func (p *printer) starttls(t *TLS) {
	switch {
	case !t.Offered:
		p.kv(4, "STARTTLS", "not offered")
		return
	case t.Reply != "":
		p.kv(4, "STARTTLS", "refused: "+t.Reply)
		return
	case t.Error != "":
		p.kv(4, "STARTTLS", "handshake failed: "+t.Error)
		return
	}
	p.kv(4, "STARTTLS", t.Version+" "+t.Cipher)
	var chain []string
	for i, c := range t.Chain {
		s := fmt.Sprintf("%d %s\n  issuer %s\n  valid %s to %s (%d days left)", i, c.Subject, c.Issuer,
			c.NotBefore.Format("2006-01-02"), c.NotAfter.Format("2006-01-02"), c.DaysLeft)
		if names := append(append([]string{}, c.DNSNames...), c.IPs...); len(names) > 0 {
			s += "\n  names " + strings.Join(names, ", ")
		}
		chain = append(chain, s)
	}
	if len(chain) > 0 {
		p.kv(4, "certificate", strings.Join(chain, "\n"))
		p.kv(4, "name", yesNo(t.NameMatches, "matches the host", "does not match the host"))
		p.kv(4, "CA", yesNo(t.CATrusted, "trusted", "not trusted: "+t.CAError))
	}
	if d := t.DANE; d != nil {
		if d.Matched {
			p.kv(4, "DANE", fmt.Sprintf("matches: %s %s, depth %d", d.Method, d.Record, d.Depth))
		} else {
			p.kv(4, "DANE", "NO MATCH: "+d.Error)
		}
	}
}

func yesNo(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
