package smtp

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DSN holds the Delivery Status Notification parameters of one transaction (RFC 3461). They go
// out only when the server offers DSN; a server that does not gets none of them (RFC 3461 §5.2
// leaves the "relayed" notice to whoever asked for one; mxout is a transport and reports
// outcomes, it writes no notices). The zero value sends nothing.
type DSN struct {
	// Ret is "FULL" or "HDRS" (RFC 3461 §4.3): MAIL FROM's RET=; "" sends none.
	Ret string
	// EnvID is the envelope identifier (RFC 3461 §4.4), as the queue knows it: printable ASCII,
	// xtext-encoded here for MAIL FROM's ENVID=; "" sends none.
	EnvID string
	// Notify is "NEVER" or a comma-separated list of SUCCESS, FAILURE and DELAY (RFC 3461
	// §4.1), the same for every recipient: RCPT TO's NOTIFY=; "" sends none.
	Notify string
	// ORcpt holds the original recipient of each forward path of Envelope.To, in its order
	// (RFC 3461 §4.2): "addr-type;address" with the address as it is, not encoded (Path-like
	// text such as "rfc822;user+tag@example.com"); a bare address means rfc822. "" (or a
	// shorter slice) sends no ORCPT for that recipient. See ORcptParam for the encoding.
	ORcpt []string
}

// The limits of RFC 3461 on the encoded values.
const (
	maxEnvID = 100 // §4.4: the ENVID esmtp-value
	maxORcpt = 500 // §4.2: the ORCPT esmtp-value
)

// ErrDSN: a DSN parameter cannot be sent: RET or NOTIFY is not one of the RFC's values, ENVID
// holds a byte that is not printable ASCII, or a value is longer than RFC 3461 allows.
var ErrDSN = errors.New("smtp: invalid DSN parameter")

// Check reports the first parameter that cannot be sent, as an error wrapping ErrDSN, so that a
// front end refuses the job before anything is sent. smtputf8 says whether non-ASCII ORCPT
// addresses will travel in SMTPUTF8 sessions (the longer 7-bit form is what is measured
// otherwise).
func (d DSN) Check() error {
	switch strings.ToUpper(d.Ret) {
	case "", "FULL", "HDRS":
	default:
		return fmt.Errorf("%w: RET must be FULL or HDRS, not %q", ErrDSN, d.Ret)
	}
	if _, err := notifyValue(d.Notify); err != nil {
		return err
	}
	for i := 0; i < len(d.EnvID); i++ {
		if c := d.EnvID[i]; c < ' ' || c > '~' {
			return fmt.Errorf("%w: ENVID must be printable ASCII", ErrDSN)
		}
	}
	if len(XText(d.EnvID)) > maxEnvID {
		return fmt.Errorf("%w: ENVID longer than %d characters once encoded", ErrDSN, maxEnvID)
	}
	for _, o := range d.ORcpt {
		if o == "" {
			continue
		}
		if _, err := ORcptParam(o, false); err != nil {
			return err
		}
	}
	return nil
}

// notifyValue normalises NOTIFY: NEVER alone, or SUCCESS, FAILURE and DELAY, each at most once,
// in upper case and without blanks (RFC 3461 §4.1).
func notifyValue(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if strings.EqualFold(strings.TrimSpace(s), "NEVER") {
		return "NEVER", nil
	}
	var out []string
	seen := map[string]bool{}
	for _, v := range strings.Split(s, ",") {
		v = strings.ToUpper(strings.TrimSpace(v))
		switch v {
		case "SUCCESS", "FAILURE", "DELAY":
		default:
			return "", fmt.Errorf("%w: NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY, not %q", ErrDSN, s)
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return strings.Join(out, ","), nil
}

// XText encodes s as RFC 3461 §4 xtext: the bytes from '!' to '~' stand for themselves, except
// '+' and '='; every other byte is "+" and two upper-case hex digits.
func XText(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '!' && c <= '~' && c != '+' && c != '=' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('+')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// UTF8AddrXText encodes an address for the "utf-8" address type of RFC 6533 §3. The ASCII
// bytes from '!' to '~' stand for themselves except '+', '=' and '\'; those, blanks, controls
// and (unless unitext is set) every non-ASCII character are written "\x{HEX}", the character's
// code point in upper-case hex. With unitext (utf-8-addr-unitext, for a transaction that
// declared SMTPUTF8) non-ASCII characters stand for themselves. s must be valid UTF-8.
func UTF8AddrXText(s string, unitext bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= '!' && r <= '~' && r != '+' && r != '=' && r != '\\':
			b.WriteRune(r)
		case r >= 0x80 && unitext:
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, `\x{%X}`, r)
		}
	}
	return b.String()
}

// ORcptParam is the ORCPT esmtp-value for orcpt, "addr-type;address" with the address as it is
// (a bare address means "rfc822;address"). An ASCII address keeps its type and is xtext-encoded
// (RFC 3461 §4.2). A non-ASCII address is sent as type "utf-8" (RFC 6533 §3): in the unitext
// form when the transaction declared SMTPUTF8 (smtputf8), else in the 7-bit utf-8-addr-xtext
// form; an address type other than rfc822 or utf-8 cannot carry it and is refused. The result
// is refused (ErrDSN) when it would exceed 500 characters, when the type is not an atom, or when
// the address is empty, not UTF-8, or holds CR, LF or NUL.
func ORcptParam(orcpt string, smtputf8 bool) (string, error) {
	typ, addr, ok := strings.Cut(orcpt, ";")
	if !ok {
		typ, addr = "rfc822", orcpt
	}
	typ = strings.TrimSpace(typ)
	if typ == "" || !isAtom(typ) {
		return "", fmt.Errorf("%w: ORCPT address type %q is not an atom", ErrDSN, typ)
	}
	if addr == "" || !utf8.ValidString(addr) || strings.ContainsAny(addr, "\r\n\x00") {
		return "", fmt.Errorf("%w: ORCPT address %q cannot be sent", ErrDSN, addr)
	}
	var v string
	switch {
	case ASCII(addr) && !strings.EqualFold(typ, "utf-8"):
		v = typ + ";" + XText(addr)
	case strings.EqualFold(typ, "rfc822") || strings.EqualFold(typ, "utf-8"):
		v = "utf-8;" + UTF8AddrXText(addr, smtputf8)
	default:
		return "", fmt.Errorf("%w: ORCPT address type %q cannot carry a non-ASCII address", ErrDSN, typ)
	}
	if len(v) > maxORcpt {
		return "", fmt.Errorf("%w: ORCPT longer than %d characters once encoded", ErrDSN, maxORcpt)
	}
	return v, nil
}

// isAtom: one or more atext characters (RFC 5322 §3.2.3), what an addr-type is (RFC 3461 §4.2).
func isAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) {
			return false
		}
	}
	return s != ""
}

// mailDSN is the DSN part of MAIL FROM's parameters: RET and ENVID when the server offers DSN.
func (c *Client) mailDSN(d DSN) string {
	if !c.ext.Has("DSN") {
		return ""
	}
	var s string
	if d.Ret != "" {
		s += " RET=" + strings.ToUpper(d.Ret)
	}
	if d.EnvID != "" {
		s += " ENVID=" + XText(d.EnvID)
	}
	return s
}

// rcptCommand builds the RCPT TO line of the i-th forward path: NOTIFY and ORCPT when the server
// offers DSN. The parameters were checked by mailCommand, so encoding cannot fail here.
func (c *Client) rcptCommand(env *Envelope, i int) string {
	line := "RCPT TO:<" + Path(env.To[i], c.utf8) + ">"
	if !c.ext.Has("DSN") {
		return line
	}
	if n, _ := notifyValue(env.DSN.Notify); n != "" {
		line += " NOTIFY=" + n
	}
	if i < len(env.DSN.ORcpt) && env.DSN.ORcpt[i] != "" {
		if v, err := ORcptParam(env.DSN.ORcpt[i], c.utf8); err == nil {
			line += " ORCPT=" + v
		}
	}
	return line
}
